"""The reading report: from a session's per-frame records to a plain dict (JSON-ready).

Per paragraph: time spent, visits and re-reads, look-aways, attention (share of the time the face
was there and looking at the screen), confusion cues (brows lowered, head tilted, squinting),
interest cues (smiling, leaning in = the face growing in the picture), fatigue. Lowered brows and
smiles are the signals' reading of each frame (against the person's own baseline, brows that drop in a
smile not counted); tilt, narrowed eyes and leaning in are measured against the same reader's own
levels over the whole reading (their medians), so a face that always tilts does not read as confused. Then the passages worth rewriting or
highlighting, and a timeline of one point per second.
"""
from __future__ import annotations

import statistics
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .records import ReadingConfig, Rec
from .text import READING_WPM, Document

CUES = ("brow", "tilt", "squint", "smile", "lean")

NOTES = [
    "Inferred from the face seen by the camera, on this computer; nothing was sent anywhere.",
    "Cues are compared with this reader's own usual levels during this reading, not with other people.",
    "Confusion cues (lowered brows, a tilted head, narrowed eyes) and interest cues (smiling, leaning in) "
    "are signs that often go with those states, not proof of them; 'confidence' says how much face data "
    "each paragraph's values rest on.",
    "This is feedback on a text, not an assessment of the reader, and not a diagnosis of anything.",
]

METRICS = {
    "attention_drop": "attention drop",
    "confusion": "confusion cues",
    "skim": "skimmed",
    "interest": "interest cues",
    "time": "time spent",
}


# What a paragraph's colour means under each metric (the heat map's legend, on the report page
# and in the standalone HTML). 0 = no colour, 1 = full colour; no data = no colour either.
METRIC_HELP = {
    "attention_drop": "how much less of its time your eyes were on the text than over the whole reading",
    "confusion": "share of its time with confusion cues (brows lowered outside a smile, head tilted, eyes "
                 "narrowed), against your own usual levels",
    "skim": "how far under the expected reading time (238 words a minute) it was read",
    "interest": "share of its time with interest cues (smiling, leaning in)",
    "time": "its reading pace against 238 words a minute: full colour = 3x slower or more",
}


def metric_value(p: Mapping[str, Any], metric: str, report: Optional[Mapping[str, Any]] = None) -> Optional[float]:
    """A paragraph's value 0..1 for the heat map."""
    if metric == "time":
        return None if p["pace"] is None else min(1.0, p["pace"] / 3.0)
    return p.get(metric)


def _median(xs: List[float]) -> Optional[float]:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _share(num: float, den: float) -> Optional[float]:
    return num / den if den > 1e-9 else None


def _rnd(x, nd=3):
    return None if x is None else round(float(x), nd)


def _conf_mix(a: Mapping[str, float]) -> Optional[float]:
    return _share(0.5 * a["brow"] + 0.25 * a["tilt"] + 0.25 * a["squint"], a["seen"])


def _int_mix(a: Mapping[str, float]) -> Optional[float]:
    return _share(0.5 * a["smile"] + 0.5 * a["lean"], a["seen"])


def build_report(doc: Document, recs: Sequence[Rec], cfg: ReadingConfig = ReadingConfig(), reader: str = "",
                 started: Optional[float] = None, gaze: bool = False) -> dict:
    n = len(doc.paragraphs)
    seen = [r for r in recs if r.present and r.seen]
    med = {k: _median([getattr(r, k) for r in seen]) for k in ("brow", "tilt", "eye", "smile", "iod")}
    acc, tot, visits, timeline = _accumulate(recs, n, med, cfg)
    _count_visits(acc, visits)
    session = {"attention": _share(tot["on"], tot["on_known"]), "confusion": _conf_mix(tot),
               "interest": _int_mix(tot)}
    paras = [_paragraph(i, para, a, cfg, session) for i, (para, a) in enumerate(zip(doc.paragraphs, acc))]
    rewrite, highlight = _passages(paras, session)
    duration = (recs[-1].t - recs[0].t) if len(recs) > 1 else 0.0
    return {
        "format": "facial-feedback reading report 1",
        "text": doc.to_dict(),
        "reader": reader,
        "started": started,
        "duration_s": _rnd(duration, 1),
        "frames": len(recs),
        "position_source": "gaze (calibrated)" if gaze else "reading position in the viewport",
        "summary": {
            "attention": _rnd(session["attention"]), "confusion": _rnd(session["confusion"]),
            "interest": _rnd(session["interest"]),
            "fatigue": _rnd(_share(tot["fat"], tot["fat_w"])),
            "face_seen_share": _rnd(_share(tot["seen"], tot["time"])),
            "read_paragraphs": sum(1 for p in paras if p["read"]), "paragraphs": n,
            "reader_levels": {k: _rnd(v) for k, v in med.items()},
        },
        "paragraphs": paras,
        "rewrite": rewrite, "highlight": highlight,
        "skimmed": [p["index"] for p in paras if p["skimmed"] and p["kind"] != "heading"],
        "timeline": _timeline(timeline),
        "notes": NOTES,
    }


