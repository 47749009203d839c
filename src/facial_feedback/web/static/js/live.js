/* The Live page: camera -> server -> overlay, stats, the 60 s timeline and the signals panel. */
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };
  const video = $("video"), overlay = $("overlay"), octx = overlay.getContext("2d");
  const stage = $("stage"), statusEl = $("status");
  const WINDOW_S = 60, BIN_MS = 250;
  let showMesh = false;
  let mirror = $("mirror").checked;
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
    // the window grows from 10 s to the full minute, so the first seconds are readable
    const span = bins.length ? (now - bins[0].t) / 1000 : 0;
    chart.options.scales.x.min = -Math.min(WINDOW_S, Math.max(10, Math.ceil(span / 10) * 10));
    chart.update("none");
  }

  // ---- per-result rendering ----
  function onResult(result, info) {
    lastResult = result;
    if (overlay.width !== result.width || overlay.height !== result.height) {
      overlay.width = result.width; overlay.height = result.height;
    }
    FF.drawResult(octx, result, { mesh: showMesh, mirror: mirror });
    const n = (result.faces || []).length;
    stage.dataset.faces = String(n);
    addToTimeline(result, performance.now());
    renderFaces(result);
    renderSignals(result);
    renderBlendshapes(result);
  }

  // The 52 expression blendshapes of the first face (f.blendshapes, facial_feedback.blendshapes):
  // the strongest few as bars. Left/Right are the person's own sides.
  const BS_SHOWN = 5;
  function bsLabel(name) {
    return name.replace(/([A-Z])/g, " $1").toLowerCase().replace(/ (left|right)$/, " ($1)");
  }
  let lastBsText = "";
  function renderBlendshapes(result) {
    const box = $("blendshapes");
    if (!box) return;
    const f = (result.faces || []).find(function (x) { return x.blendshapes; });
    if (!f) { box.hidden = true; lastBsText = ""; return; }
    box.hidden = false;
    const top = Object.entries(f.blendshapes)
      .filter(function (kv) { return kv[0] !== "_neutral"; })
      .sort(function (a, b) { return b[1] - a[1]; })
      .slice(0, BS_SHOWN);
    const text = top.map(function (kv) { return kv[0] + Math.round(kv[1] * 20); }).join("|");
    if (text === lastBsText) return;   // redraw only when a bar moves by 5% or the order changes
    lastBsText = text;
    const cells = [];
    top.forEach(function (kv) {
      const name = document.createElement("span");
      name.className = "bs-name";
      name.textContent = bsLabel(kv[0]);
      name.title = kv[0];
      const bar = document.createElement("div");
      bar.className = "bs-bar";
      bar.dataset.name = kv[0];
      const fill = document.createElement("span");
      fill.style.width = Math.round(kv[1] * 100) + "%";
      bar.append(fill);
      const v = document.createElement("span");
      v.className = "bs-value";
      v.textContent = kv[1].toFixed(2);
      cells.push(name, bar, v);
    });
    $("bs-bars").replaceChildren.apply($("bs-bars"), cells);
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

  // The signals snapshot (fr.session, facial_feedback.signals): per-track states (attention,
  // fatigue, tension: level, confidence, cues) and the events that started or ended this frame.
  // Events are kept here in a short log; states are shown as they are now.
  const eventLog = [];      // newest last
  const STATE_NAMES = ["attention", "fatigue", "tension"];

  function chip(label, text, title, cls) {
    const c = document.createElement("span");
    c.className = "chip" + (cls ? " " + cls : "");
    if (title) c.title = title;
    const b = document.createElement("b");
    b.textContent = label + ": ";
    c.append(b, document.createTextNode(text));
    return c;
  }

  function stateChip(name, st) { return FF.stateChip(name, st); }   // states.js: one wording on every page

  function eventText(e) {
    const name = String(e.type || "event").replace(/_/g, " ");
    const who = e.track != null ? ` (#${e.track})` : "";
    const at = typeof e.onset === "number" ? ` at ${e.onset.toFixed(1)} s` : "";
    // a blink lasts a few frames: tenths of a second would print most of them as "0.0 s"
    const dur = typeof e.duration === "number"
      ? `, ${e.duration < 1 ? Math.round(e.duration * 1000) + " ms" : e.duration.toFixed(1) + " s"}`
      : e.duration === null ? ", ongoing" : "";
    return name + who + at + dur;
  }

  let lastSignalsJson = "";
  function renderSignals(result) {
    const s = result.session;
    const box = $("signals");
    if (!s) { box.hidden = true; return; }
    box.hidden = false;
    (s.events_started || []).forEach(function (e) { eventLog.push(e); });
    (s.events_ended || []).forEach(function (e) {
      // an ended episode replaces its 'ongoing' entry
      const i = eventLog.findIndex(function (x) { return x.type === e.type && x.track === e.track && x.onset === e.onset && x.duration == null; });
      if (i >= 0) eventLog.splice(i, 1);
      eventLog.push(e);
    });
    while (eventLog.length > 50) eventLog.shift();
    const json = JSON.stringify([s.tracks, s.face_absent, eventLog.length, eventLog[eventLog.length - 1]]);
    if (json === lastSignalsJson) return;
    lastSignalsJson = json;
    const states = $("signal-states");
    const rows = [];
    if (s.face_absent) rows.push(chip("face", "not in view", "", "abstain"));
    (s.tracks || []).forEach(function (tr) {
      if (!tr.present) return;
      const row = document.createElement("div");
      row.className = "signal-row";
      row.dataset.track = tr.track_id;
      const h = document.createElement("span");
      h.className = "signal-who";
      h.textContent = "#" + tr.track_id;
      row.append(h);
      STATE_NAMES.forEach(function (k) { if (tr[k]) row.append(stateChip(k, tr[k])); });
      if (tr.eyes_closed) row.append(chip("eyes", "closed"));
      const cue = STATE_NAMES.map(function (k) { return tr[k] && !tr[k].abstain && (tr[k].cues || [])[0]; }).filter(Boolean)[0];
      if (cue) {
        const c = document.createElement("small");
        c.className = "cue";
        c.textContent = cue;
        row.append(c);
      }
      rows.push(row);
    });
    if (!s.tracks && !s.face_absent) {   // an unknown snapshot shape: show its scalar fields
      Object.entries(s).forEach(function (kv) {
        if (kv[1] === null || typeof kv[1] !== "object") rows.push(chip(kv[0].replace(/_/g, " "), String(kv[1])));
      });
    }
    states.replaceChildren.apply(states, rows);
    const ol = $("signal-events");
    ol.replaceChildren.apply(ol, eventLog.slice(-6).reverse().map(function (e) {
      const li = document.createElement("li");
      li.textContent = eventText(e);
      return li;
    }));
  }

  // After Stop nothing is measured: the numbers go blank and what was last seen is greyed out
  // under a "stopped" note, so nothing looks as if it were still running.
  function markStopped(stopped) {
    $("stage").parentElement.classList.toggle("stopped", stopped);
    $("stopped-note").hidden = !stopped || !lastResult;
    if (!stopped) return;
    ["fps", "latency", "server", "nfaces"].forEach(function (id) { $(id).textContent = "–"; });
    $("stage").dataset.faces = "0";
    $("shared").hidden = true;
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
      markStopped(kind === "stopped" || kind === "error");
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
  $("mirror").addEventListener("change", function (e) {
    mirror = e.target.checked;
    stage.classList.toggle("mirrored", mirror);
    if (lastResult) FF.drawResult(octx, lastResult, { mesh: showMesh, mirror: mirror });
  });
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
    // a server shared by more live clients than it keeps at camera rate: each one's fps drops
    // together (scheduler.py); say so instead of looking slow for no reason
    const load = cam.load, shared = $("shared");
    if (shared) {
      const busy = load && load.clients > 1 && load.wait_ms > 5;
      shared.hidden = !busy;
      if (busy) shared.textContent = `Server shared by ${load.clients} live pages: each gets about ` +
        `${st.fps ? st.fps.toFixed(0) : "–"} fps (frames wait ${Math.round(load.wait_ms)} ms for their turn).`;
    }
    renderTimeline();
  }, 500);

  window.ffLive = { cam: cam, bins: bins, lastResult: function () { return lastResult; } };
  if (new URLSearchParams(location.search).has("autostart")) cam.start();
})();
