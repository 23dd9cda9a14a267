// Lead page: the callback date/time is asked for only when the wrap code is a callback.
(function () {
  "use strict";
  function refresh(form) {
    var input = form.querySelector("[data-wrap-code]");
    var box = form.querySelector("[data-callback-field]");
    if (!input || !box) return;
    var codes = (form.dataset.callbackCodes || "").split(",");
    var isCallback = codes.indexOf(input.value.trim().toLowerCase()) !== -1;
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
