/* The reading report and the readers' comparison: heat map by metric, the session timeline. */
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };
  const HUE = { attention_drop: 200, confusion: 18, skim: 280, interest: 45, time: 160 };

  function value(p, metric) {
    if (metric === "time") return p.pace == null ? null : Math.min(1, p.pace / 3);
    return p[metric];
  }

  function pickers(apply) {
    const box = $("metric-pick");
    if (!box) return;
    box.addEventListener("click", function (e) {
      const b = e.target.closest("button[data-metric]");
      if (!b) return;
      box.querySelectorAll("button").forEach(function (x) { x.classList.toggle("on", x === b); });
      apply(b.dataset.metric);
    });
    apply("confusion");
  }

  // the heat map's legend: what the colour means under this metric, and its scale
  const help = $("metric-help") ? JSON.parse($("metric-help").textContent) : {};
  function legend(metric) {
    const bar = $("legend-bar"), text = $("legend-text");
    if (!bar || !text) return;
    bar.style.background = "linear-gradient(to right, " + FF.heat(0, HUE[metric]) + ", " + FF.heat(0.5, HUE[metric]) +
      ", " + FF.heat(1, HUE[metric]) + ")";
    text.textContent = help[metric] || "";
    if ($("legend-lo")) { $("legend-lo").textContent = metric === "time" ? "0×" : "0%"; }
    if ($("legend-hi")) { $("legend-hi").textContent = metric === "time" ? "3×" : "100%"; }
  }

  // ---- one report ------------------------------------------------------------------------
  const data = $("report-data");
  if (data) {
    const report = JSON.parse(data.textContent);
    const nodes = document.querySelectorAll("#heat .hpara");
    pickers(function (metric) {
      nodes.forEach(function (n) {
        const p = report.paragraphs[+n.dataset.i];
        const v = n.classList.contains("heading") ? null : value(p, metric);
        n.style.background = FF.heat(v, HUE[metric]);
        n.dataset.value = v == null ? "" : v.toFixed(3);
      });
      $("heat").dataset.metric = metric;
      legend(metric);
    });
    document.querySelectorAll("[data-goto]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        const el = document.querySelector('#heat .hpara[data-i="' + a.dataset.goto + '"]');
        if (el) { el.scrollIntoView({ behavior: "smooth", block: "center" }); el.classList.add("flash");
                  setTimeout(function () { el.classList.remove("flash"); }, 1500); }
      });
    });
    const canvas = $("timeline");
    if (window.Chart && canvas) {
      const tl = report.timeline;
      const n = report.paragraphs.length;
      const series = function (k) { return tl.map(function (b) { return { x: b.t, y: b[k] }; }); };
      new Chart(canvas, {
        type: "line",
        data: { datasets: [
          { label: "paragraph", yAxisID: "p", stepped: true, borderColor: "#e6e8ee", borderWidth: 2, pointRadius: 0,
            data: tl.map(function (b) { return { x: b.t, y: b.paragraph == null ? null : b.paragraph + 1 }; }) },
          { label: "attention", yAxisID: "v", borderColor: "#2a9d8f", borderWidth: 1.5, pointRadius: 0, data: series("attention") },
          { label: "confusion cues", yAxisID: "v", borderColor: "#e76f51", borderWidth: 1.5, pointRadius: 0, data: series("confusion") },
          { label: "interest cues", yAxisID: "v", borderColor: "#e9c46a", borderWidth: 1.5, pointRadius: 0, data: series("interest") },
          { label: "fatigue", yAxisID: "v", borderColor: "#9b8cff", borderWidth: 1.5, pointRadius: 0, data: series("fatigue") },
        ] },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
          scales: {
            x: { type: "linear", title: { display: true, text: "seconds" } },
            p: { position: "left", reverse: true, min: 1, max: Math.max(1, n), ticks: { stepSize: 1 },
                 title: { display: true, text: "paragraph" } },
            v: { position: "right", min: 0, max: 1, grid: { drawOnChartArea: false } },
          },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 10 } } },
        },
      });
      canvas.dataset.points = String(tl.length);
    }
  }

  // ---- several readers side by side ----------------------------------------------------------
  const many = $("reports-data");
  if (many) {
    const reports = JSON.parse(many.textContent);
    const cells = document.querySelectorAll("#cmp td.cell");
    pickers(function (metric) {
      cells.forEach(function (c) {
        const p = (reports[+c.dataset.r].paragraphs || [])[+c.dataset.i];
        const v = p ? value(p, metric) : null;
        c.style.background = FF.heat(v, HUE[metric]);
        c.textContent = metric === "time" ? (p ? p.time_s.toFixed(1) + " s" : "–") : FF.pct(v);
        c.title = p ? (p.time_s.toFixed(1) + " s, re-reads " + p.rereads + ", look-aways " + p.look_aways +
                       ", confidence " + FF.pct(p.confidence)) : "";
      });
    });
  }
})();
