"""The wellbeing monitor in the browser: break suggestions while you work, and the history.

Pages /wellbeing (the monitor, its rules) and /wellbeing/history (daily and weekly charts, export,
delete); JSON under /api/v1/wellbeing; the WebSocket /ws/wellbeing is the live page's frame loop
(live.serve_frames) with a WellbeingMonitor per connection. Each result carries
"wellbeing": {"status": {...}, "suggestions": [...]}; control messages:

- {"type": "tick"}: time passes without a frame (a background tab): the time rules still run,
  answered with {"type": "wellbeing", "status": ..., "suggestions": [...]};
- {"type": "snooze", "minutes": m}, {"type": "break", "on": true|false}, {"type": "rules"} (reload
  the saved rules).

History: per-minute aggregates in SQLite in the instance folder (wellbeing.sqlite3), never images.
"""
from __future__ import annotations

import json
import os
import time

from flask import Blueprint, Response, jsonify, render_template, request

from ..apps.wellbeing import HistoryStore, Rules, WellbeingMonitor
from ..apps.wellbeing.rules import RuleError
from . import add_tool, app_store
from .errors import ApiError, number_arg
from .live import serve_frames, sock
from .openapi import op

bp = Blueprint("wellbeing", __name__, url_prefix="/wellbeing")
api = Blueprint("wellbeing_api", __name__, url_prefix="/api/v1/wellbeing")
ws_bp = Blueprint("wellbeing_ws", __name__)

FLUSH_S = 10.0

LABELS = {
    "fatigue_on": "Suggest a break when fatigue builds up",
    "fatigue_level": "… fatigue level (0-1) at or above",
    "fatigue_for_s": "… for at least (seconds)",
    "tension_on": "Suggest a break when tension builds up",
    "tension_level": "… tension level (0-1) at or above",
    "tension_for_s": "… for at least (seconds)",
    "attention_on": "Suggest a break when attention stays low",
    "attention_low_for_s": "… low for at least (seconds)",
    "eye_closures_on": "Suggest a break after long eye closures",
    "eye_closures": "… this many closures",
    "eye_closure_min_s": "… each at least (seconds)",
    "eye_closures_window_min": "… within (minutes)",
    "yawns_on": "Suggest a break after yawns",
    "yawns": "… this many yawns",
    "yawns_window_min": "… within (minutes)",
    "rule_20_20_20_on": "20-20-20 eye rule (no camera needed)",
    "eye_break_every_min": "… every (minutes of screen time)",
    "eye_break_s": "… a look away this long counts (seconds)",
    "max_no_break_on": "Longest time without a break (no camera needed)",
    "max_no_break_min": "… at most (minutes)",
    "break_min_s": "… away from the camera this long is a break (seconds)",
    "cooldown_min": "The same suggestion again at most every (minutes)",
    "notify": "Also show a browser notification",
}


def rule_name(field: str) -> str:
    """A setting as the rules form names it: its label, and for a "… " line the rule it belongs to
    ('… for at least (seconds)' is there twice)."""
    label = LABELS.get(field, field)
    if not label.startswith("…"):
        return f"“{label}”"
    keys = list(LABELS)
    group = next((LABELS[k] for k in reversed(keys[:keys.index(field)]) if not LABELS[k].startswith("…")), "")
    return f"“{label.lstrip('… ')}” (under “{group}”)" if group else f"“{label.lstrip('… ')}”"


def history() -> HistoryStore:
    return app_store("facial_feedback_wellbeing", lambda instance: HistoryStore(os.path.join(instance, "wellbeing.sqlite3")))


def register(app) -> None:
    add_tool(app, bp, "Wellbeing", "wellbeing.index", api, ws_bp, OPENAPI)


def _ok(summary, desc="ok", **extra):
    return op(summary, desc, tags=["wellbeing"], **extra)


OPENAPI = {
    "/api/v1/wellbeing/rules": {
        "get": _ok("The monitor's rules and thresholds {rules, defaults, labels}"),
        "put": op("Change some or all rules (validated: 400 names the allowed range)", "the saved rules",
                  [(400, "Unknown setting or out of range")], tags=["wellbeing"],
                  requestBody={"content": {"application/json": {"schema": {"type": "object"}}}}),
    },
    "/api/v1/wellbeing/history": {
        "get": _ok("Binned history: range=day (15-minute bins of the local day containing 'end') or week (7 days "
                   "by day); tz = minutes east of UTC. Per bin: monitored and screen minutes, mean fatigue, "
                   "tension, attention, breaks, suggestions, blinks, eye closures, yawns, look-aways",
                   parameters=[{"name": "range", "in": "query", "schema": {"enum": ["day", "week"]}},
                               {"name": "end", "in": "query", "schema": {"type": "number"}},
                               {"name": "tz", "in": "query", "schema": {"type": "number"}}]),
        "delete": op("Delete everything: every per-minute row and the rules", "deleted", status="204",
                     tags=["wellbeing"]),
    },
    "/api/v1/wellbeing/export.json": {"get": _ok("Export everything as JSON: {rules, minutes: [per-minute rows]}")},
    "/api/v1/wellbeing/export.csv": {"get": _ok("Export every per-minute row as CSV")},
}


