/* The wellbeing monitor page: camera frames paced by a Worker timer (keeps going in a background
 * tab), the server's rule engine answers with status and suggestions; suggestions show in the page
 * and, when allowed, as a browser notification. */
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };
  const statusEl = $("status");
  let lastResultAt = 0, lastTickAt = 0, latest = null, results = 0;
  const shown = [];

  function fmt(s) {
    if (s == null) return "–";
    s = Math.max(0, Math.round(s));
    return s < 90 ? s + " s" : Math.round(s / 60) + " min";
  }

  function chip(label, st) { return FF.stateChip(label, st); }   // states.js: one wording on every page

  function renderStatus(s) {
    if (!s) return;
    latest = s;
    const box = $("wb-states");
    const chips = [];
    ["fatigue", "attention", "tension"].forEach(function (k) { if (s.states && s.states[k]) chips.push(chip(k, s.states[k])); });
    if (!chips.length) {
      const m = document.createElement("span");
      m.className = "muted";
      m.textContent = s.present === false ? "No face in view (away from the screen?)." :
        "Learning your baseline… the states appear after a few seconds of your face in view.";
      chips.push(m);
    }
    box.replaceChildren.apply(box, chips);
    $("since-break").textContent = fmt(s.since_break_s);
    $("next-eye").textContent = fmt(s.next_eye_break_s);
    $("breaks").textContent = String(s.breaks);
    if (s.snoozed_for_s > 0) statusEl.textContent = "Snoozed for " + fmt(s.snoozed_for_s) + ".";
  }

  function showSuggestion(sg) {
    shown.push(sg);
    const box = $("suggestion");
    box.hidden = false;
    box.dataset.rule = sg.rule;
    $("sugg-title").textContent = sg.title;
    $("sugg-message").textContent = sg.message;
    const ul = $("sugg-cues");
    ul.replaceChildren.apply(ul, sg.cues.map(function (c) {
      const li = document.createElement("li"); li.textContent = c; return li;
    }));
    $("sugg-conf").textContent = sg.face_based
      ? "Inferred from your face" + (sg.sure ? " (" + sg.sure + ")" : "") +
        " against your own baseline; not a diagnosis."
      : "A time rule: it does not use the camera.";
    const log = $("sugg-log");
    if (log.querySelector(".muted")) log.replaceChildren();
    const li = document.createElement("li");
    li.textContent = new Date(sg.wall * 1000).toLocaleTimeString() + " — " + sg.title + ": " + sg.cues.join("; ");
    log.prepend(li);
    if (rules.notify && "Notification" in window && Notification.permission === "granted") {
      try { new Notification(sg.title, { body: sg.cues.join("\n"), tag: "ff-" + sg.rule }); } catch (e) { /* ignore */ }
    }
  }

  function handle(w) {
    if (!w) return;
    renderStatus(w.status);
    (w.suggestions || []).forEach(showSuggestion);
  }

  const cam = new FF.SessionCamera($("video"), {
    path: "/ws/wellbeing", trigger: "worker", intervalMs: 66, quality: 0.7,
    onResult: function (r) {
      results++;
      lastResultAt = performance.now();
      handle(r.wellbeing);
    },
    onMessage: function (m) { if (m.type === "wellbeing") handle(m); },
    onTick: function () {
      // no frame for a while (a throttled background tab, a busy server): the time rules still run
      const now = performance.now();
      if (now - lastResultAt > 3000 && now - lastTickAt > 5000) { lastTickAt = now; cam.send({ type: "tick" }); }
    },
    onError: function (m) { statusEl.textContent = "Server: " + m; },
    onStatus: function (kind, message) {
      statusEl.textContent = kind === "running" ? "Monitoring. You can switch to your work; keep this tab open." : message;
      statusEl.className = "status " + kind;
      const live = kind === "running" || kind === "starting";
      $("start").disabled = live;
      $("stop").disabled = !live;
    },
  });

  $("start").addEventListener("click", function () { cam.start(); });
  $("stop").addEventListener("click", function () { cam.stop(); });
  $("dismiss").addEventListener("click", function () { $("suggestion").hidden = true; });
  $("snooze").addEventListener("click", function () {
    cam.send({ type: "snooze", minutes: +$("snooze-min").value || 15 });
    $("suggestion").hidden = true;
  });
  $("take-break").addEventListener("click", function () {
    cam.send({ type: "break", on: true });
    $("suggestion").hidden = true;
    $("on-break").hidden = false;
  });
  $("back").addEventListener("click", function () {
    cam.send({ type: "break", on: false });
    $("on-break").hidden = true;
  });
  const perm = $("notify-perm");
  // the button says what it can do, and the line beside it why it cannot (and what to do)
  function permText() {
    const why = $("notify-why");
    let reason = "";
    if (window.isSecureContext === false) {   // browsers refuse notifications to plain http off this machine
      reason = "Notifications need a secure page: open the app on this computer at http://127.0.0.1 or " +
        "http://localhost (or serve it over https). Suggestions still show on this page.";
    } else if (!("Notification" in window)) {
      reason = "This browser has no notifications; suggestions still show on this page.";
    } else if (Notification.permission === "denied") {
      reason = "Notifications are blocked for this site: allow them in the browser's site settings " +
        "(the icon left of the address), then reload. Suggestions still show on this page.";
    }
    perm.textContent = "Notification" in window && Notification.permission === "granted" ? "Notifications on" : "Allow notifications";
    perm.disabled = !!reason || Notification.permission !== "default";
    why.textContent = reason;
    why.hidden = !reason;
    perm.title = reason;
  }
  perm.addEventListener("click", function () {
    if ("Notification" in window) Notification.requestPermission().then(permText);
  });
  permText();

  // ---- rules ----
  let rules = {};
  const form = $("rules-form");
  function readForm() {
    const out = {};
    form.querySelectorAll("input[name]").forEach(function (i) {
      out[i.name] = i.type === "checkbox" ? i.checked : +i.value;
    });
    return out;
  }
  rules = readForm();
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    const rs = $("rules-status");
    fetch("/api/v1/wellbeing/rules", { method: "PUT", headers: { "Content-Type": "application/json" },
                                       body: JSON.stringify(readForm()) })
      .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
      .then(function (x) {
        form.querySelectorAll("[aria-invalid]").forEach(function (i) { i.removeAttribute("aria-invalid"); });
        if (!x[0]) {
          rs.textContent = x[1].error ? "Not saved: " + x[1].error.message : "Not saved.";
          rs.className = "status error";
          const bad = x[1].error && x[1].error.field && form.querySelector('input[name="' + x[1].error.field + '"]');
          if (bad) { bad.setAttribute("aria-invalid", "true"); bad.focus(); }
          return;
        }
        rules = x[1].rules;
        rs.textContent = "Saved."; rs.className = "status";
        cam.send({ type: "rules" });
      })
      .catch(function () { rs.textContent = "Not saved: the server did not answer."; rs.className = "status error"; });
  });

  setInterval(function () {
    if (!cam.running) return;
    const st = cam.stats();
    $("fps").textContent = st.fps ? st.fps.toFixed(1) : "–";
  }, 1000);

  window.ffWellbeing = { cam: cam, shown: shown, latest: function () { return latest; },
                         results: function () { return results; } };
  if (new URLSearchParams(location.search).has("autostart")) cam.start();
})();
