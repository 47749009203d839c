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
          t: { position: "left", beginAtZero: true, title: { display: true, text: opts.screenLabel } },
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
      // the day: from the first to the last hour with data (at least 8 a.m. to 6 p.m.)
      let lo = 32, hi = 72;
      day.forEach(function (b, i) { if (b.monitored_min > 0) { lo = Math.min(lo, i - i % 4); hi = Math.max(hi, i + 1); } });
      draw("day-chart", day.slice(lo, hi), {
        screenLabel: "screen minutes", screen: function (b) { return b.screen_min; },
        label: function (d) { return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); } });
      draw("week-chart", week, {
        screenLabel: "screen hours", screen: function (b) { return +(b.screen_min / 60).toFixed(2); },
        label: function (d) { return d.toLocaleDateString([], { weekday: "short", day: "numeric" }); } });
      const sum = function (bins, k) { return bins.reduce(function (a, b) { return a + b[k]; }, 0); };
      $("day-sum").textContent = Math.round(sum(day, "screen_min")) + " min at the screen, " + sum(day, "breaks") +
        " breaks, " + sum(day, "suggestions") + " suggestions";
      $("week-sum").textContent = (sum(week, "screen_min") / 60).toFixed(1) + " h at the screen, " + sum(week, "breaks") + " breaks";
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
