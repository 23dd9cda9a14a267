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

  // Keys that act (no inline handlers, no htmx event filters: the CSP allows no eval).
  // <input data-enter-triggers="save">: Enter sends the htmx event "save" instead of
  // submitting; <td data-f2-triggers="edit">: F2 sends "edit" (like a spreadsheet).
  document.addEventListener("keydown", function (evt) {
    var el = evt.target;
    if (evt.key === "Enter" && el.dataset && el.dataset.enterTriggers) {
      evt.preventDefault();
      htmx.process(el); // a key can come before htmx has wired a just-swapped element
      htmx.trigger(el, el.dataset.enterTriggers);
    }
  });
  document.addEventListener("keyup", function (evt) {
    var el = evt.target;
    if (evt.key === "F2" && el.dataset && el.dataset.f2Triggers) {
      htmx.process(el);
      htmx.trigger(el, el.dataset.f2Triggers);
    }
  });

  // Check data: a saved cell's answer updates the rows whose status it changed, but never
  // a row whose cell is open in an editor (its own save brings that row up to date).
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var el = evt.target;
    if (el.classList && el.classList.contains("cell-editor")) el.dataset.saving = "1";
  });
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target;
    if (target && target.querySelector && target.querySelector(".cell-editor:not([data-saving])")) {
      evt.detail.shouldSwap = false;
    }
  });

  // <button data-copy-from="ID"> copies the value of the element with that id.
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-copy-from]");
    if (!button) return;
    var input = document.getElementById(button.dataset.copyFrom);
    input.select();
    var done = function () { button.textContent = "Copied"; };
    (navigator.clipboard ? navigator.clipboard.writeText(input.value) : Promise.reject())
      .then(done, function () { document.execCommand("copy"); done(); });
  });

  // <form data-confirm="..."> asks first, also for a form confirm-guard.js held while
  // this script was loading.
  function askFirst(form) {
    showModal("Please confirm", form.dataset.confirm, function () {
      form.dataset.confirmed = "1";
      form.requestSubmit();
    });
  }
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.dataset || !form.dataset.confirm || form.dataset.confirmed) return;
    evt.preventDefault();
    askFirst(form);
  });
  if (window.leadappHeldSubmit) askFirst(window.leadappHeldSubmit);
  window.leadappHeldSubmit = null;
})();

// Import mapping: a column changes its look as soon as it is mapped; the phone warning
// stays until some column is mapped to a phone field.
(function () {
  "use strict";
  function refreshMapping(form) {
    var anyPhone = false;
    form.querySelectorAll("[data-mapping-col]").forEach(function (col) {
      var value = col.querySelector("select").value;
      col.classList.toggle("mapped", !!value);
      col.classList.toggle("unmapped", !value);
      if (value === "phone1") anyPhone = true;
    });
    var warning = form.querySelector("[data-phone-warning]");
    if (warning) warning.classList.toggle("d-none", anyPhone);
  }
  document.addEventListener("change", function (evt) {
    var form = evt.target.closest && evt.target.closest("[data-mapping-form]");
    if (form) refreshMapping(form);
  });
  // A column changed before this script ran (it is deferred) shows as it is now.
  document.querySelectorAll("[data-mapping-form]").forEach(refreshMapping);
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-remove-closest]");
    if (button) {
      var target = button.closest(button.dataset.removeClosest);
      if (target) target.remove();
    }
  });
})();

// Drag and drop onto the upload area fills its file input.
(function () {
  "use strict";
  document.addEventListener("dragover", function (evt) {
    var zone = evt.target.closest && evt.target.closest(".dropzone");
    if (zone) { evt.preventDefault(); zone.classList.add("dragover"); }
  });
  document.addEventListener("dragleave", function (evt) {
    var zone = evt.target.closest && evt.target.closest(".dropzone");
    if (zone) zone.classList.remove("dragover");
  });
  document.addEventListener("drop", function (evt) {
    var zone = evt.target.closest && evt.target.closest(".dropzone");
    if (!zone) return;
    evt.preventDefault();
    zone.classList.remove("dragover");
    var input = zone.querySelector("input[type=file]");
    if (input && evt.dataTransfer.files.length) input.files = evt.dataTransfer.files;
  });
})();
