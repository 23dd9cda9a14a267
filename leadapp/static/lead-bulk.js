// Leads page: "check every lead of this page" and the count of checked leads. Delegated
// from the document, so it keeps working after htmx swaps the table.
(function () {
  "use strict";
  function refresh(table) {
    var boxes = table.querySelectorAll("[data-lead-check]");
    var checked = table.querySelectorAll("[data-lead-check]:checked").length;
    var all = table.querySelector("[data-lead-check-all]");
    if (all) all.checked = boxes.length > 0 && checked === boxes.length;
    var shown = table.querySelector("[data-lead-checked]");
    if (shown) shown.textContent = String(checked);
  }
  document.addEventListener("change", function (evt) {
    var table = evt.target.closest && evt.target.closest("#lead-table");
    if (!table) return;
    if (evt.target.matches("[data-lead-check-all]")) {
      table.querySelectorAll("[data-lead-check]").forEach(function (box) {
        box.checked = evt.target.checked;
      });
    }
    refresh(table);
  });
})();
