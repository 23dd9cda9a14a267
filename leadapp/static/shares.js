// Campaign page: each to-dial pool's share of the dialing follows its weight as it is
// typed — the server's rule (services/campaigns.shares): % of the weights of the to-dial
// pools that hold leads, one decimal, largest remainder so the shares add up to 100; an
// empty pool 0 %, a pool not to dial "—". Saving still stores and shows the server's.
(function () {
  "use strict";
  function format(units) {
    var text = (units / 10).toFixed(1);
    return (text.endsWith(".0") ? text.slice(0, -2) : text) + " %";
  }
  function refresh(form) {
    var rows = Array.prototype.slice.call(form.querySelectorAll("[data-share-row]"));
    var counted = [];
    rows.forEach(function (row) {
      var toDial = row.querySelector('input[type="checkbox"]');
      var weight = row.querySelector(".weight-input");
      var shown = row.querySelector("[data-share]");
      if (!toDial || !weight || !shown) return;
      if (!toDial.checked) {
        shown.textContent = "—";
        return;
      }
      if (row.hasAttribute("data-empty")) {
        shown.textContent = "0 %";
        return;
      }
      var value = parseInt(weight.value, 10);
      counted.push({ shown: shown, weight: isNaN(value) || value < 0 ? 0 : value });
    });
    var total = counted.reduce(function (sum, r) { return sum + r.weight; }, 0);
    if (total === 0) {
      counted.forEach(function (r) { r.shown.textContent = "0 %"; });
      return;
    }
    var left = 1000;
    counted.forEach(function (r, i) {
      var exact = (r.weight * 1000) / total;
      r.units = Math.floor(exact);
      r.rest = exact - r.units;
      r.index = i;
      left -= r.units;
    });
    counted
      .slice()
      .sort(function (a, b) { return b.rest - a.rest || a.index - b.index; })
      .slice(0, left)
      .forEach(function (r) { r.units += 1; });
    counted.forEach(function (r) { r.shown.textContent = format(r.units); });
  }
  function handle(evt) {
    var form = evt.target.closest && evt.target.closest("form[data-live-shares]");
    if (form) refresh(form);
  }
  document.addEventListener("input", handle);
  document.addEventListener("change", handle);
})();
