// Pool details charts. The figures come from <script type="application/json"
// id="pool-chart-data">; each <canvas data-chart="key" data-kind="bar|line|doughnut"> draws
// one of them with Chart.js (vendored; no inline script, so a strict CSP can come later).
(function () {
  "use strict";
  var PALETTE = ["#0d6efd", "#198754", "#ffc107", "#dc3545", "#6f42c1", "#20c997",
                 "#fd7e14", "#6c757d", "#0dcaf0", "#d63384", "#adb5bd", "#343a40", "#198754"];

  function draw() {
    var source = document.getElementById("pool-chart-data");
    if (!source || typeof window.Chart === "undefined") return;
    var data;
    try {
      data = JSON.parse(source.textContent);
    } catch (e) {
      return;
    }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var series = data[canvas.dataset.chart] || {};
      var labels = Object.keys(series);
      var values = labels.map(function (k) { return series[k]; });
      var kind = canvas.dataset.kind || "bar";
      var colours = kind === "doughnut" ? labels.map(function (_, i) { return PALETTE[i % PALETTE.length]; }) : PALETTE[0];
      canvas.chart = new window.Chart(canvas, {
        type: kind,
        data: {
          labels: labels,
          datasets: [{ label: "Count", data: values, backgroundColor: colours, borderColor: PALETTE[0], fill: false, tension: 0.2 }]
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: kind === "doughnut" } },
          scales: kind === "doughnut" ? {} : { y: { beginAtZero: true, ticks: { precision: 0 } } }
        }
      });
      canvas.dataset.drawn = String(labels.length);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
