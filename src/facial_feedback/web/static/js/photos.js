/* The Photos page: upload each image to /api/v1/analyze, draw the result client-side. */
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };
  const items = [];      // {file, result|null, error|null, bitmap, canvas}
  let queue = Promise.resolve();
  let columns = null;

  fetch("/api/v1/meta").then(function (r) { return r.json(); }).then(function (m) {
    columns = m.photo_csv_columns;
  }).catch(function () { /* falls back below */ });

  function updateButtons() {
    const done = items.filter(function (it) { return it.result; });
    // the downloads list every file, the failed ones with their error
    $("dl-json").disabled = $("dl-csv").disabled = !items.some(function (it) { return it.result || it.error; });
    $("clear").disabled = !items.length;
    const faces = done.reduce(function (n, it) { return n + it.result.faces.length; }, 0);
    const failed = items.filter(function (it) { return it.error; }).length;
    const pending = items.length - done.length - failed;
    $("summary").textContent = items.length ?
      `${done.length} analysed, ${faces} face${faces === 1 ? "" : "s"}` +
      (failed ? `, ${failed} failed` : "") + (pending ? `, ${pending} waiting…` : "") : "";
  }

  function card(it) {
    const el = document.createElement("article");
    el.className = "card";
    el.innerHTML = '<div class="canvas-box"><canvas></canvas></div><div class="card-body">' +
      '<h3 class="name"></h3><p class="meta">Analysing…</p><ul class="faces-list"></ul></div>';
    el.querySelector(".name").textContent = it.file.name;
    it.el = el;
    it.canvas = el.querySelector("canvas");
    it.canvas.title = "Click to enlarge";
    it.canvas.addEventListener("click", function () { enlarge(it); });
    $("results").prepend(el);
    return el;
  }

  async function draw(it) {
    const c = it.canvas, ctx = c.getContext("2d");
    if (!it.bitmap) {
      try { it.bitmap = await createImageBitmap(it.file, { imageOrientation: "from-image" }); }
      catch (e) { it.bitmap = null; }
    }
    const r = it.result;
    const W = r ? r.width : (it.bitmap ? it.bitmap.width : 320);
    const H = r ? r.height : (it.bitmap ? it.bitmap.height : 240);
    c.width = W; c.height = H;
    if (it.bitmap) ctx.drawImage(it.bitmap, 0, 0, W, H);
    if (r) FF.drawResult(ctx, r, { mesh: $("mesh").checked, clear: false });
  }

  async function analyse(it) {
    const max = +$("photos").dataset.maxBytes;
    if (max && it.file.size > max) {
      it.error = `Too large (${FF.fmtBytes(it.file.size)}): the limit is ${FF.fmtBytes(max)} per image.`;
      return show(it);
    }
    const fd = new FormData();
    fd.append("image", it.file, it.file.name);
    const q = $("mesh").checked ? "?landmarks=1" : "";
    try {
      const resp = await fetch("/api/v1/analyze" + q, { method: "POST", body: fd });
      if (!resp.ok) throw new Error(await FF.apiError(resp));
      it.result = await resp.json();
      it.result.filename = it.file.name;
    } catch (e) {
      it.error = e.message || String(e);
    }
    return show(it);
  }

  async function show(it) {
    const meta = it.el.querySelector(".meta"), ul = it.el.querySelector(".faces-list");
    if (it.error) {
      // one compact card: the name once (the heading), then why; no empty picture
      it.el.classList.add("failed");
      meta.className = "meta error";
      meta.textContent = it.error.split(" (" + it.file.name + ")").join("");
    } else {
      const n = it.result.faces.length;
      it.el.dataset.faces = String(n);
      meta.textContent = `${n} face${n === 1 ? "" : "s"} · ${it.result.width}×${it.result.height} · ${Math.round(it.result.elapsed_ms)} ms`;
      ul.replaceChildren.apply(ul, it.result.faces.map(function (f, i) {
        const li = document.createElement("li");
        li.className = "face-item";
        const dot = document.createElement("span");
        dot.className = "dot";
        dot.style.background = f.emotion ? FF.COLORS[f.emotion.label] : "#4cc38a";
        li.append(dot, document.createTextNode(FF.faceTitle(f, i)));
        return li;
      }));
      if (!n) ul.innerHTML = '<li class="muted">No face found.</li>';
    }
    // the summary and the card's state change together; drawing (a slow decode for a broken file) comes after
    it.el.classList.add("done");
    updateButtons();
    await draw(it);
  }

  function addFiles(files) {
    Array.from(files).forEach(function (file) {
      const it = { file: file, result: null, error: null };
      items.push(it);
      card(it);
      draw(it);
      queue = queue.then(function () { return analyse(it); });   // one upload at a time
    });
    updateButtons();
  }

  $("files").addEventListener("change", function (e) { addFiles(e.target.files); e.target.value = ""; });
  const dz = $("dropzone");
  ["dragenter", "dragover"].forEach(function (t) {
    dz.addEventListener(t, function (e) { e.preventDefault(); dz.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    dz.addEventListener(t, function (e) { e.preventDefault(); dz.classList.remove("over"); });
  });
  dz.addEventListener("drop", function (e) { if (e.dataTransfer) addFiles(e.dataTransfer.files); });
  $("mesh").addEventListener("change", function () {
    // the mesh needs the landmarks: re-analyse what lacks them
    items.forEach(function (it) {
      const needs = $("mesh").checked && it.result && it.result.faces.some(function (f) { return !f.landmarks; });
      if (needs) { it.result = null; queue = queue.then(function () { return analyse(it); }); }
      else draw(it);
    });
  });
  $("dl-json").addEventListener("click", function () {
    const out = items.filter(function (it) { return it.result || it.error; }).map(function (it) {
      return it.result || { filename: it.file.name, error: it.error, faces: [] };
    });
    FF.download("photos.json", JSON.stringify(out, null, 1), "application/json");
  });
  $("dl-csv").addEventListener("click", function () {
    // types.PHOTO_CSV_COLUMNS: a photo has no frame, time or track; failed files get their error
    const cols = columns || ["file", "face", "x", "y", "w", "h", "score", "yaw", "pitch", "roll", "emotion"]
      .concat(FF.EMOTIONS.map(function (k) { return "p_" + k; }), ["error"]);
    let rows = [];
    items.forEach(function (it) {
      if (it.error) rows.push({ file: it.file.name, error: it.error });
      else if (it.result) rows = rows.concat(FF.csvRows(it.result, it.file.name).map(function (r, i) {
        delete r.frame; delete r.time; delete r.track_id;
        return Object.assign({ face: i + 1 }, r);
      }));
    });
    FF.download("photos.csv", FF.toCsv(rows, cols), "text/csv");
  });
  $("clear").addEventListener("click", function () {
    items.length = 0;
    $("results").replaceChildren();
    updateButtons();
  });
  // ---- a picture at full size (click a card's picture; Esc, the button or a click closes it) ----
  const big = $("enlarged");
  async function enlarge(it) {
    if (!it.bitmap && !it.result) return;
    $("enlarged-title").textContent = it.file.name;
    big.showModal();
    const c = $("enlarged-canvas"), ctx = c.getContext("2d");
    const r = it.result;
    c.width = r ? r.width : it.bitmap.width;
    c.height = r ? r.height : it.bitmap.height;
    if (it.bitmap) ctx.drawImage(it.bitmap, 0, 0, c.width, c.height);
    // drawn after the dialog is shown, so labels and mesh follow the picture's size on screen
    if (r) FF.drawResult(ctx, r, { mesh: $("mesh").checked, clear: false });
  }
  big.addEventListener("click", function (e) { if (e.target === big || e.target.id === "enlarged-close") big.close(); });
  window.ffPhotos = { items: items, enlarge: enlarge };
})();