@bp.get("/")
def index():
    return render_template("wellbeing.html", active="wellbeing.index", rules=history().get_rules().to_dict(),
                           labels=LABELS)


@bp.get("/history")
def history_page():
    return render_template("wellbeing_history.html", active="wellbeing.index")


# ---- API -----------------------------------------------------------------------------------

@api.get("/rules")
def get_rules():
    return jsonify({"rules": history().get_rules().to_dict(), "defaults": Rules().to_dict(), "labels": LABELS})


@api.put("/rules")
def put_rules():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "send the rules as a JSON object")
    try:
        rules = Rules.from_dict(body, base=history().get_rules())
    except RuleError as e:   # named as the form shows it; error.field is the setting's key
        name = rule_name(e.field) if e.field in LABELS else ""
        raise ApiError(400, f"{name} {e.reason}." if name else str(e), field=e.field or None)
    history().set_rules(rules)
    return jsonify({"rules": rules.to_dict()})


@api.get("/history")
def get_history():
    """?range=day|week&end=<epoch s>&tz=<minutes east of UTC>: binned per-minute aggregates."""
    rng = request.args.get("range", "day")
    end = number_arg("end", time.time(), 0, 1e11)   # epoch seconds, to the year 5138
    tz = int(number_arg("tz", 0, -24 * 60, 24 * 60) * 60)
    if rng == "day":
        # the local calendar day containing end, in 15-minute bins
        start = (int(end) + tz) // 86400 * 86400 - tz
        series = history().series(start, start + 86400, 900, tz)
    elif rng == "week":
        day0 = (int(end) + tz) // 86400 * 86400 - tz
        start = day0 - 6 * 86400
        series = history().series(start, day0 + 86400, 86400, tz)
    else:
        raise ApiError(400, "range must be day or week", field="range")
    return jsonify({"range": rng, "start": start, "tz_minutes": tz // 60, "bins": series})


@api.get("/export.json")
def export_json():
    return Response(json.dumps(history().export(), indent=1), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="wellbeing-history.json"'})


@api.get("/export.csv")
def export_csv():
    return Response(history().export_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="wellbeing-history.csv"'})


@api.delete("/history")
def delete_history():
    history().delete_all()
    return "", 204


# ---- the WebSocket -------------------------------------------------------------------------

@sock.route("/ws/wellbeing", bp=ws_bp)
def wellbeing_ws(ws):
    store = history()
    t0 = time.monotonic()
    mon = WellbeingMonitor(store.get_rules(), start_wall=time.time())
    last_flush = [time.monotonic()]
    last_frame = [None]   # monotonic time of the last frame: ticks continue the frames' clock

    def now_t() -> float:
        if mon.t is None or last_frame[0] is None:
            return time.monotonic() - t0
        return mon.t + (time.monotonic() - last_frame[0])

    def flush(force=False):
        if force or time.monotonic() - last_flush[0] >= FLUSH_S:
            store.add(mon.pop_minutes())
            last_flush[0] = time.monotonic()

    def on_result(fr, reply, session):
        res = reply["result"]
        last_frame[0] = time.monotonic()
        got = mon.observe(fr)
        res["wellbeing"] = {"status": mon.latest, "suggestions": [s.to_dict() for s in got]}
        flush()

    def send_status(got=()):
        ws.send(json.dumps({"type": "wellbeing", "status": mon.latest, "suggestions": [s.to_dict() for s in got]}))

    def on_control(ctl, session):
        kind = ctl.get("type")
        if kind == "tick":
            got = mon.tick(now_t())
            flush()
            send_status(got)
        elif kind == "snooze":
            try:
                mon.snooze(min(240.0, max(0.0, float(ctl.get("minutes", 15)))))
            except (TypeError, ValueError):
                return False
            mon.tick(now_t())
            send_status()
        elif kind == "break":
            mon.take_break(bool(ctl.get("on", True)))
            mon.tick(now_t())
            flush(True)
            send_status()
        elif kind == "rules":
            mon.set_rules(store.get_rules())
            send_status()
        else:
            return False
        return True

    try:
        serve_frames(ws, on_result=on_result, on_control=on_control)
    finally:
        flush(True)
