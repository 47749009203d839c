/* One state chip for every page (Live, Reading, Wellbeing): the server's one wording
 * (facial_feedback.signals.states.State.view): the level ("shown") and, beside it and apart
 * from it, how sure ("sure"); the cues in the tooltip. Colour only what may need attention:
 * low attention, high fatigue or tension. */
(function () {
  "use strict";
  const WATCH = { attention: { low: "warn" }, fatigue: { high: "warn", moderate: "mild" },
                  tension: { high: "warn", moderate: "mild" } };

  function stateChip(name, st) {
    const c = document.createElement("span");
    const b = document.createElement("b");
    b.textContent = name + ": ";
    c.append(b);
    if (!st || typeof st !== "object") {
      c.className = "chip";
      c.append(document.createTextNode(String(st)));
      return c;
    }
    const watch = st.abstain ? "abstain" : ((WATCH[name] || {})[st.level] || "");
    c.className = "chip state level-" + (st.abstain ? "unknown" : st.level) + (watch ? " " + watch : "");
    c.dataset.state = name;
    const lvl = document.createElement("span");
    lvl.className = "level";
    lvl.textContent = st.shown;
    const sure = document.createElement("small");
    sure.className = "sure";
    sure.textContent = st.sure;
    c.append(lvl, document.createTextNode(" "), sure);
    const cues = (st.cues || []).join("; ");
    c.title = st.abstain ? "Not enough of the face seen yet, or it is missing or poorly seen: not to act on."
                         : (cues ? "Cues: " + cues : "");
    return c;
  }

  window.FF = Object.assign(window.FF || {}, { stateChip: stateChip });
})();
