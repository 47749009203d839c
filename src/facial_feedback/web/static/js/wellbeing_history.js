/* Wellbeing history: the day (15-minute bins) and the week (per day), export, delete. */
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };
  const tz = -new Date().getTimezoneOffset();   // minutes east of UTC
  const charts = {};
  const dayInput = $("day");
  const today = new Date();
  dayInput.value = today.getFullYear() + "-" + String(today.getMonth() + 1).padStart(2, "0") + "-" +
    String(today.getDate()).padStart(2, "0");

  // minutes as a person reads them: "40 s", "12 min", "2.5 h"
  function fmtMin(m) {
    if (m < 1) return Math.round(m * 60) + " s";
    return m < 90 ? Math.round(m) + " min" : (m / 60).toFixed(1) + " h";
  }

  function endOf(dateStr) {
    const d = new Date(dateStr + "T12:00:00");
    return Math.floor(d.getTime() / 1000);
  }

  function draw(id, bins, opts) {
    if (!window.Chart) { $(id).replaceWith(Object.assign(document.createElement("p"),
      { className: "error", textContent: "The chart library is missing: run scripts/setup_web.sh once." })); return; }
    if (charts[id]) charts[id].destroy();
    const labels = bins.map(function (b) { return opts.label(new Date(b.start * 1000)); });
    charts[id] = new Chart($(id), {
      data: { labels: labels, datasets: [
        { type: "bar", label: opts.screenLabel, yAxisID: "t", data: bins.map(opts.screen), backgroundColor: "#3b82f680" },
        { type: "bar", label: "breaks taken (count)", yAxisID: "n", data: bins.map(function (b) { return b.breaks; }), backgroundColor: "#4cc38a" },
        { type: "line", label: "fatigue", yAxisID: "v", data: bins.map(function (b) { return b.fatigue; }),
          borderColor: "#9b8cff", backgroundColor: "#9b8cff", spanGaps: true, pointRadius: 2 },
        { type: "line", label: "tension", yAxisID: "v", data: bins.map(function (b) { return b.tension; }),
          borderColor: "#e76f51", backgroundColor: "#e76f51", spanGaps: true, pointRadius: 2 },
      ] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: {
          // the screen-time axis has a fixed scale (a 15-minute bin holds at most 15 minutes; a day
          // at least an hour): a few minutes show as a low bar, not a full-height one
          t: { position: "left", beginAtZero: true, suggestedMax: opts.screenMax, max: opts.screenFixed ? opts.screenMax : undefined,
               ticks: { stepSize: opts.screenFixed ? 5 : undefined },
               title: { display: true, text: opts.screenLabel } },
          v: { position: "right", min: 0, max: 1, title: { display: true, text: "level 0-1" }, grid: { drawOnChartArea: false } },
          // breaks (a count) on their own hidden axis: bars at most half the height
          n: { display: false, beginAtZero: true,
               max: Math.max(4, 2 * Math.max.apply(null, bins.map(function (b) { return b.breaks; }).concat([0]))) },
        },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 10 } } },
      },
    });
    $(id).dataset.bins = String(bins.length);
    $(id).dataset.screen = String(bins.reduce(function (a, b) { return a + b.screen_min; }, 0).toFixed(2));
  }

  function load() {
    const end = endOf(dayInput.value);
    return Promise.all(["day", "week"].map(function (range) {
      return fetch("/api/v1/wellbeing/history?range=" + range + "&end=" + end + "&tz=" + tz).then(function (r) { return r.json(); });
    })).then(function (res) {
      const day = res[0].bins, week = res[1].bins;
      // the day: the hours with data, one before and after (at least 3 hours; 8 a.m. to 6 p.m.
      // on an empty day), so a short session's bars are not slivers among 40 empty bins
      let lo = 96, hi = 0;
      day.forEach(function (b, i) { if (b.monitored_min > 0 || b.breaks > 0) { lo = Math.min(lo, i - i % 4); hi = Math.max(hi, i + 1); } });
      if (hi === 0) { lo = 32; hi = 72; } else {
        lo = Math.max(0, lo - 4); hi = Math.min(96, hi + (4 - hi % 4) % 4 + 4);
        while (hi - lo < 12) { if (lo > 0) lo -= 4; if (hi - lo < 12 && hi < 96) hi += 4; }
      }
      draw("day-chart", day.slice(lo, hi), {
        screenLabel: "screen minutes (of 15)", screenMax: 15, screenFixed: true, screen: function (b) { return b.screen_min; },
        label: function (d) { return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); } });
      // the week in hours, or in minutes while no day reaches an hour (0.03 h reads as "0.0 h")
      const hours = week.some(function (b) { return b.screen_min >= 60; });
      draw("week-chart", week, hours ? {
        screenLabel: "screen hours", screenMax: 1, screen: function (b) { return +(b.screen_min / 60).toFixed(2); },
        label: function (d) { return d.toLocaleDateString([], { weekday: "short", day: "numeric" }); } } : {
        screenLabel: "screen minutes", screenMax: 60, screen: function (b) { return b.screen_min; },
        label: function (d) { return d.toLocaleDateString([], { weekday: "short", day: "numeric" }); } });
      const sum = function (bins, k) { return bins.reduce(function (a, b) { return a + b[k]; }, 0); };
      $("day-sum").textContent = fmtMin(sum(day, "screen_min")) + " at the screen, " + sum(day, "breaks") +
        " breaks, " + sum(day, "suggestions") + " suggestions";
      $("week-sum").textContent = fmtMin(sum(week, "screen_min")) + " at the screen, " + sum(week, "breaks") + " breaks";
      $("day-chart").dataset.range = lo + "-" + hi;
      $("week-chart").dataset.unit = hours ? "h" : "min";
      document.body.dataset.loaded = "1";
    }).catch(function (e) { $("hist-status").textContent = "Could not load the history: " + e; });
  }

  dayInput.addEventListener("change", load);
  $("delete-all").addEventListener("click", function () {
    if (!confirm("Delete the whole wellbeing history and your rules from this computer? This cannot be undone.")) return;
    fetch("/api/v1/wellbeing/history", { method: "DELETE" }).then(function (r) {
      $("hist-status").textContent = r.ok ? "Everything deleted." : "Not deleted (" + r.status + ").";
      return load();
    });
  });
  load();
})();
