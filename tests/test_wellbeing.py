"""The wellbeing rule engine and its per-minute history, fed through the same session interface
the live camera uses (FrameResults with the signals snapshot in fr.session)."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from facial_feedback.apps.wellbeing import HistoryStore, Rules, WellbeingMonitor
from tests import synthetic as S


@pytest.fixture(scope="module")
def mesh():
    from tests import synthetic

    return synthetic.reference_mesh()


class ScriptedSession:
    """The camera session's interface (process(frame, timestamp) -> FrameResult with .session),
    playing synthetic meshes through the real SignalSession instead of meshing camera images."""

    def __init__(self, frames):
        from facial_feedback.signals import SignalSession

        self.frames = iter(frames)
        self.signals = SignalSession()

    def process(self, frame=None, timestamp=None):
        fr = next(self.frames)
        return replace(fr, session=self.signals.update(fr))


def closures_script(mesh, seconds=40.0, fps=15, closures=((10.0, 3.0), (22.0, 2.5)), absent=()):
    from tests import synthetic as S

    def mesh_at(t):
        if any(a <= t < b for a, b in absent):
            return None
        c = max([S.blink_profile(t, on, d) for on, d in closures] + [0.0])
        return S.close_eyes(mesh, c) if c > 0 else mesh

    return S.frames(fps, seconds, mesh_at)


def run(mon, session, n):
    out = []
    for _ in range(n):
        fr = session.process(None)
        out += [(fr.timestamp, s) for s in mon.observe(fr)]
    return out


def test_long_eye_closures_raise_a_break_that_names_the_cue(mesh):
    frames = closures_script(mesh)
    mon = WellbeingMonitor(Rules(eye_closures=2, eye_closure_min_s=2.0), start_wall=1_800_000_000.0)
    got = run(mon, ScriptedSession(frames), len(frames))
    rules = [s.rule for _, s in got]
    assert rules == ["eye_closures"], rules
    t, s = got[0]
    # the second closure reached 2 s at about 24 s
    assert 23.5 <= t <= 24.6, t
    assert "eyes closed 2 times for over 2 s" in s.cues[0] and "longest 3.0 s" in s.cues[0]
    assert s.face_based and "break" in s.title.lower()
    d = s.to_dict()
    json.dumps(d)
    assert mon.latest["eye_closures"] == 2


def test_one_closure_is_not_enough_and_cooldown_and_snooze(mesh):
    frames = closures_script(mesh, closures=((10.0, 3.0),))
    mon = WellbeingMonitor(Rules(eye_closures=2, eye_closure_min_s=2.0))
    assert run(mon, ScriptedSession(frames), len(frames)) == []
    # with a threshold of 1, it fires once and the cooldown holds it back after that
    frames = closures_script(mesh, seconds=40, closures=((5.0, 3.0), (20.0, 3.0)))
    mon = WellbeingMonitor(Rules(eye_closures=1, eye_closure_min_s=2.0, cooldown_min=10))
    got = run(mon, ScriptedSession(frames), len(frames))
    assert [s.rule for _, s in got] == ["eye_closures"]
    # snoozed: nothing, even though the rule holds
    mon = WellbeingMonitor(Rules(eye_closures=1, eye_closure_min_s=2.0))
    mon.snooze(5)
    assert run(mon, ScriptedSession(frames), len(frames)) == []
    assert mon.latest["snoozed_for_s"] > 200


def test_face_independent_rules_and_breaks():
    r = Rules(eye_break_every_min=1, eye_break_s=5, max_no_break_min=2, break_min_s=20, cooldown_min=0.5,
              fatigue_on=False, tension_on=False, attention_on=False)
    mon = WellbeingMonitor(r, start_wall=0.0)
    face = S.face(track_id=1)
    got = []
    t = 0.0
    while t < 130:
        frame = S.frame(t, [face], tracks=[S.track(1, on_screen=True)])
        got += [(t, s.rule) for s in mon.observe(frame)]
        t += 0.5
    assert got[0] == (60.0, "20-20-20") and (120.0, "max_no_break") in got
    assert [g for g in got if g[1] == "20-20-20"][1][0] == 90.0   # again after the 30 s cooldown
    # looking away for 5 s is the eye break; 20 s away from the camera is a break taken
    while t < 160:
        mon.observe(S.frame(t))
        t += 0.5
    assert mon.breaks == 1 and mon.latest["since_eye_break_s"] < 30
    # ticks without frames (a hidden tab) still run the time rules
    got = [s.rule for x in range(0, 200, 5) for s in mon.tick(t + x)]
    assert "20-20-20" in got and mon.latest["present"] is None
    # the user's own break: paused, counted, timers restart when back
    mon.take_break(True)
    assert mon.tick(t + 400) == [] and mon.breaks == 2
    mon.take_break(False)
    assert mon.latest["since_break_s"] >= 0 and mon.tick(t + 401) == []


def test_fatigue_state_rule_names_its_cues():
    mon = WellbeingMonitor(Rules(fatigue_level=0.6, fatigue_for_s=30))
    st = S.state("fatigue", 0.7, "high", confidence=0.8, abstain=False,
                 cues=["eyes closed 18% of the last minute, baseline 6%", "2 yawns in the last minute"])
    got = []
    for i in range(100):
        got += mon.observe(S.frame(i * 0.5, [S.face((0, 0, 1, 1), track_id=3)],
                                   tracks=[S.track(3, on_screen=True, fatigue=st)]))
    assert [s.rule for s in got] == ["fatigue"]
    assert got[0].t == 30.0 and "eyes closed 18% of the last minute" in got[0].cues[1]
    assert got[0].confidence == 0.8


def test_rules_validation():
    r = Rules.from_dict({"fatigue_level": "0.5", "yawns": 4, "notify": False})
    assert r.fatigue_level == 0.5 and r.yawns == 4 and not r.notify
    for bad in ({"nope": 1}, {"fatigue_level": 5}, {"notify": "yes"}, {"yawns": "many"}, {"cooldown_min": float("nan")}):
        with pytest.raises(ValueError):
            Rules.from_dict(bad)


def test_history_per_minute_survives_reopening(tmp_path, mesh):
    db = tmp_path / "wellbeing.sqlite3"
    frames = closures_script(mesh, seconds=70, closures=((10.0, 3.0), (30.0, 3.0)), absent=((50.0, 55.0),))
    mon = WellbeingMonitor(Rules(eye_closures=2), start_wall=1_800_000_000.0 - 30)   # starts mid-minute
    sess = ScriptedSession(frames)
    run(mon, sess, len(frames))
    rows = mon.pop_minutes()
    assert [r["minute"] % 60 for r in rows] == [0, 0]   # 30 s in the first minute, 40 s in the next
    assert sum(r["monitored_s"] for r in rows) == pytest.approx(70 - 1 / 15, abs=0.01)
    assert sum(r["screen_s"] for r in rows) == pytest.approx(65, abs=0.2)
    assert sum(r["eye_closures"] for r in rows) == 2 and sum(r["suggestions"] for r in rows) == 1
    store = HistoryStore(db)
    store.add(rows)
    store.add(rows[:1])                         # the same minute again adds up
    store.set_rules(Rules(yawns=7))
    again = HistoryStore(db)                    # a new process on the same file
    assert len(again.rows()) == 2 and again.rows()[0]["monitored_s"] == pytest.approx(2 * rows[0]["monitored_s"])
    assert again.get_rules().yawns == 7
    day = again.series(1_800_000_000 - 3600, 1_800_000_000 + 3600, 900)
    assert len(day) == 8 and sum(b["screen_min"] for b in day) == pytest.approx(
        (65 + rows[0]["screen_s"]) / 60, abs=0.02)
    exp = again.export()
    assert exp["rules"]["yawns"] == 7 and len(exp["minutes"]) == 2
    csv_text = again.export_csv()
    assert csv_text.splitlines()[0].startswith("minute_utc,minute,monitored_s") and len(csv_text.splitlines()) == 3
    again.delete_all()
    assert HistoryStore(db).rows() == [] and HistoryStore(db).get_rules() == Rules()


def test_real_video_through_the_camera_session_raises_eye_closure(analyzer):
    """The real clip (eyes shut for about 5 s from frame 16, hand-counted in test_signals_video)
    through Analyzer.live_session(): the same session the live camera feeds."""
    from facial_feedback.io import iter_frames
    from tests.conftest import media

    path = media("WolfgangLanger_Pexels.mp4")
    mon = WellbeingMonitor(Rules(eye_closures=1, eye_closure_min_s=2.0))
    got = []
    with analyzer.live_session(signals=True) as session:
        for i, t, rgb in iter_frames(path, every=1):
            if t > 7.0:
                break
            fr = session.process(rgb, t)
            got += mon.observe(fr)
    assert [s.rule for s in got] == ["eye_closures"]
    assert got[0].t == pytest.approx(0.7 + 2.0, abs=0.6) and "eyes closed 1 time" in got[0].cues[0]
