/* The frame timer of ff_session.js as a Worker (background tabs throttle a Worker's timers far
 * less than the page's): post the interval in ms to start, 0 to stop; it posts 0 on each tick.
 * A file of its own, not a blob: URL, so the CSP's script-src 'self' covers it. */
let id = null;
onmessage = function (e) {
  clearInterval(id);
  id = null;
  if (e.data > 0) id = setInterval(function () { postMessage(0); }, e.data);
};
