// Draws the charts of a page from <script type="application/json" id="chart-data"> into [data-chart] boxes
// with Apache ECharts (vendored). No inline script: the page's CSP allows only files from this site.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (box) {
      var spec = data[box.getAttribute("data-chart")];
      if (!spec) { return; }
      var chart = window.echarts.init(box, null, { renderer: "canvas", locale: "ZH" });
      var name = box.getAttribute("data-chart");
      var kind = name === "trend" || name === "in_time" ? "line" : "bar";
      chart.setOption({
        animation: false,
        color: ["#0b57d0", "#b3261e", "#1e7d32", "#a15c00"],
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 32, bottom: 56 },
        xAxis: { type: "category", data: spec.categories, axisLabel: { rotate: spec.categories.length > 6 ? 30 : 0 } },
        yAxis: { type: "value", minInterval: 1 },
        series: spec.series.map(function (s) {
          return { name: s.name, type: kind, data: s.data, smooth: false };
        })
      });
      var points = spec.series.reduce(function (n, s) { return n + s.data.length; }, 0);
      box.setAttribute("data-points", String(points));
      box.setAttribute("data-rendered", "true");
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
