// Lead Deduplicator schedule page: only the chosen scope's multi-select is shown, and a
// refusal rendered by the server opens the page's error modal.
(function () {
  "use strict";

  function showScopeTargets(form) {
    var checked = form.querySelector("[data-scope-radio]:checked");
    var scope = checked ? checked.value : "account";
    form.querySelectorAll("[data-scope-targets]").forEach(function (el) {
      el.classList.toggle("d-none", el.dataset.scopeTargets !== scope);
    });
  }

  document.addEventListener("change", function (evt) {
    if (evt.target.matches && evt.target.matches("[data-scope-radio]")) {
      showScopeTargets(evt.target.form);
    }
  });

  function init() {
    var form = document.getElementById("dedup-form");
    if (form) showScopeTargets(form);
    var error = document.querySelector("[data-dedup-error]");
    if (error && window.leadapp) {
      window.leadapp.showModal(error.dataset.title, error.textContent.trim());
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
