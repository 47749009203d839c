/* The reading page: which paragraph is being read (gaze when calibrated, else the reading
 * position: the paragraph nearest a third of the way down the window), sent to the server over
 * the camera session's WebSocket; the server aggregates and builds the report. */
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };
  const root = $("reading");
  const hash = root.dataset.hash;
  const paras = Array.prototype.slice.call(document.querySelectorAll("#text .para"));
  const statusEl = $("status"), whereEl = $("where");
  let current = null, source = "viewport", sent = "unset";
  let calibrated = false, gazeHist = [];
  let results = 0, lastResult = null;
  let calibMsg = null, holdStatusUntil = 0;   // the calibration's answer stays readable a while

  // ---- the reading position ------------------------------------------------------------
  const visible = new Set();
  const io = new IntersectionObserver(function (entries) {
    entries.forEach(function (e) { if (e.isIntersecting) visible.add(e.target); else visible.delete(e.target); });
    schedule();
  });
  paras.forEach(function (p) { io.observe(p); });

  function atReadingLine() {
    const y = window.innerHeight / 3;
    let best = null, bestD = Infinity;
    (visible.size ? Array.from(visible) : paras).forEach(function (p) {
      const r = p.getBoundingClientRect();
      const d = y < r.top ? r.top - y : (y > r.bottom ? y - r.bottom : 0);
      if (d < bestD) { bestD = d; best = p; }
    });
    return best;
  }

  function underGaze() {
    if (!calibrated || gazeHist.length < 3) return null;
    const xs = gazeHist.map(function (g) { return g[0]; }), ys = gazeHist.map(function (g) { return g[1]; });
    const gx = FF.median(xs), gy = FF.median(ys);
    if (gx < 0 || gx > 1 || gy < 0 || gy > 1) return null;
    const el = document.elementFromPoint(gx * window.innerWidth, gy * window.innerHeight);
    return el && el.closest ? el.closest("#text .para") : null;
  }

  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; update(); });
  }

  function update() {
    let el = null;
    if (document.hidden) el = null;
    else {
      el = underGaze();
      source = el ? "gaze" : "viewport";
      if (!el) el = atReadingLine();
    }
    const i = el ? +el.dataset.i : null;
    if (i !== current) {
      if (current != null && paras[current]) paras[current].classList.remove("current");
      current = i;
      if (el) el.classList.add("current");
      whereEl.textContent = i == null ? "¶ –" : "¶ " + (i + 1) + (source === "gaze" ? " (gaze)" : "");
    }
    push();
  }

  function push() {
    const key = current + "|" + source;
    if (key === sent || !cam.running) return;
    if (cam.send({ type: "reading", paragraph: current, source: source })) sent = key;
  }

  // room above the text, so that the first paragraph too can sit at the reading line
  // (the last ones get it from the space after the text)
  const article = $("text");
  function makeRoom() {
    article.style.paddingTop = "0px";
    const top = paras.length ? paras[0].getBoundingClientRect().top + window.scrollY : 0;
    const pad = Math.max(0, window.innerHeight / 3 - top + 6);
    article.style.paddingTop = pad + "px";
    schedule();
  }
  makeRoom();
  window.addEventListener("scroll", schedule, { passive: true });
  window.addEventListener("resize", makeRoom);
  document.addEventListener("visibilitychange", schedule);

  // ---- the camera session ----------------------------------------------------------------
  const cam = new FF.SessionCamera($("video"), {
    path: "/ws/reading/" + hash,
    onResult: function (r) {
      results++;
      lastResult = r;
      if (r.gaze_point) { gazeHist.push(r.gaze_point); if (gazeHist.length > 8) gazeHist.shift(); schedule(); }
      if (calib.active && calib.point) calib.seen++;
      const face = (r.faces || []).length > 0;
      root.dataset.face = face ? "1" : "0";
      if (results % 15 === 0 && !calib.active && performance.now() > holdStatusUntil) {
        statusEl.className = "status running";
        statusEl.textContent = face ? "Reading… (the camera follows your face; nothing is stored but the summary)"
                                    : "No face in view: the page counts this as looking away.";
      }
    },
    onMessage: function (m) {
      if (m.type === "report") { cam.stop(); statusEl.textContent = "Report ready."; location.href = m.url; }
      else if (m.type === "calibrated") {
        calibrated = !!m.ok;
        calibMsg = m;
        holdStatusUntil = performance.now() + 8000;
        statusEl.textContent = m.message;
        statusEl.className = "status" + (m.ok ? "" : " error");
      }
    },
    onError: function (m) { statusEl.textContent = "Server: " + m; },
    onStatus: function (kind, message) {
      statusEl.textContent = kind === "running" ? "Reading… scroll as you read." : message;
      statusEl.className = "status " + kind;
      const live = kind === "running";
      $("start").disabled = live || kind === "starting";
      $("finish").disabled = !live;
      $("calibrate").disabled = !live;
      if (live) { sent = "unset"; schedule(); }
    },
  });
  $("start").addEventListener("click", function () { cam.start(); });
  $("finish").addEventListener("click", function () {
    $("finish").disabled = true;
    statusEl.textContent = "Building the report…";
    cam.send({ type: "finish", reader: $("reader").value });
  });

  // ---- gaze calibration: five dots, about 1.6 s each ----------------------------------------
  const POINTS = [[0.1, 0.12], [0.9, 0.12], [0.5, 0.5], [0.1, 0.88], [0.9, 0.88]];
  const calib = { active: false, point: null, seen: 0 };
  $("calibrate").addEventListener("click", function () {
    if (calib.active) return;
    calib.active = true;
    const box = $("calib"), dot = $("calib-dot");
    box.hidden = false;
    let k = 0;
    function next() {
      if (k >= POINTS.length) {
        calib.active = false; calib.point = null; box.hidden = true;
        cam.send({ type: "calibrate", done: true });
        statusEl.textContent = "Fitting the gaze map…";
        return;
      }
      const p = POINTS[k++];
      dot.style.left = (p[0] * 100) + "%"; dot.style.top = (p[1] * 100) + "%";
      calib.point = null;
      setTimeout(function () { calib.point = p; cam.send({ type: "calibrate", point: p }); }, 500);
      setTimeout(next, 1700);
    }
    next();
  });

  window.ffReading = {
    cam: cam, paragraphs: paras.length,
    current: function () { return current; }, source: function () { return source; },
    calibration: function () { return calibMsg; },
    results: function () { return results; }, lastResult: function () { return lastResult; },
  };
  if (new URLSearchParams(location.search).has("autostart")) cam.start();
})();
