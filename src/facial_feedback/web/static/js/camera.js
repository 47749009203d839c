/* The live camera client: getUserMedia -> JPEG frames over the /ws/live WebSocket -> results.
 *
 *   const cam = new FF.LiveCamera(videoElement, {
 *     onResult(result, info) {},   // result: FrameResult.to_dict(); info: {latencyMs, serverMs, seq}
 *     onStatus(kind, message) {},  // kind: "starting" | "running" | "stopped" | "error"
 *     landmarks: false,            // ask the server for the 478-point mesh
 *     trigger: "videoframe",       // or "interval" (keeps going in a background tab), with intervalMs
 *     encode: "dataurl",           // or "blob": how frames are JPEG-encoded (dataurl: synchronous
 *                                  // toDataURL sent as text, about 3x quicker than toBlob in Chromium)
 *   });
 *   await cam.start(); cam.stop(); cam.setLandmarks(true); cam.stats()
 *
 * One frame in flight: a frame is captured only when the previous reply has arrived, so frames
 * are dropped (never queued) while the server is busy. Nothing is stored anywhere.
 * Reused by other pages (reading, wellbeing). */
(function () {
  "use strict";

  function median(a) {
    if (!a.length) return null;
    const s = a.slice().sort(function (x, y) { return x - y; });
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }

  class LiveCamera {
    constructor(video, opts) {
      this.video = video;
      this.opts = Object.assign({ landmarks: false, trigger: "videoframe", intervalMs: 33, quality: 0.8, encode: "dataurl",
                                   maxWidth: 1280, constraints: { width: { ideal: 640 }, height: { ideal: 480 } } }, opts || {});
      this.canvas = document.createElement("canvas");
      this.ctx = this.canvas.getContext("2d", { alpha: false, desynchronized: true });
      this.running = false;
      this.inFlight = null;          // {seq, t0}
      this.newFrame = false;
      this.seq = 0;
      this._resetStats();
    }

    _resetStats() {
      this.results = 0;
      this.latencies = [];           // last 100 frame-to-result times (ms)
      this.serverMs = [];
      this.encodeMs = [];            // capture + JPEG encoding, per frame
      this.waitMs = [];              // reply -> next frame captured (waiting for the camera)
      this.roundTripMs = [];         // frame sent -> reply received (network + server)
      this.drawMs = [];              // reply received -> overlay drawn (parse, draw, page updates)
      this.doneTimes = [];           // performance.now() of the last results, for fps
      this.startedAt = performance.now();
    }

    stats() {
      const now = performance.now();
      const recent = this.doneTimes.filter(function (t) { return now - t <= 2000; });
      const span = recent.length > 1 ? (recent[recent.length - 1] - recent[0]) / 1000 : 0;
      return {
        results: this.results,
        fps: span > 0 ? (recent.length - 1) / span : 0,
        latencyMs: median(this.latencies.slice(-30)),
        serverMs: median(this.serverMs.slice(-30)),
        latencies: this.latencies.slice(),
      };
    }

    async start() {
      if (this.running) return;
      this._status("starting", "Starting the camera…");
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        this._status("error", "This browser gives no camera access here (a camera needs https or localhost).");
        return;
      }
      try {
        this.stream = await navigator.mediaDevices.getUserMedia({ video: this.opts.constraints, audio: false });
      } catch (e) {
        const msg = {
          NotAllowedError: "Camera access was denied. Allow the camera for this site (the icon in the address bar) and press Start again.",
          SecurityError: "Camera access was denied. Allow the camera for this site and press Start again.",
          NotFoundError: "No camera was found. Connect a camera and press Start again.",
          OverconstrainedError: "No camera was found that can deliver video.",
          NotReadableError: "The camera is in use by another program, or could not be started.",
        }[e.name] || ("The camera could not be started: " + (e.message || e.name));
        this._status("error", msg);
        return;
      }
      this.video.srcObject = this.stream;
      this.video.muted = true;
      this.video.playsInline = true;
      try { await this.video.play(); } catch (e) { /* autoplay of a muted stream is allowed */ }
      this.running = true;
      this._resetStats();
      this._connect();
      this._armTrigger();
    }

    stop() {
      this.running = false;
      if (this.ws) { try { this.ws.close(); } catch (e) { /* closed */ } }
      this.ws = null;
      if (this.stream) this.stream.getTracks().forEach(function (t) { t.stop(); });
      this.stream = null;
      this.video.srcObject = null;
      clearInterval(this._timer);
      this.inFlight = null;
      this._status("stopped", "Stopped.");
    }

    setLandmarks(on) {
      this.opts.landmarks = !!on;
      this._sendControl({ type: "config", landmarks: this.opts.landmarks });
    }

    reset() { this._sendControl({ type: "reset" }); }

    _sendControl(obj) {
      if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(obj));
    }

    _status(kind, message) {
      this.status = kind;
      if (this.opts.onStatus) this.opts.onStatus(kind, message);
    }

    _connect() {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(proto + "//" + location.host + (this.opts.path || "/ws/live"));
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      ws.onopen = () => {
        this._sendControl({ type: "config", landmarks: this.opts.landmarks });
        this._status("running", "Live.");
        this._pump();
      };
      ws.onmessage = (ev) => this._onMessage(ev);
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.inFlight = null;
        if (this.running) {
          this._status("error", "Lost the connection to the server; retrying…");
          setTimeout(() => { if (this.running && this.ws === ws) this._connect(); }, 1000);
        }
      };
    }

    _armTrigger() {
      clearInterval(this._timer);
      const v = this.video;
      if (this.opts.trigger === "videoframe" && "requestVideoFrameCallback" in v) {
        const cb = () => {
          if (!this.running || this.video !== v) return;
          this.newFrame = true;
          this._pump();
          v.requestVideoFrameCallback(cb);
        };
        v.requestVideoFrameCallback(cb);
      } else {
        this._timer = setInterval(() => { this.newFrame = true; this._pump(); }, this.opts.intervalMs);
      }
    }

    _pump() {
      if (!this.running || this.inFlight || !this.newFrame) return;
      const ws = this.ws, v = this.video;
      if (!ws || ws.readyState !== 1 || v.readyState < 2 || !v.videoWidth) return;
      this.newFrame = false;
      let w = v.videoWidth, h = v.videoHeight;
      if (w > this.opts.maxWidth) { h = Math.round(h * this.opts.maxWidth / w); w = this.opts.maxWidth; }
      if (this.canvas.width !== w || this.canvas.height !== h) { this.canvas.width = w; this.canvas.height = h; }
      const t0 = performance.now();
      if (this._tReply) { this.waitMs.push(t0 - this._tReply); if (this.waitMs.length > 2000) this.waitMs.shift(); this._tReply = null; }
      const seq = ++this.seq;
      this.inFlight = { seq: seq, t0: t0 };
      this.ctx.drawImage(v, 0, 0, w, h);
      if (this.opts.encode === "dataurl") {
        // synchronous encode, sent as text: faster than toBlob's async hop in some browsers
        const url = this.canvas.toDataURL("image/jpeg", this.opts.quality);
        this.inFlight.tSent = performance.now();
        ws.send(url);
        return;
      }
      this.canvas.toBlob((blob) => {
        if (!blob || this.ws !== ws || ws.readyState !== 1) { this.inFlight = null; return; }
        this.inFlight.tSent = performance.now();
        ws.send(blob);
      }, "image/jpeg", this.opts.quality);
    }

    _onMessage(ev) {
      const tMsg = performance.now();
      if (typeof ev.data !== "string") return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.type === "hello") { this.hello = msg; return; }
      if (msg.type !== "result" && msg.type !== "error") return;
      const pending = this.inFlight;
      this.inFlight = null;
      if (msg.type === "error") {
        if (this.opts.onError) this.opts.onError(msg.message);
      } else {
        const info = { seq: msg.seq, serverMs: msg.server_ms, timings: msg.timings, t0: pending ? pending.t0 : null };
        this.lastTimings = msg.timings;
        this.load = msg.load || null;
        if (this.opts.onResult) this.opts.onResult(msg.result, info);
        // frame-to-overlay: from capturing the frame to the overlay having been drawn
        const lat = pending ? performance.now() - pending.t0 : null;
        if (lat != null) { this.latencies.push(lat); if (this.latencies.length > 2000) this.latencies.shift(); }
        this.serverMs.push(msg.server_ms); if (this.serverMs.length > 2000) this.serverMs.shift();
        if (pending && pending.tSent) {
          this.encodeMs.push(pending.tSent - pending.t0); if (this.encodeMs.length > 2000) this.encodeMs.shift();
          this.roundTripMs.push(tMsg - pending.tSent); if (this.roundTripMs.length > 2000) this.roundTripMs.shift();
        }
        this.drawMs.push(performance.now() - tMsg); if (this.drawMs.length > 2000) this.drawMs.shift();
        this._tReply = performance.now();
        this.results++;
        this.doneTimes.push(performance.now()); if (this.doneTimes.length > 200) this.doneTimes.shift();
        info.latencyMs = lat;
      }
      this._pump();
    }
  }

  window.FF = Object.assign(window.FF || {}, { LiveCamera: LiveCamera, median: median });
})();
