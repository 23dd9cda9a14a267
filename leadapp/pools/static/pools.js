// The pool grid: "check all" and the count of checked pools in the bulk bar.
(function () {
  "use strict";
  function checkAll(form, checked) {
    form.querySelectorAll("input[name=pool_ids]").forEach(function (box) {
      box.checked = checked;
    });
  }
  function refresh(form) {
    var boxes = form.querySelectorAll("input[name=pool_ids]");
    var checked = form.querySelectorAll("input[name=pool_ids]:checked").length;
    var counter = form.querySelector("[data-bulk-count]");
    if (counter) counter.textContent = String(checked);
    var all = form.querySelector("[data-check-all]");
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
  }
  document.addEventListener("change", function (evt) {
    var form = evt.target.closest && evt.target.closest("#bulk-form");
    if (!form) return;
    if (evt.target.matches("[data-check-all]")) checkAll(form, evt.target.checked);
    refresh(form);
  });
  document.addEventListener("htmx:afterSwap", function () {
    var form = document.getElementById("bulk-form");
    if (form) refresh(form);
  });
  // A quick supervisor can tick "check all" before this deferred script runs;
  // that change event is gone, so honour the box's state now.
  var form = document.getElementById("bulk-form");
  if (form) {
    var all = form.querySelector("[data-check-all]");
    if (all && all.checked && !form.querySelector("input[name=pool_ids]:checked")) {
      checkAll(form, true);
    }
    refresh(form);
  }
})();
