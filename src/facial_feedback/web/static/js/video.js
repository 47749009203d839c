/* The Video page: upload -> background job -> progress -> charts, downloads, annotated video.
 * The job list comes from the server, so it survives a reload. */
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };
  let jobs = [];
  let shown = null;       // job id whose results are on screen
  let charts = [];
  let pollTimer = null;
  let pending = [];       // the chosen files, uploaded when Start is pressed (the options first)
  const mine = {};        // job id -> true: jobs started from this page, shown when they finish
  const seen = {};        // job id -> its last status
  // MP4 (H.264) where this browser plays it; the server falls back to WebM where it cannot write it
  const playsMp4 = !!document.createElement("video").canPlayType('video/mp4; codecs="avc1.42E01E, mp4a.40.2"');

  const PERCLOS_TEXT = "PERcentage of eyelid CLOSure: the share of the time the eyes are at least 80% closed " +
    "over a stretch of time (Wierwille et al., NHTSA 1994; Dinges & Grace, FHWA 1998): it rises with drowsiness; " +
    "around 15% and above is commonly treated as drowsy.";

  function fmtTime(ts) { return ts ? new Date(ts * 1000).toLocaleTimeString() : ""; }

  function upload(file) {
    const st = $("upload-status");
    const max = +$("upload-form").dataset.maxBytes;
    if (max && file.size > max) {   // say so at once rather than upload half a gigabyte to hear it
      st.className = "status error";
      st.textContent = `${file.name} is too large (${FF.fmtBytes(file.size)}): the limit is ${FF.fmtBytes(max)}.`;
      return Promise.resolve();
    }
    const fd = new FormData();
    fd.append("video", file, file.name);
    fd.append("every", $("every").value || "1");
    fd.append("annotate", $("annotate").checked ? "1" : "0");
    fd.append("keep", $("keep").checked ? "1" : "0");
    fd.append("video_format", playsMp4 ? "mp4" : "webm");
    st.className = "status";
    return new Promise(function (resolve) {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1/jobs");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) st.textContent = `Uploading ${file.name}: ${Math.round(100 * e.loaded / e.total)}%`;
      };
      xhr.onload = function () {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status === 202) {
          st.textContent = `Uploaded ${file.name}: analysing; the results open here when it is done.`;
          mine[body.id] = true;
          refresh();
        } else {
          st.className = "status error";
          st.textContent = (body && body.error ? body.error.message : `Upload failed (HTTP ${xhr.status}).`);
        }
        resolve();
      };
      xhr.onerror = function () { st.className = "status error"; st.textContent = "Upload failed: no answer from the server."; resolve(); };
      xhr.send(fd);
    });
  }

  function jobItem(j) {
    const li = document.createElement("li");
    li.className = "job " + j.status;
    li.dataset.id = j.id;
    li.dataset.status = j.status;
    const pct = Math.round((j.progress || 0) * 100);
    const head = document.createElement("div");
    head.className = "job-head";
    const name = document.createElement("strong");
    name.textContent = j.filename;
    const status = document.createElement("span");
    status.className = "badge " + j.status;
    status.textContent = j.status;
    head.append(name, status);
    const bar = document.createElement("div");
    bar.className = "progress";
    bar.innerHTML = '<div class="fill"></div>';
    bar.firstChild.style.width = pct + "%";
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuenow", String(pct));
    const info = document.createElement("div");
    info.className = "job-info";
    const parts = [pct + "%"];
    if (j.fps) parts.push(j.fps.toFixed(1) + " fps");
    if (j.frames_total) parts.push(`${j.frames_done}/${j.frames_total} frames`);
    if (j.status === "done" && j.faces != null) parts.push(`${j.faces} face track${j.faces === 1 ? "" : "s"}`);
    if (j.every > 1) parts.push(`every ${j.every}`);
    parts.push(fmtTime(j.created));
    info.textContent = parts.join(" · ");
    li.append(head, bar, info);
    if (j.status === "failed") {
      const err = document.createElement("p");
      err.className = "error";
      err.textContent = "Failed: " + (j.error || "unknown reason");
      li.append(err);
    }
    if (j.warning) {
      const warn = document.createElement("p");
      warn.className = "error warning";
      warn.textContent = "Warning: " + j.warning;
      li.append(warn);
    }
    const actions = document.createElement("div");
    actions.className = "job-actions";
    if (j.status === "done") {
      const show = document.createElement("button");
      show.textContent = shown === j.id ? "Shown below" : "Show results";
      show.className = "primary show";
      show.disabled = shown === j.id;
      show.onclick = function () { showResults(j); render(); };
      actions.append(show);
      [["csv", "CSV"], ["json", "JSON lines"], ["video", "Annotated video"]].forEach(function (kv) {
        if (!j.urls[kv[0]]) return;
        const a = document.createElement("a");
        a.href = j.urls[kv[0]] + "?download=1";
        a.textContent = kv[1];
        a.className = "button dl-" + kv[0];
        actions.append(a);
      });
    }
    const del = document.createElement("button");
    del.textContent = j.status === "queued" || j.status === "running" ? "Cancel" : "Delete";
    del.onclick = async function () {
      await fetch(j.urls.self, { method: "DELETE" });
      if (shown === j.id) hideResults();
      refresh();
    };
    actions.append(del);
    li.append(actions);
    return li;
  }

  function render() {
    $("no-jobs").hidden = jobs.length > 0;
    $("jobs").replaceChildren.apply($("jobs"), jobs.map(jobItem));
  }

  async function refresh() {
    clearTimeout(pollTimer);
    try {
      const r = await fetch("/api/v1/jobs");
      jobs = (await r.json()).jobs;
      // a job started here opens its results as soon as it is done (no extra click); on a fresh
      // load with nothing shown, the newest finished job does
      const finished = jobs.find(function (j) { return j.status === "done" && mine[j.id] && seen[j.id] !== "done"; }) ||
        (shown === null && !Object.keys(seen).length && jobs.find(function (j) { return j.status === "done"; }));
      jobs.forEach(function (j) { seen[j.id] = j.status; });
      if (finished && shown !== finished.id) showResults(finished);
      render();
    } catch (e) { /* server away: try again */ }
    const active = jobs.some(function (j) { return j.status === "queued" || j.status === "running"; });
    pollTimer = setTimeout(refresh, active ? 700 : 5000);
  }

  function hideResults() {
    shown = null;
    $("result").hidden = true;
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    $("player").removeAttribute("src");
  }

  async function showResults(j) {
    hideResults();
    shown = j.id;
    $("result").hidden = false;
    $("result-title").textContent = "Results: " + j.filename;
    const links = $("result-links");
    links.replaceChildren();
    [["csv", "Download CSV"], ["json", "Download JSON (lines)"], ["video", "Download annotated video"]].forEach(function (kv) {
      if (!j.urls[kv[0]]) return;
      const a = document.createElement("a");
      a.href = j.urls[kv[0]] + "?download=1"; a.textContent = kv[1]; a.className = "button";
      links.append(a);
    });
    $("player").parentElement.hidden = !j.urls.video;
    if (j.urls.video) $("player").src = j.urls.video;
    $("video-note").hidden = !j.video_note;
    $("video-note").textContent = j.video_note ? "Annotated video: " + j.video_note : "";
    const box = $("charts");
    box.replaceChildren();
    const r = await fetch(j.urls.timeline + "?points=400");
    if (!r.ok) { box.textContent = await FF.apiError(r); return; }
    const tl = await r.json();
    if (!tl.tracks.length) {
      box.innerHTML = '<p class="muted">No face was found in this video.</p>';
      return;
    }
    tl.tracks.forEach(function (tr) {
      const wrap = document.createElement("div");
      wrap.className = "chart-card";
      wrap.dataset.track = tr.track_id;
      const h = document.createElement("h3");
      h.textContent = `Face #${tr.track_id}`;
      const cbox = document.createElement("div");
      cbox.className = "chart-box";
      const canvas = document.createElement("canvas");
      cbox.append(canvas);
      wrap.append(h, cbox);
      // the signals summary for this face (blinks, PERCLOS, yawns, ...), when the job has one
      const sig = j.session && (j.session.tracks || []).find(function (t) { return t.track_id === tr.track_id; });
      if (sig) {
        const parts = [];
        if (sig.seen_s != null) parts.push(`seen ${sig.seen_s.toFixed(1)} s`);
        const nb = sig.blinks != null ? sig.blinks + (sig.slow_blinks || 0) : null;
        if (nb != null) parts.push(`${nb} blink${nb === 1 ? "" : "s"}` +
          (sig.blinks_per_min != null ? ` (${sig.blinks_per_min}/min)` : ""));
        if (sig.perclos != null) parts.push(`eyes closed ${Math.round(sig.perclos * 100)}% of the time`);
        [["yawns", "yawn"], ["look_aways", "look-away"], ["eye_closures", "eye closure"], ["frowns", "frown"],
         ["smiles", "smile"], ["nods", "nod"], ["head_drops", "head drop"]].forEach(function (kv) {
          const n = sig[kv[0]];
          if (n) parts.push(`${n} ${kv[1]}${n === 1 ? "" : "s"}`);
        });
        const p = document.createElement("p");
        p.className = "hint signals-summary";
        p.textContent = parts.join(" · ");
        if (sig.perclos != null) {
          // the drowsiness measure's name, explained where it is shown
          const ab = document.createElement("abbr");
          ab.textContent = "PERCLOS";
          ab.title = PERCLOS_TEXT;
          const why = document.createElement("small");
          why.className = "perclos-note";
          why.append(" · “eyes closed” is ", ab, ": the share of the time the eyelids were at least 80% closed, " +
                     "a standard measure of drowsiness (around 15% and more is commonly treated as drowsy).");
          p.append(why);
        }
        wrap.append(p);
      }
      box.append(wrap);
      if (!window.Chart) { cbox.textContent = "The chart library is missing: run scripts/setup_web.sh."; return; }
      charts.push(new Chart(canvas, {
        type: "line",
        data: { datasets: tl.emotions.map(function (k) {
          return { label: k, borderColor: FF.COLORS[k], backgroundColor: FF.COLORS[k], borderWidth: 1.5,
                   pointRadius: 0, tension: 0.2,
                   data: tr.time.map(function (t, i) { return { x: t, y: tr.emotions[k][i] }; }) };
        }) },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
          interaction: { mode: "nearest", axis: "x", intersect: false },
          scales: { x: { type: "linear", min: 0, max: tl.duration || undefined, title: { display: true, text: "seconds" } },
                    y: { min: 0, max: 1, title: { display: true, text: "probability" } } },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
          onClick: function (ev, els, chart) {
            const x = chart.scales.x.getValueForPixel(ev.x);
            const p = $("player");
            if (p.src && isFinite(x)) { p.currentTime = Math.max(0, x); }
          },
        },
      }));
    });
  }

  function choose(files) {
    pending = Array.from(files || []);
    const chosen = $("chosen");
    chosen.hidden = !pending.length;
    chosen.textContent = pending.length ? "Chosen: " + pending.map(function (f) { return f.name; }).join(", ") : "";
    $("start-job").disabled = !pending.length;
    const st = $("upload-status");
    st.className = "status";
    st.textContent = pending.length ? "Set the options, then press Start." : "Choose a video first.";
  }
  $("file").addEventListener("change", function (e) {
    choose(e.target.files);
    e.target.value = "";
  });
  const dz = $("dropzone");
  ["dragenter", "dragover"].forEach(function (t) { dz.addEventListener(t, function (e) { e.preventDefault(); dz.classList.add("over"); }); });
  ["dragleave", "drop"].forEach(function (t) { dz.addEventListener(t, function (e) { e.preventDefault(); dz.classList.remove("over"); }); });
  dz.addEventListener("drop", function (e) { if (e.dataTransfer) choose(e.dataTransfer.files); });
  $("upload-form").addEventListener("submit", function (e) {
    e.preventDefault();
    const files = pending;
    choose([]);
    files.reduce(function (p, f) { return p.then(function () { return upload(f); }); }, Promise.resolve());
  });
  refresh();
  window.ffVideo = { refresh: refresh, jobs: function () { return jobs; }, showResults: showResults,
                     shown: function () { return shown; } };
})();
