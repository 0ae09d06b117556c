// Charts of the costs pages, drawn with the vendored Chart.js from the JSON the page embeds.
// Each chart has a table of the same numbers beside it, so the page works without JavaScript.
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  Chart.defaults.animation = false; // numbers, not motion: the chart is drawn once, final

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    // inside a sized .chart box, fill it; anywhere else keep Chart.js's aspect ratio (an
    // unsized responsive chart would grow forever)
    var sized = canvas.parentElement && canvas.parentElement.classList.contains("chart");
    config.options = Object.assign({ maintainAspectRatio: !sized }, config.options || {});
    new Chart(canvas, config);
  }

  function series(label, values, color, extra) {
    return Object.assign({ label: label, data: values, borderColor: color, backgroundColor: color }, extra || {});
  }

  var tenant = data("costs-tenant-data");
  if (tenant) {
    draw("chart-gpu-hours", {
      type: "line",
      data: {
        labels: tenant.labels,
        datasets: [
          series("Allocated GPU-hours", tenant.gpu_hours, "#3b6fb6"),
          series("Used GPU-hours", tenant.used_gpu_hours, "#5aa469"),
        ],
      },
    });
    draw("chart-utilization", {
      type: "line",
      data: { labels: tenant.labels, datasets: [series("Utilization %", tenant.utilization, "#c77c02")] },
      options: { scales: { y: { min: 0, max: 100 } } },
    });
    draw("chart-cost", {
      type: "bar",
      data: {
        labels: tenant.labels,
        datasets: [series("Cost", tenant.cost, "#3b6fb6"), series("Idle cost", tenant.idle_cost, "#d1495b")],
      },
    });
    draw("chart-environments", {
      type: "bar",
      data: { labels: tenant.environments.labels, datasets: [series("Cost", tenant.environments.cost, "#3b6fb6")] },
    });
    draw("chart-workloads", {
      type: "bar",
      data: { labels: tenant.workloads.labels, datasets: [series("Cost", tenant.workloads.cost, "#5aa469")] },
      options: { indexAxis: "y" },
    });
  }

  var platform = data("costs-platform-data");
  if (platform) {
    draw("chart-platform", {
      type: "bar",
      data: {
        labels: platform.labels,
        datasets: [series("Used GPU-hours", platform.used, "#5aa469"), series("Idle GPU-hours", platform.idle, "#d1495b")],
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true } } },
    });
  }
})();
