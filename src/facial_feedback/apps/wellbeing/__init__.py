"""The wellbeing monitor: break suggestions from fatigue, attention and tension over time, plus
face-independent rules (20-20-20, a longest stretch without a break), and a per-minute history.

    from facial_feedback.apps.wellbeing import Rules, WellbeingMonitor, HistoryStore

    mon = WellbeingMonitor(Rules(), start_wall=time.time())
    for fr in frames:                          # FrameResult with fr.session, as a live camera
        for s in mon.observe(fr):              # session produces them
            print(s.title, s.cues)             # a Suggestion names the cues behind it
    store = HistoryStore("instance/wellbeing.sqlite3")
    store.add(mon.pop_minutes())               # per-minute aggregates only, never images

One module per job: rules (the user's thresholds, Suggestion), monitor (the person's session),
store (per-minute aggregates and the SQLite history). Every threshold is in `Rules`, the user's
to set. This is a prompt to rest, not a measurement of health and not a diagnosis.
"""
from .monitor import WellbeingMonitor
from .rules import Rules, Suggestion
from .store import COLUMNS, HistoryStore, Minutes

__all__ = ["COLUMNS", "HistoryStore", "Minutes", "Rules", "Suggestion", "WellbeingMonitor"]
