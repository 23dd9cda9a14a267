// LeadApp's own behaviour: errors on htmx requests and confirmations go to one modal.
(function () {
  "use strict";

  function showModal(title, text, onConfirm) {
    var el = document.getElementById("app-modal");
    document.getElementById("app-modal-title").textContent = title;
    document.getElementById("app-modal-body").textContent = text; // text, never HTML
    var confirmBtn = document.getElementById("app-modal-confirm");
    confirmBtn.classList.toggle("d-none", !onConfirm);
    confirmBtn.onclick = function () {
      bootstrap.Modal.getOrCreateInstance(el).hide();
      if (onConfirm) onConfirm();
    };
    bootstrap.Modal.getOrCreateInstance(el).show();
  }
  window.leadapp = { showModal: showModal };

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var text = (xhr.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0
      ? xhr.responseText
      : "The server answered with an error (" + xhr.status + "). Reload the page and try again.";
    showModal("That did not work", text);
  });
  document.addEventListener("htmx:sendError", function () {
    showModal("No connection", "The server could not be reached. Check your connection and try again.");
  });

  // <form data-confirm="..."> asks first.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.dataset || !form.dataset.confirm || form.dataset.confirmed) return;
    evt.preventDefault();
    showModal("Please confirm", form.dataset.confirm, function () {
      form.dataset.confirmed = "1";
      form.requestSubmit();
    });
  });
})();
