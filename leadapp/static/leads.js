// Lead page: the callback date/time is asked for only when the wrap code is a callback.
(function () {
  "use strict";
  function refresh(form) {
    var input = form.querySelector("[data-wrap-code]");
    var box = form.querySelector("[data-callback-field]");
    if (!input || !box) return;
    var codes = (form.dataset.callbackCodes || "").split(",");
    // Codes are compared as the server stores them: upper case, spaces and dashes as "_".
    var code = input.value.trim().replace(/[\s-]+/g, "_").toUpperCase();
    var isCallback = codes.indexOf(code) !== -1;
    var hasValue = !!box.querySelector("input").value || box.querySelector(".is-invalid");
    box.classList.toggle("d-none", !isCallback && !hasValue);
  }
  document.addEventListener("input", function (evt) {
    var form = evt.target.closest && evt.target.closest("[data-wrap-form]");
    if (form) refresh(form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-wrap-form]").forEach(refresh);
  });
})();
