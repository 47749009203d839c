/* Drawing a FrameResult (the API's JSON) on a canvas, and small shared helpers.
 * Plain browser JS: everything hangs off window.FF. No inference happens here. */
(function () {
  "use strict";
  const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];
  const COLORS = {
    angry: "#e5484d", disgust: "#8e6c00", fear: "#8e4ec6", happy: "#f5b300",
    sad: "#3e63dd", surprise: "#12a594", neutral: "#8b8d98",
  };

  function topEmotion(face) {
    return face && face.emotion ? face.emotion.label : null;
  }

  const MESH_MIN_PX = 60;   // a face narrower than this on screen gets no mesh (drawResult)

  function pct(v) { return Math.round((v || 0) * 100) + "%"; }

  function faceTitle(face, i) {
    const id = face.track_id != null ? "#" + face.track_id : "face " + (i + 1);
    const e = face.emotion;
    return e ? `${id} ${e.label} ${pct(e.confidence)}` : id;
  }

  /* Draw boxes, labels, per-emotion bars and (optionally) the mesh.
   * The canvas's pixel size should match result.width x result.height (or pass opts.scale). */
  function drawResult(ctx, result, opts) {
    opts = opts || {};
    const sx = opts.scaleX || opts.scale || 1, sy = opts.scaleY || opts.scale || 1;
    const W = ctx.canvas.width, H = ctx.canvas.height;
    // Sizes are in CSS pixels of the canvas as displayed (object-fit: contain), so labels stay
    // readable whether a 4000 px photo is shown in a 300 px card or a 640 px frame fills the page.
    const cw = ctx.canvas.clientWidth, ch = ctx.canvas.clientHeight;
    const unit = opts.unit || (cw && ch ? Math.max(W / cw, H / ch) : Math.max(1, Math.min(W, H) / 480));
    if (opts.clear !== false) ctx.clearRect(0, 0, W, H);
    const boxes = (result.faces || []).map(function (f) {
      const b = f.box;
      const bx = b[0] * sx, bw = b[2] * sx;
      return [opts.mirror ? W - bx - bw : bx, b[1] * sy, bw, b[3] * sy];
    });
    let meshed = 0;
    (result.faces || []).forEach(function (face, i) {
      let [x, y, w, h] = face.box.map(function (v, k) { return v * (k % 2 ? sy : sx); });
      // mirror: the picture is shown flipped (a selfie view); boxes flip, text stays readable
      const mx = opts.mirror ? function (px) { return W - px; } : function (px) { return px; };
      if (opts.mirror) x = W - x - w;
      const label = topEmotion(face);
      const color = label ? COLORS[label] : "#4cc38a";
      // the mesh at the scale of the face as displayed: 478 dots of a fixed size turn a small
      // face into a blob, so they shrink with it, and below MESH_MIN_PX on screen it is left out
      // (enlarge the picture to see it)
      const faceCss = w / unit;
      if (opts.mesh && face.landmarks && faceCss >= MESH_MIN_PX) {
        meshed++;
        ctx.fillStyle = "rgba(120, 230, 255, 0.9)";
        const r = Math.max(1, unit * Math.min(1.8, faceCss / 110));
        for (const p of face.landmarks) ctx.fillRect(mx(p[0] * sx) - r / 2, p[1] * sy - r / 2, r, r);
      }
      ctx.lineWidth = 2.5 * unit;
      ctx.strokeStyle = color;
      ctx.strokeRect(x, y, w, h);
      // title tag above the box (inside if there is no room)
      // small faces (a group photo in a card) get a small tag with just their number;
      // the list beside the picture says the rest
      const css = w / unit;
      const fs = Math.round(Math.max(9, Math.min(14, css / 5)) * unit);
      ctx.font = `600 ${fs}px system-ui, sans-serif`;
      const title = css >= 90 ? faceTitle(face, i) : (face.track_id != null ? "#" + face.track_id : String(i + 1));
      const tw = ctx.measureText(title).width + 8 * unit;
      const ty = y - fs - 6 * unit >= 0 ? y - fs - 6 * unit : y;
      ctx.fillStyle = color;
      ctx.fillRect(x - ctx.lineWidth / 2, ty, tw, fs + 6 * unit);
      ctx.fillStyle = "#111";
      ctx.textBaseline = "top";
      ctx.fillText(title, x + 4 * unit - ctx.lineWidth / 2, ty + 3 * unit);
      // bars only where the face is big enough on screen not to bury its neighbours
      if (opts.bars !== false && face.emotion && h / unit >= 70) {
        drawBars(ctx, face.emotion.scores, x, y, w, h, unit, boxes.filter(function (_, k) { return k !== i; }));
      }
    });
    ctx.canvas.dataset.meshFaces = String(meshed);   // how many faces got their mesh (small ones do not)
  }

  function overlaps(a, b) {
    return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
  }

  /* The bar panel goes beside the box, on a side where it covers no other face; if there is
   * none (a crowded group), it is left out: the page's list still gives every score. */
  function drawBars(ctx, scores, x, y, w, h, unit, others) {
    const W = ctx.canvas.width, H = ctx.canvas.height, gap = 6 * unit;
    const PER_ROW = 10.8;   // total width / row height (label + bar)
    const room = Math.max(x, W - x - w) - gap;
    // rows follow the face's size, shrink to fit beside it, but stay legible
    let rowH = Math.max(7 * unit, Math.min(11 * unit, h / 12, room / PER_ROW));
    const barW = rowH * 6, labW = rowH * 4.8;
    const totalW = labW + barW, totalH = rowH * EMOTIONS.length + gap;
    const by = Math.max(0, Math.min(H - totalH, y));
    const candidates = [];
    if (x + w + gap + totalW <= W) candidates.push(x + w + gap);             // right of the box
    if (x - gap - totalW >= 0) candidates.push(x - gap - totalW);           // left of it
    candidates.push(x > W - x - w ? 0 : W - totalW);                         // flush to the roomier edge
    const bx = candidates.find(function (cx) {
      return !(others || []).some(function (o) { return overlaps([cx, by, totalW, totalH], o); });
    });
    if (bx === undefined) return;
    ctx.fillStyle = "rgba(17, 17, 17, 0.6)";
    ctx.fillRect(bx, by, totalW, totalH);
    ctx.font = `${Math.round(rowH * 0.85)}px system-ui, sans-serif`;
    ctx.textBaseline = "middle";
    EMOTIONS.forEach(function (k, i) {
      const v = scores[k] || 0, cy = by + gap / 2 + i * rowH + rowH / 2;
      ctx.fillStyle = "#eee";
      ctx.fillText(k, bx + rowH * 0.3, cy);
      ctx.fillStyle = "rgba(255,255,255,0.15)";
      ctx.fillRect(bx + labW, cy - rowH * 0.35, barW - rowH * 0.4, rowH * 0.7);
      ctx.fillStyle = COLORS[k];
      ctx.fillRect(bx + labW, cy - rowH * 0.35, (barW - rowH * 0.4) * v, rowH * 0.7);
    });
  }

  /* CSV in the same columns as the server's (types.CSV_COLUMNS), with a leading "file". */
  function csvRows(result, file) {
    return (result.faces || []).map(function (f) {
      const pose = f.pose || {}, emo = f.emotion || {}, s = emo.scores || {};
      const row = {
        file: file, frame: result.frame, time: result.time, track_id: f.track_id,
        x: f.box[0], y: f.box[1], w: f.box[2], h: f.box[3], score: f.score,
        yaw: pose.yaw, pitch: pose.pitch, roll: pose.roll, emotion: emo.label,
      };
      EMOTIONS.forEach(function (k) { row["p_" + k] = s[k]; });
      return row;
    });
  }

  function toCsv(rows, columns) {
    const esc = function (v) {
      if (v === null || v === undefined) return "";
      const t = String(v);
      return /[",\n]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t;
    };
    return [columns.join(",")].concat(rows.map(function (r) {
      return columns.map(function (c) { return esc(r[c]); }).join(",");
    })).join("\n") + "\n";
  }

  function download(name, text, type) {
    const url = URL.createObjectURL(new Blob([text], { type: type || "application/octet-stream" }));
    const a = document.createElement("a");
    a.href = url; a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  async function apiError(resp) {
    try {
      const body = await resp.json();
      if (body && body.error) return body.error.message;
    } catch (e) { /* not JSON */ }
    return `HTTP ${resp.status}`;
  }

  function fmtBytes(n) {
    if (n >= 1 << 30) return (n / (1 << 30)).toFixed(1) + " GB";
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(0) + " MB";
    if (n >= 1 << 10) return (n / (1 << 10)).toFixed(0) + " KB";
    return n + " B";
  }

  window.FF = Object.assign(window.FF || {}, {
    EMOTIONS: EMOTIONS, COLORS: COLORS, drawResult: drawResult, faceTitle: faceTitle, pct: pct,
    csvRows: csvRows, toCsv: toCsv, download: download, apiError: apiError, fmtBytes: fmtBytes,
  });
})();
