// The upload wizard's own behaviour (app.js holds what every page shares).
(function () {
  "use strict";

  // Settings: <select data-pools-of="campaign"> offers only the pools whose
  // data-campaigns names the chosen campaign (a pool feeding none fits any); a chosen
  // pool of another campaign is unchosen.
  function offerPools(select) {
    var campaign = document.getElementById(select.dataset.poolsOf);
    if (!campaign) return;
    var any = false;
    Array.prototype.forEach.call(select.options, function (option) {
      if (option.dataset.campaigns === undefined) return; // "— choose a pool —"
      var ids = option.dataset.campaigns.split(" ").filter(Boolean);
      var fits = ids.length === 0 || ids.indexOf(campaign.value) >= 0;
      option.hidden = !fits;
      option.disabled = !fits;
      if (!fits && option.selected) select.value = "0";
      if (fits) any = true;
    });
    var note = select.parentNode.querySelector("[data-testid=no-pools-of-campaign]");
    if (note) note.classList.toggle("d-none", any);
  }
  function offerAll() {
    document.querySelectorAll("select[data-pools-of]").forEach(offerPools);
  }
  document.addEventListener("change", function (evt) {
    if (evt.target.id && document.querySelector('select[data-pools-of="' + evt.target.id + '"]')) {
      offerAll();
    }
  });
  offerAll();
})();

// Duplicates: <div data-shown-for="action action..."> is shown only while the action
// select (#action) holds one of those actions.
(function () {
  "use strict";
  function follow() {
    var action = document.getElementById("action");
    if (!action) return;
    document.querySelectorAll("[data-shown-for]").forEach(function (el) {
      el.classList.toggle("d-none", el.dataset.shownFor.split(" ").indexOf(action.value) < 0);
    });
  }
  document.addEventListener("change", function (evt) {
    if (evt.target.id === "action") follow();
  });
  follow();
})();
