/*
 * The metrics page's charts, drawn by the vendored Chart.js from the JSON the
 * page carries (#import-metrics-data: imports.dashboard.daily_runs plus a
 * summary per importer and the alert thresholds).
 */
(function () {
  "use strict";

  var COLORS = { upsert: "#1a73e8", legacy: "#e37400" };

  function css(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function draw() {
    var source = document.getElementById("import-metrics-data");
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    Chart.defaults.color = css("--body-quiet-color", "#666");
    Chart.defaults.borderColor = css("--hairline-color", "#e8e8e8");
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.maintainAspectRatio = false;
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      Chart.defaults.animation = false; // the user asked for no motion: draw the final chart at once
    }
    var systems = Object.keys(data.systems);
    var days = data.days.map(function (day) { return day.slice(5); }); // MM-DD

    new Chart(document.getElementById("chart-imports-per-day"), {
      type: "bar",
      data: {
        labels: days,
        datasets: systems.map(function (system) {
          return { label: data.systems[system].label, data: data.systems[system].runs, backgroundColor: COLORS[system] };
        })
      },
      options: {
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } }
      }
    });

    new Chart(document.getElementById("chart-duration-per-day"), {
      type: "line",
      data: {
        labels: days,
        datasets: systems.map(function (system) {
          return {
            label: data.systems[system].label,
            data: data.systems[system].avg_duration,
            borderColor: COLORS[system],
            backgroundColor: COLORS[system],
            spanGaps: true,
            tension: 0.2,
            // A day with imports between days without is a lone point: big enough to see, never clipped.
            pointRadius: 5,
            pointHoverRadius: 7,
            clip: false
          };
        })
      },
      options: {
        layout: { padding: { top: 8, right: 8 } },
        scales: { y: { beginAtZero: true, grace: "10%" } },
        plugins: { legend: { position: "bottom" } }
      }
    });

    var summary = systems.map(function (system) { return data.summary[system]; });
    new Chart(document.getElementById("chart-systems"), {
      type: "bar",
      data: {
        labels: summary.map(function (row) { return row.label; }),
        datasets: [
          {
            label: "Average time (s)",
            data: summary.map(function (row) { return row.avg_duration; }),
            backgroundColor: systems.map(function (system) { return COLORS[system]; }),
            yAxisID: "y",
            order: 3
          },
          {
            type: "line",
            label: "Success rate (%)",
            data: summary.map(function (row) { return row.success_rate; }),
            borderColor: "#1e8e3e",
            backgroundColor: "#1e8e3e",
            pointRadius: 6,
            showLine: false,
            yAxisID: "y1",
            order: 1
          },
          {
            type: "line",
            label: "Alert below (%)",
            data: summary.map(function () { return data.thresholds.min_success_rate; }),
            borderColor: "#d93025",
            borderDash: [6, 4],
            pointRadius: 0,
            yAxisID: "y1",
            order: 2
          }
        ]
      },
      options: {
        scales: {
          y: { beginAtZero: true, title: { display: true, text: "seconds" } },
          y1: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "%" } }
        },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
