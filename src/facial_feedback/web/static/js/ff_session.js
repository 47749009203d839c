/* A camera session for the reading and wellbeing tools: the live page's LiveCamera (camera.js:
 * same WebSocket protocol, one frame in flight, nothing stored) with
 *   - any WebSocket path (e.g. /ws/reading/<hash>),
 *   - messages of other types passed to opts.onMessage(msg) (report, calibrated, wellbeing),
 *   - send(obj) for JSON control messages,
 *   - trigger "worker": frames paced by a Worker's timer, which background tabs throttle far less
 *     than page timers (requestVideoFrameCallback stops in a hidden tab); opts.intervalMs sets the pace.
 *
 *   const cam = new FF.SessionCamera(video, {path: "/ws/wellbeing", trigger: "worker", intervalMs: 66,
 *                                            onResult(r, info) {}, onMessage(m) {}, onStatus(kind, text) {}});
 */
(function () {
  "use strict";
  const FF = window.FF = window.FF || {};
  // shared helpers for the tool pages
  FF.pct = function (v) { return v == null ? "–" : Math.round(v * 100) + "%"; };
  FF.heat = function (v, hue) {
    if (v == null) return "transparent";
    const a = Math.max(0, Math.min(1, v));
    // dark enough at full strength for the page's light text to keep a 4.5:1 contrast
    return "hsla(" + (hue == null ? 18 : hue) + ", 65%, 36%, " + (0.08 + 0.62 * a).toFixed(2) + ")";
  };
  if (!FF.LiveCamera) return;   // pages without the camera (reports) use the helpers only
  // the timer worker: a static file next to this one (the CSP allows scripts from 'self' only)
  const WORKER_URL = (document.currentScript && document.currentScript.src
    ? new URL("timer_worker.js", document.currentScript.src).href : "/static/js/timer_worker.js");

  class SessionCamera extends FF.LiveCamera {
    send(obj) {
      if (this.ws && this.ws.readyState === 1) { this.ws.send(JSON.stringify(obj)); return true; }
      return false;
    }

    _onMessage(ev) {
      if (typeof ev.data === "string" && this.opts.onMessage) {
        let msg = null;
        try { msg = JSON.parse(ev.data); } catch (e) { /* not JSON */ }
        if (msg && msg.type !== "result" && msg.type !== "error" && msg.type !== "hello") {
          this.opts.onMessage(msg);
          return;
        }
      }
      super._onMessage(ev);
    }

    _armTrigger() {
      if (this.opts.trigger !== "worker" || typeof Worker === "undefined") { super._armTrigger(); return; }
      clearInterval(this._timer);
      if (!this._worker) {
        this._worker = new Worker(WORKER_URL);
        this._worker.onmessage = () => {
          if (!this.running) return;
          this.newFrame = true;
          // a reply lost while the tab slept must not stall the loop for good
          if (this.inFlight && performance.now() - this.inFlight.t0 > 5000) this.inFlight = null;
          this._pump();
          if (this.opts.onTick) this.opts.onTick();
        };
      }
      this._worker.postMessage(this.opts.intervalMs || 66);
    }

    stop() {
      if (this._worker) this._worker.postMessage(0);
      super.stop();
    }
  }

  FF.SessionCamera = SessionCamera;
})();