def _cues(r: Rec, med: Mapping[str, Optional[float]], cfg: ReadingConfig) -> Dict[str, bool]:
    """This frame's cues. Brows lowered and smiling are the signals' own reading of the frame
    (r.frown, r.smiling: one computation for every page; brows that drop in a smile are no frown);
    tilt, narrowed eyes and leaning in are against the reader's own medians over this reading."""
    c = {k: False for k in CUES}
    if not (r.present and r.seen):
        return c
    c["brow"] = r.frown
    c["smile"] = r.smiling
    if r.tilt is not None and med["tilt"] is not None:
        c["tilt"] = abs(r.tilt - med["tilt"]) >= cfg.tilt_deg
    if r.eye is not None and med["eye"] and not r.closed and not r.smiling:   # a smile narrows the eyes too
        c["squint"] = cfg.squint_lo <= r.eye / med["eye"] <= cfg.squint_hi
    if r.iod is not None and med["iod"]:
        c["lean"] = r.iod / med["iod"] >= cfg.lean_in
    return c


def _accumulate(recs: Sequence[Rec], n: int, med: Mapping[str, Optional[float]], cfg: ReadingConfig):
    """One pass over the records: per-paragraph and whole-reading sums, visits, per-second bins."""
    acc = [dict(time=0.0, present=0.0, seen=0.0, on=0.0, on_known=0.0, brow=0.0, tilt=0.0, squint=0.0, smile=0.0,
                lean=0.0, fat=0.0, fat_w=0.0, look_aways=0, blinks=0, yawns=0, visits=0, rereads=0, first=None)
           for _ in range(n)]
    tot = dict(time=0.0, present=0.0, on=0.0, on_known=0.0, brow=0.0, tilt=0.0, squint=0.0, smile=0.0, lean=0.0,
               seen=0.0, fat=0.0, fat_w=0.0)
    # visits: runs of the same paragraph at least min_visit_s long; a re-read = a visit to a
    # paragraph read before, after a visit to another one
    visits: List[Tuple[int, float, float]] = []   # (paragraph, start, duration)
    cur, cur_start, cur_dur = None, 0.0, 0.0
    timeline: Dict[int, dict] = {}
    t0 = recs[0].t if recs else 0.0
    for r in recs:
        if r.p != cur:
            if cur is not None and cur_dur >= cfg.min_visit_s:
                visits.append((cur, cur_start, cur_dur))
            cur, cur_start, cur_dur = r.p, r.t, 0.0
        cur_dur += r.dt
        c = _cues(r, med, cfg)
        _add_to_bin(timeline.setdefault(int(r.t - t0), {"n": 0, "p": {}, "att": 0, "conf": 0.0, "int": 0.0,
                                                        "fat": [], "present": 0}), r, c)
        for target in ([acc[r.p]] if r.p is not None else []) + [tot]:
            _add_time(target, r, c)
        if r.p is not None:
            _add_events(acc[r.p], r, t0)
    if cur is not None and cur_dur >= cfg.min_visit_s:
        visits.append((cur, cur_start, cur_dur))
    return acc, tot, visits, timeline


def _add_to_bin(b: dict, r: Rec, c: Mapping[str, bool]) -> None:
    b["n"] += 1
    b["present"] += r.present
    b["att"] += 1 if (r.present and r.on is not False and not r.eyes_shut) else 0
    b["conf"] += 0.5 * c["brow"] + 0.25 * c["tilt"] + 0.25 * c["squint"]
    b["int"] += 0.5 * c["smile"] + 0.5 * c["lean"]
    if r.fatigue is not None:
        b["fat"].append(r.fatigue)
    if r.p is not None:
        b["p"][r.p] = b["p"].get(r.p, 0) + 1


def _add_time(target: dict, r: Rec, c: Mapping[str, bool]) -> None:
    target["time"] += r.dt
    if r.present:
        target["present"] += r.dt
    if r.present and r.seen:
        target["seen"] += r.dt
        for k in CUES:
            target[k] += r.dt * c[k]
    # attention: the face there and on the screen (unknown gaze, e.g. a blink, is skipped)
    if not r.present or r.eyes_shut:
        target["on_known"] += r.dt
    elif r.on is not None:
        target["on_known"] += r.dt
        target["on"] += r.dt * bool(r.on)
    if r.fatigue is not None:
        target["fat"] += r.dt * r.fatigue
        target["fat_w"] += r.dt


def _add_events(a: dict, r: Rec, t0: float) -> None:
    if a["first"] is None:
        a["first"] = r.t - t0
    for e in r.events:
        if e in ("look_away", "face_absent"):
            a["look_aways"] += 1
        elif e in ("blink", "slow_blink"):
            a["blinks"] += 1
        elif e == "yawn":
            a["yawns"] += 1


def _count_visits(acc: List[dict], visits: Sequence[Tuple[int, float, float]]) -> None:
    seen_before = set()
    prev = None
    for p, _, _ in visits:
        if p is None:
            continue
        if p != prev:
            acc[p]["visits"] += 1
            if p in seen_before:
                acc[p]["rereads"] += 1
            seen_before.add(p)
        prev = p


