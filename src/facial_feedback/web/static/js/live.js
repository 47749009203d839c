/* The Live page: camera -> server -> overlay, stats, the 60 s timeline and the signals panel. */
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };
  const video = $("video"), overlay = $("overlay"), octx = overlay.getContext("2d");
  const stage = $("stage"), statusEl = $("status");
  const WINDOW_S = 60, BIN_MS = 250;
  let showMesh = false;
  let lastResult = null;

  // ---- the rolling timeline: one averaged point per 250 ms for the first face ----
  const bins = [];          // {t: ms (performance.now), n, sums: {emotion: sum}}
  let chart = null;
  if (window.Chart) {
    chart = new Chart($("timeline"), {
      type: "line",
      data: { datasets: FF.EMOTIONS.map(function (k) {
        return { label: k, data: [], borderColor: FF.COLORS[k], backgroundColor: FF.COLORS[k],
                 borderWidth: 1.5, pointRadius: 0, tension: 0.25 };
      }) },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
        scales: {
          x: { type: "linear", min: -WINDOW_S, max: 0, title: { display: true, text: "seconds" } },
          y: { min: 0, max: 1, title: { display: true, text: "probability" } },
        },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      },
    });
  } else {
    $("timeline").replaceWith(Object.assign(document.createElement("p"), {
      className: "error", textContent: "The chart library is missing: run scripts/setup_web.sh (npm) once." }));
  }

  function primaryFace(result) {
    const faces = result.faces || [];
    if (!faces.length) return null;
    return faces.reduce(function (a, b) {
      if (a.track_id != null && b.track_id != null) return a.track_id <= b.track_id ? a : b;
      return a.box[2] * a.box[3] >= b.box[2] * b.box[3] ? a : b;
    });
  }

  function addToTimeline(result, now) {
    const f = primaryFace(result);
    if (!f || !f.emotion) return;
    let bin = bins[bins.length - 1];
    if (!bin || now - bin.t >= BIN_MS) {
      bin = { t: now, n: 0, sums: {} };
      FF.EMOTIONS.forEach(function (k) { bin.sums[k] = 0; });
      bins.push(bin);
    }
    bin.n++;
    FF.EMOTIONS.forEach(function (k) { bin.sums[k] += f.emotion.scores[k] || 0; });
    while (bins.length && now - bins[0].t > WINDOW_S * 1000) bins.shift();
  }

  function renderTimeline() {
    const el = document.getElementById("timeline");
    if (el) el.dataset.points = String(bins.length);
    if (!chart) return;
    const now = performance.now();
    chart.data.datasets.forEach(function (ds) {
      const k = ds.label;
      ds.data = bins.map(function (b) { return { x: (b.t - now) / 1000, y: b.sums[k] / b.n }; });
    });
    chart.update("none");
  }

  // ---- per-result rendering ----
  function onResult(result, info) {
    lastResult = result;
    if (overlay.width !== result.width || overlay.height !== result.height) {
      overlay.width = result.width; overlay.height = result.height;
    }
    FF.drawResult(octx, result, { mesh: showMesh });
    const n = (result.faces || []).length;
    stage.dataset.faces = String(n);
    addToTimeline(result, performance.now());
    renderFaces(result);
    renderSignals(result);
  }

  function renderFaces(result) {
    const ul = $("faces-list");
    const faces = result.faces || [];
    // rebuild only when something visible changed (cheap at 25+ fps)
    const text = faces.map(FF.faceTitle).join("|");
    if (ul.dataset.text === text) return;
    ul.dataset.text = text;
    ul.replaceChildren.apply(ul, faces.map(function (f, i) {
      const li = document.createElement("li");
      li.className = "face-item";
      li.dataset.emotion = f.emotion ? f.emotion.label : "";
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.style.background = f.emotion ? FF.COLORS[f.emotion.label] : "#4cc38a";
      li.append(dot, document.createTextNode(FF.faceTitle(f, i)));
      if (f.pose) {
        const s = document.createElement("small");
        s.textContent = ` yaw ${Math.round(f.pose.yaw)}°, pitch ${Math.round(f.pose.pitch)}°`;
        li.append(s);
      }
      return li;
    }));
    if (!faces.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "No face in view.";
      ul.replaceChildren(li);
    }
  }

  // The signals snapshot (fr.session) has states and events; render whatever it holds.
  function stateText(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") return Math.abs(v) < 10 ? v.toFixed(2) : String(Math.round(v));
    if (typeof v !== "object") return String(v);
    const main = v.state ?? v.label ?? v.level ?? v.value;
    const conf = v.confidence;
    return (main !== undefined ? stateText(main) : JSON.stringify(v)) +
      (typeof conf === "number" ? ` (${Math.round(conf * 100)}%)` : "");
  }

  let lastSignalsJson = "";
  function renderSignals(result) {
    const s = result.session;
    const box = $("signals");
    if (!s) { box.hidden = true; return; }
    const json = JSON.stringify(s);
    if (json === lastSignalsJson) return;
    lastSignalsJson = json;
    box.hidden = false;
    const states = s.states && typeof s.states === "object" ? s.states :
      Object.fromEntries(Object.entries(s).filter(function (kv) { return kv[0] !== "events" && (typeof kv[1] !== "object" || kv[1] === null || !Array.isArray(kv[1])); }));
    $("signal-states").replaceChildren.apply($("signal-states"), Object.entries(states).map(function (kv) {
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.title = kv[1] && kv[1].cues ? "cues: " + [].concat(kv[1].cues).join(", ") : "";
      chip.innerHTML = "";
      const b = document.createElement("b"); b.textContent = kv[0].replace(/_/g, " ") + ": ";
      chip.append(b, document.createTextNode(stateText(kv[1])));
      return chip;
    }));
    const events = Array.isArray(s.events) ? s.events.slice(-6).reverse() : [];
    $("signal-events").replaceChildren.apply($("signal-events"), events.map(function (e) {
      const li = document.createElement("li");
      const name = e.type || e.kind || e.name || "event";
      const t = e.start ?? e.onset ?? e.time ?? e.t;
      const d = e.duration;
      li.textContent = name.replace(/_/g, " ") + (typeof t === "number" ? ` at ${t.toFixed(1)} s` : "") +
        (typeof d === "number" ? `, ${d.toFixed(1)} s` : "");
      return li;
    }));
  }

  // ---- controls ----
  const params = new URLSearchParams(location.search);
  const cam = new FF.LiveCamera(video, {
    encode: params.get("encode") || "dataurl",
    quality: params.has("quality") ? +params.get("quality") : 0.8,
    onResult: onResult,
    onError: function (m) { statusEl.textContent = "Server: " + m; },
    onStatus: function (kind, message) {
      statusEl.textContent = message;
      statusEl.className = "status " + kind;
      const live = kind === "running" || kind === "starting";
      $("start").disabled = live;
      $("stop").disabled = !live;
      $("stage-empty").hidden = kind === "running";
      if (kind === "stopped" || kind === "error") {
        octx.clearRect(0, 0, overlay.width, overlay.height);
        if (kind === "error") $("stage-empty").textContent = message;
      }
    },
  });

  // the stage takes the camera's shape, so the overlay maps 1:1 onto the picture
  video.addEventListener("loadedmetadata", function () {
    if (video.videoWidth && video.videoHeight) stage.style.aspectRatio = video.videoWidth + " / " + video.videoHeight;
  });
  $("start").addEventListener("click", function () { cam.start(); });
  $("stop").addEventListener("click", function () { cam.stop(); });
  $("mesh").addEventListener("change", function (e) {
    showMesh = e.target.checked;
    cam.setLandmarks(showMesh);
  });
  document.addEventListener("visibilitychange", function () {
    // a hidden tab gets no video frames; say so rather than look frozen
    if (document.hidden && cam.running) statusEl.textContent = "Paused while the tab is hidden.";
    else if (cam.running) statusEl.textContent = "Live.";
  });

  setInterval(function () {
    if (!cam.running) return;
    const st = cam.stats();
    $("fps").textContent = st.fps ? st.fps.toFixed(1) : "–";
    $("latency").textContent = st.latencyMs != null ? Math.round(st.latencyMs) + " ms" : "–";
    $("server").textContent = st.serverMs != null ? Math.round(st.serverMs) + " ms" : "–";
    $("nfaces").textContent = lastResult ? String((lastResult.faces || []).length) : "–";
    renderTimeline();
  }, 500);

  window.ffLive = { cam: cam, bins: bins, lastResult: function () { return lastResult; } };
  if (new URLSearchParams(location.search).has("autostart")) cam.start();
})();
