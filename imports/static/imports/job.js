/*
 * Live progress of an import, without reloading the page.
 *
 * Each [data-import-progress] section names the imports API URL of its job
 * (GET /api/imports/<id>/, read with the admin's session). While the job
 * runs, this polls it every second and updates the bar (percent, rows,
 * rate, ETA, stage), the figures ([data-count]) and the status badge
 * ([data-job-status]), in the words the page was rendered with. Once
 * the job has finished it reloads the page, which then shows the summary and
 * the rows with problems; a page rendered for a finished job never polls.
 */
(function () {
  "use strict";

  var POLL_MS = 1000;
  var FINISHED = ["completed", "completed_with_errors", "failed", "cancelled"];

  function thousands(value) {
    return Number(value || 0).toLocaleString("en-US");
  }

  function secondsInWords(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 0.1) return "under 0.1 s";
    if (seconds < 10) return seconds.toFixed(1) + " s";
    var whole = Math.round(seconds);
    if (whole < 60) return whole + " s";
    var minutes = Math.floor(whole / 60);
    var secs = whole % 60;
    if (minutes < 60) return minutes + " min " + String(secs).padStart(2, "0") + " s";
    return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
  }

  function labels() {
    var node = document.getElementById("import-progress-labels");
    return node ? JSON.parse(node.textContent) : { stages: {}, statuses: {} };
  }

  function render(section, job, words) {
    var stages = words.stages;
    var progress = job.progress || {};
    var percent = progress.percent;
    var field = function (name) { return section.querySelector('[data-progress="' + name + '"]'); };
    var bar = section.querySelector('[role="progressbar"]');
    var fill = section.querySelector(".import-progress__fill");
    var shown = percent === null || percent === undefined ? 0 : percent;
    bar.setAttribute("aria-valuenow", String(Math.round(shown)));
    fill.style.width = shown + "%";
    field("percent").textContent = percent === null || percent === undefined ? "–" : Math.round(percent) + " %";
    field("rows").textContent = thousands(progress.rows_done) +
      (progress.rows_total ? " of " + thousands(progress.rows_total) : "") + " rows";
    field("rate").textContent = progress.rows_per_second ? thousands(Math.round(progress.rows_per_second)) + " rows a second" : "";
    field("eta").textContent = progress.eta_seconds !== null && progress.eta_seconds !== undefined &&
      FINISHED.indexOf(job.status) < 0 ? "about " + secondsInWords(progress.eta_seconds) + " left" : "";
    field("stage").textContent = stages[progress.stage] !== undefined ? stages[progress.stage] : (progress.stage || "");
    section.setAttribute("data-status", job.status);
    document.querySelectorAll("[data-job-status]").forEach(function (badge) {
      badge.textContent = words.statuses[job.status] || job.status;
      badge.className = "import-status import-status--" + job.status;
    });
    document.querySelectorAll("[data-count]").forEach(function (node) {
      var name = node.getAttribute("data-count");
      if (progress[name] !== undefined) node.textContent = thousands(progress[name]);
    });
  }

  function follow(section) {
    if (section.getAttribute("data-finished") === "true") return;
    var words = labels();
    var poll = function () {
      fetch(section.getAttribute("data-url"), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store"
      })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (job) {
          render(section, job, words);
          if (FINISHED.indexOf(job.status) >= 0) {
            window.location.reload();
          } else {
            window.setTimeout(poll, POLL_MS);
          }
        })
        .catch(function () {
          window.setTimeout(poll, POLL_MS * 3); // a network hiccup must not freeze the bar
        });
    };
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-import-progress]").forEach(follow);
  });
})();