def _paragraph(i: int, para, a: Mapping[str, Any], cfg: ReadingConfig, session: Mapping[str, Optional[float]]) -> dict:
    session_att, session_conf = session["attention"], session["confusion"]
    words = para.words
    expected = max(cfg.min_expected_s, words / READING_WPM * 60.0)
    att = _share(a["on"], a["on_known"])
    conf = _conf_mix(a)
    ratio = a["time"] / expected
    reliable = min(1.0, a["time"] / cfg.min_reliable_s) * (_share(a["seen"], a["time"]) or 0.0)
    return {
        "index": i, "kind": para.kind, "words": words,
        "time_s": _rnd(a["time"], 2), "expected_s": _rnd(expected, 2), "pace": _rnd(ratio, 2),
        "first_read_s": _rnd(a["first"], 2),
        "visits": a["visits"], "rereads": a["rereads"], "look_aways": a["look_aways"],
        "blinks": a["blinks"], "yawns": a["yawns"],
        "attention": _rnd(att), "attention_drop": _rnd(None if att is None or session_att is None
                                                        else max(0.0, session_att - att)),
        "confusion": _rnd(conf), "confusion_rise": _rnd(None if conf is None or session_conf is None
                                                        else max(0.0, conf - session_conf)),
        "cues": {k: _rnd(_share(a[k], a["seen"])) for k in CUES},
        "interest": _rnd(_int_mix(a)), "fatigue": _rnd(_share(a["fat"], a["fat_w"])),
        "skim": _rnd(max(0.0, 1.0 - ratio / cfg.skim_ratio) if a["time"] > 0 else 1.0),
        "skimmed": a["time"] < cfg.skim_ratio * expected,
        "read": a["time"] > 0,
        "confidence": _rnd(reliable, 2),
    }


def _cue_parts(c: Mapping[str, Optional[float]], names) -> List[str]:
    return [f"{name} {100 * (c[k] or 0):.0f}% of the time" for k, name in names if (c[k] or 0) >= 0.1]


def _passages(paras: Sequence[dict], session: Mapping[str, Optional[float]]) -> Tuple[List[dict], List[dict]]:
    """Passages worth rewriting (something made reading hard) or highlighting (it caught interest)."""
    session_att, session_int = session["attention"], session["interest"]
    rewrite, highlight = [], []
    for p in paras:
        if not p["read"] or p["kind"] == "heading":
            continue
        why, score = _rewrite_reasons(p, session_att)
        if why:
            rewrite.append({"index": p["index"], "score": _rnd(score * max(p["confidence"], 0.2)), "why": why})
        if p["interest"] is not None and session_int is not None and p["interest"] >= max(0.1, session_int + 0.1):
            w = _cue_parts(p["cues"], (("smile", "smiling"), ("lean", "leaning in")))
            highlight.append({"index": p["index"], "score": _rnd(p["interest"] - session_int),
                              "why": ["interest cues above this reader's usual" + (": " + ", ".join(w) if w else "")]})
    rewrite.sort(key=lambda x: -x["score"])
    highlight.sort(key=lambda x: -x["score"])
    return rewrite, highlight


def _rewrite_reasons(p: Mapping[str, Any], session_att: Optional[float]) -> Tuple[List[str], float]:
    why, score = [], 0.0
    if p["rereads"]:
        why.append(f"re-read {p['rereads']} time{'s' if p['rereads'] > 1 else ''}")
        score += 0.3 * p["rereads"]
    if p["pace"] and p["pace"] >= 1.8 and p["time_s"] >= 3:
        why.append(f"read {p['pace']:.1f}x slower than an average reading pace")
        score += 0.2 * min(3.0, p["pace"] - 1)
    if p["confusion_rise"] and p["confusion_rise"] >= 0.08:
        parts = _cue_parts(p["cues"], (("brow", "brows lowered"), ("tilt", "head tilted"), ("squint", "eyes narrowed")))
        why.append("confusion cues above this reader's usual" + (": " + ", ".join(parts) if parts else ""))
        score += 2 * p["confusion_rise"]
    if p["attention_drop"] and p["attention_drop"] >= 0.15:
        why.append(f"attention dropped: on the text {100 * (p['attention'] or 0):.0f}% of the time "
                   f"(this reading: {100 * (session_att or 0):.0f}%)")
        score += p["attention_drop"]
    if p["look_aways"] >= 2:
        why.append(f"looked away {p['look_aways']} times")
        score += 0.1 * p["look_aways"]
    return why, score


def _timeline(timeline: Mapping[int, dict]) -> List[dict]:
    tl = []
    for sec in sorted(timeline):
        b = timeline[sec]
        k = b["n"]
        tl.append({"t": sec, "paragraph": max(b["p"], key=b["p"].get) if b["p"] else None,
                   "attention": _rnd(b["att"] / k, 2), "confusion": _rnd(b["conf"] / k, 2),
                   "interest": _rnd(b["int"] / k, 2), "present": _rnd(b["present"] / k, 2),
                   "fatigue": _rnd(statistics.fmean(b["fat"]), 2) if b["fat"] else None})
    return tl
