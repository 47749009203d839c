/* The reading page: which paragraph is being read (gaze when calibrated, else the reading
 * position: the paragraph nearest a third of the way down the window below the sticky bar), or
 * none (start-up, calibration, past the end of the text, a hidden tab), sent to the server over
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
  let results = 0, lastResult = null, lastStates = "";
  let calibMsg = null, holdStatusUntil = 0;   // the calibration's answer stays readable a while

  // ---- the reading position ------------------------------------------------------------
  // Headings are not read paragraphs (a few words: their time would read as a slow pace), so
  // only body paragraphs are targets. The reading line sits a third of the way down the window
  // below the sticky bar; a paragraph hidden behind the bar is not being read.
  const targets = paras.filter(function (p) { return !p.classList.contains("heading"); });
  const bar = $("read-bar"), endEl = $("text-end"), lineEl = $("reading-line");
  let started = false;    // a face was seen since Start: until then it is start-up time

  function stuckBarBottom() {   // where the sticky bar ends once stuck (wherever the page is scrolled)
    if (!bar) return 0;
    const cs = getComputedStyle(bar);
    return cs.position === "sticky" ? (parseFloat(cs.top) || 0) + bar.offsetHeight : 0;
  }
  function readingLineY() {   // a third of the way down the part of the window the bar leaves free
    const barBottom = stuckBarBottom();
    return barBottom + Math.max(24, (window.innerHeight - barBottom) / 3);
  }

  function atReadingLine() {
    const y = readingLineY();
    // past the end of the text (the end marker at or above the line): nothing is being read
    if (endEl && endEl.getBoundingClientRect().top <= y) return null;
    const barBottom = bar ? Math.max(0, bar.getBoundingClientRect().bottom) : 0;
    let best = null, bestD = Infinity;
    targets.forEach(function (p) {
      const r = p.getBoundingClientRect();
      if (r.bottom <= barBottom || r.top >= window.innerHeight) return;   // hidden or off screen
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
    const p = el && el.closest ? el.closest("#text .para") : null;
    return p && !p.classList.contains("heading") ? p : null;
  }

  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; update(); });
  }

  // what the page tells the server: a paragraph, or none with why (start-up, calibration, the
  // end of the text, a hidden tab), so that such time is counted against no paragraph
  let phase = "viewport";
  function update() {
    let el = null;
    if (lineEl) lineEl.style.top = readingLineY() + "px";
    if (document.hidden) phase = "hidden";
    else if (calib.active) phase = "calibration";
    else if (cam.running && !started) phase = "start-up";
    else {
      el = underGaze();
      source = el ? "gaze" : "viewport";
      if (!el) el = atReadingLine();
      phase = el ? source : "end";
    }
    const i = el ? +el.dataset.i : null;
    if (i !== current) {
      if (current != null && paras[current]) paras[current].classList.remove("current");
      current = i;
      if (el) el.classList.add("current");
    }
    whereEl.textContent = i != null ? "¶ " + (i + 1) + (source === "gaze" ? " (gaze)" : "")
      : ({ "start-up": "starting…", calibration: "calibrating", end: "end of the text" }[phase] || "¶ –");
    push();
  }

  function push() {
    const key = current + "|" + phase;
    if (key === sent || !cam.running) return;
    if (cam.send({ type: "reading", paragraph: current, source: current == null ? phase : source })) sent = key;
  }

  // room above the text, so that the first paragraph can sit at the reading line, and below it
  // just enough for the end marker to reach the line: the last paragraph stays in view above
  // it, never scrolled under the bar, and the window never scrolls into a blank screen
  const article = $("text"), endSpace = $("end-space");
  function makeRoom() {
    const first = targets[0] || paras[0];
    const pad = parseFloat(getComputedStyle(article).paddingTop) || 0;
    const top = first ? first.getBoundingClientRect().top + window.scrollY - pad : 0;
    setPx(article, "paddingTop", Math.max(0, readingLineY() - top + 6));
    if (endSpace && endEl) {
      const space = endSpace.getBoundingClientRect().height;
      const below = document.documentElement.scrollHeight - space - (endEl.getBoundingClientRect().top + window.scrollY);
      setPx(endSpace, "height", Math.max(0, window.innerHeight - readingLineY() - below + 8));
    }
    schedule();
  }
  function setPx(el, prop, v) {   // only real changes: the observer below must not loop on its own edits
    const now = parseFloat(getComputedStyle(el)[prop]);
    if (!(Math.abs(now - v) <= 1)) el.style[prop] = v + "px";
  }
  // the layout settles after this script (fonts, the bar's chips): keep the room right
  if (window.ResizeObserver) new ResizeObserver(function () { makeRoom(); }).observe(article);
  if (bar && window.ResizeObserver) new ResizeObserver(function () { makeRoom(); }).observe(bar);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(makeRoom);
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
      const st = (r.reading || {}).states || {};
      const stKey = JSON.stringify(["attention", "fatigue", "tension"].map(function (k) {
        return st[k] ? [st[k].shown, st[k].sure, (st[k].cues || [])[0]] : null; }));
      if (stKey !== lastStates) {     // the reader's states, worded as on Live and Wellbeing
        lastStates = stKey;
        const box = $("reading-states");
        box.replaceChildren.apply(box, ["attention", "fatigue", "tension"].filter(function (k) { return st[k]; })
          .map(function (k) { return FF.stateChip(k, st[k]); }));
      }
      const face = (r.faces || []).length > 0;
      root.dataset.face = face ? "1" : "0";
      if (face && !started) { started = true; schedule(); }
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
      if ($("finish-end")) $("finish-end").disabled = !live;
      $("calibrate").disabled = !live;
      if (live) { sent = "unset"; schedule(); } else { started = false; }
    },
  });
  $("start").addEventListener("click", function () { cam.start(); });
  function finish() {
    $("finish").disabled = true;
    if ($("finish-end")) $("finish-end").disabled = true;
    statusEl.textContent = "Building the report…";
    cam.send({ type: "finish", reader: $("reader").value });
  }
  $("finish").addEventListener("click", finish);
  if ($("finish-end")) $("finish-end").addEventListener("click", finish);

  // ---- gaze calibration: five dots, about 1.6 s each ----------------------------------------
  const POINTS = [[0.1, 0.12], [0.9, 0.12], [0.5, 0.5], [0.1, 0.88], [0.9, 0.88]];
  const calib = { active: false, point: null, seen: 0 };
  $("calibrate").addEventListener("click", function () {
    if (calib.active) return;
    calib.active = true;
    schedule();
    const box = $("calib"), dot = $("calib-dot");
    box.hidden = false;
    let k = 0;
    function next() {
      if (k >= POINTS.length) {
        calib.active = false; calib.point = null; box.hidden = true;
        cam.send({ type: "calibrate", done: true });
        schedule();
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
    phase: function () { return phase; }, lineY: readingLineY,
    calibration: function () { return calibMsg; },
    results: function () { return results; }, lastResult: function () { return lastResult; },
  };
  makeRoom();
  if (new URLSearchParams(location.search).has("autostart")) cam.start();
})();
