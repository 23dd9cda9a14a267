// The campaign pool picker: double-clicking a pool moves it to the other list (the same
// request as selecting it and pressing the arrow). Delegated, so it survives htmx swaps.
(function () {
  "use strict";
  document.addEventListener("dblclick", function (evt) {
    var option = evt.target.closest && evt.target.closest("select[data-picker-arrow] option");
    if (!option) return;
    var select = option.parentElement;
    var form = select.form;
    var arrow = form && form.querySelector('[data-picker-move="' + select.dataset.pickerArrow + '"]');
    if (!arrow) return;
    Array.prototype.forEach.call(select.options, function (o) { o.selected = o === option; });
    arrow.click();
  });
})();
