"""Reading feedback: which paragraph was read how, from the per-frame results of a live session.

    from facial_feedback.reading import parse_text, ReadingSession

    doc = parse_text(raw_bytes, "essay.html")           # -> Document (paragraphs, title, hash)
    rs = ReadingSession(doc, reader="Ann")
    for fr in frames:                                   # FrameResult (or its to_dict()), with fr.session
        rs.update(fr, paragraph=index_on_the_page)      # the paragraph the page says is being read
    report = rs.report()                                # a plain dict (JSON-ready)
    html = report_html(report)                          # a standalone page, no script

The page tells which paragraph is being read (the one under the gaze when the gaze is calibrated,
else the one at the reading position in the viewport); everything else comes from the camera
session: face present, on screen, eye closure, brows, head tilt, smile, face size, fatigue state
and the events (look-aways, blinks, frowns, smiles) of facial_feedback.signals.

Per paragraph: time spent, visits and re-reads, look-aways, attention (share of the time the face
was there and looking at the screen), confusion cues (brows lowered, head tilted, squinting),
interest cues (smiling, leaning in = the face growing in the picture), fatigue. Cues are measured
against the same reader's own levels over the whole reading (their medians), so a face that always
looks like it frowns does not read as confused everywhere. These are inferences from the face with
known limits, never a diagnosis; the report says how much data each value rests on.
"""
from __future__ import annotations

import hashlib
import html as _html
import json
import re
import statistics
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

READING_WPM = 238.0        # average silent reading rate of English non-fiction (Brysbaert 2019)
MAX_TEXT_BYTES = 1_000_000
MAX_PARAGRAPHS = 400


# --------------------------------------------------------------------------- documents

@dataclass(frozen=True)
class Paragraph:
    text: str
    kind: str = "p"            # p | heading | quote | item | code

    @property
    def words(self) -> int:
        return len(self.text.split())

    def to_dict(self) -> dict:
        return {"text": self.text, "kind": self.kind, "words": self.words}


@dataclass(frozen=True)
class Document:
    title: str
    paragraphs: Tuple[Paragraph, ...]

    @property
    def hash(self) -> str:
        """The text's identity: readers' reports of the same text share it (whitespace and
        paragraph kinds do not change it)."""
        norm = "\n\n".join(" ".join(p.text.split()) for p in self.paragraphs)
        return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {"hash": self.hash, "title": self.title, "paragraphs": [p.to_dict() for p in self.paragraphs]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Document":
        return cls(str(d.get("title") or "Untitled"),
                   tuple(Paragraph(str(p["text"]), str(p.get("kind", "p"))) for p in d["paragraphs"]))


def _clean(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


class _TextExtractor(HTMLParser):
    """HTML -> paragraphs of plain text. Nothing is executed or kept but text: scripts, styles,
    embedded objects and forms are dropped whole; attributes (event handlers, URLs) are ignored."""

    SKIP = {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "head",
            "canvas", "select", "textarea", "button", "form", "nav", "audio", "video"}
    BLOCKS = {"p": "p", "h1": "heading", "h2": "heading", "h3": "heading", "h4": "heading", "h5": "heading",
              "h6": "heading", "li": "item", "blockquote": "quote", "pre": "code", "div": "p", "section": "p",
              "article": "p", "td": "p", "th": "p", "dd": "p", "dt": "p", "figcaption": "p", "caption": "p",
              "header": "p", "footer": "p", "main": "p", "aside": "p", "tr": "p", "ul": "p", "ol": "p",
              "table": "p", "body": "p", "html": "p"}
    VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: List[Paragraph] = []
        self.buf: List[str] = []
        self.kind: List[str] = ["p"]
        self.skip = 0
        self.title = ""
        self._in_title = False

    def _flush(self):
        text = _clean("".join(self.buf))
        self.buf = []
        if text:
            self.out.append(Paragraph(text, self.kind[-1] if self.kind else "p"))

    def handle_starttag(self, tag, attrs):
        tag = tag.lower()
        if tag == "title":
            self._in_title = True
        if tag in self.SKIP:
            if tag not in self.VOID:
                self.skip += 1
            return
        if self.skip:
            return
        if tag == "br":
            self.buf.append(" ")
        elif tag in self.BLOCKS:
            self._flush()
            self.kind.append(self.BLOCKS[tag])

    def handle_startendtag(self, tag, attrs):
        if tag.lower() == "br" and not self.skip:
            self.buf.append(" ")

    def handle_endtag(self, tag):
        tag = tag.lower()
        if tag == "title":
            self._in_title = False
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag in self.BLOCKS:
            self._flush()
            if len(self.kind) > 1:
                self.kind.pop()

    def handle_data(self, data):
        if self._in_title:
            self.title += data
            return
        if not self.skip:
            self.buf.append(data)

    def close(self):
        super().close()
        self._flush()


def paragraphs_from_html(text: str) -> Tuple[str, List[Paragraph]]:
    p = _TextExtractor()
    p.feed(text)
    p.close()
    return _clean(p.title), p.out


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARK = re.compile(r"(\*\*|__|\*|_|`|~~)(?=\S)(.+?)(?<=\S)\1")


def _md_inline(s: str) -> str:
    s = _MD_LINK.sub(r"\1", s)
    for _ in range(2):
        s = _MD_MARK.sub(r"\2", s)
    s = re.sub(r"<[^>]+>", "", s)          # inline HTML tags: their text stays, the tags go
    return _html.unescape(s)


def paragraphs_from_markdown(text: str) -> List[Paragraph]:
    out: List[Paragraph] = []
    buf: List[str] = []
    kind = "p"
    fence = False

    def flush():
        nonlocal buf, kind
        t = _clean(_md_inline(" ".join(buf))) if kind != "code" else "\n".join(buf).strip()
        if t:
            out.append(Paragraph(t, kind))
        buf, kind = [], "p"

    for line in text.splitlines():
        s = line.strip()
        if s.startswith("```") or s.startswith("~~~"):
            if fence:
                flush()
                fence = False
            else:
                flush()
                fence, kind = True, "code"
            continue
        if fence:
            buf.append(line)
            continue
        if not s:
            flush()
            continue
        if re.fullmatch(r"([-*_])( ?\1){2,}", s):       # a rule
            flush()
            continue
        m = re.match(r"#{1,6}\s+(.*?)\s*#*$", s)
        if m:
            flush()
            buf, kind = [m.group(1)], "heading"
            flush()
            continue
        m = re.match(r"([-*+]|\d+[.)])\s+(.*)", s)
        if m:
            flush()
            buf, kind = [m.group(2)], "item"
            continue
        if s.startswith(">"):
            if kind != "quote":
                flush()
                kind = "quote"
            buf.append(s.lstrip("> "))
            continue
        buf.append(s)
    flush()
    return out


def paragraphs_from_plain(text: str) -> List[Paragraph]:
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    out = [Paragraph(_clean(b)) for b in blocks if _clean(b)]
    if len(out) > 1 and len(out[0].text.split()) <= 12 and not out[0].text.endswith((".", "!", "?", ":")):
        out[0] = Paragraph(out[0].text, "heading")     # a short first line is the title
    return out


def parse_text(data, filename: str = "", title: Optional[str] = None) -> Document:
    """A Document from pasted text or an uploaded .txt / .md / .html file (bytes or str).
    HTML is reduced to its text, paragraph by paragraph; nothing in it is kept or run."""
    if isinstance(data, bytes):
        if len(data) > MAX_TEXT_BYTES:
            raise ValueError(f"the text is too long: at most {MAX_TEXT_BYTES // 1000} kB")
        for enc in ("utf-8-sig", "cp1252", "latin-1"):
            try:
                data = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
    text = str(data)
    if len(text) > MAX_TEXT_BYTES:
        raise ValueError(f"the text is too long: at most {MAX_TEXT_BYTES // 1000} kB")
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    found_title = ""
    if ext in ("html", "htm", "xhtml") or (not ext and re.match(r"\s*(<!doctype html|<html|<body|<p[ >])", text, re.I)):
        found_title, paras = paragraphs_from_html(text)
    elif ext in ("md", "markdown"):
        paras = paragraphs_from_markdown(text)
    elif ext in ("txt", "text", ""):
        paras = paragraphs_from_plain(text)
    else:
        raise ValueError(f"unsupported file type .{ext}: use .txt, .md or .html")
    if not paras:
        raise ValueError("no text found")
    if len(paras) > MAX_PARAGRAPHS:
        raise ValueError(f"the text has {len(paras)} paragraphs: at most {MAX_PARAGRAPHS}")
    if not title:
        heading = next((p.text for p in paras[:3] if p.kind == "heading"), "")
        title = found_title or heading or (filename.rsplit("/", 1)[-1] if filename else "") or paras[0].text
    title = title if len(title) <= 80 else title[:77].rstrip() + "…"
    return Document(title, tuple(paras))


# --------------------------------------------------------------------------- thresholds

@dataclass(frozen=True)
class ReadingConfig:
    """Thresholds (units in the names). Cues are relative to the reader's own medians."""
    max_dt_s: float = 0.5            # a longer gap between frames counts as this much
    min_visit_s: float = 0.6         # shorter stays (scrolling past) are not visits
    brow_drop: float = 0.06          # brows this fraction below the reader's median height
    tilt_deg: float = 8.0            # head tilted this far from the reader's median tilt
    squint_lo: float = 0.45          # lid gap between these fractions of the reader's median:
    squint_hi: float = 0.8           # narrowed, not a blink (below squint_lo the eyes count as closed)
    smile_rise: float = 0.3          # smile intensity above the reader's median
    lean_in: float = 1.08            # face size (inter-ocular px) this ratio of the median
    min_quality: float = 0.5
    skim_ratio: float = 0.35         # time below this share of the expected reading time = skimmed
    min_expected_s: float = 1.5
    min_reliable_s: float = 3.0      # values rest on at least this many seconds for full confidence


# --------------------------------------------------------------------------- the session

def _as_dict(frame) -> dict:
    return frame if isinstance(frame, dict) else frame.to_dict()


def _primary(faces: Sequence[dict]) -> Optional[dict]:
    """The reader: the biggest face (the person in front of the camera)."""
    if not faces:
        return None
    return max(faces, key=lambda f: (f["box"][2] * f["box"][3], -(f.get("track_id") or 0)))


@dataclass
class _Rec:
    t: float
    dt: float
    p: Optional[int]
    present: bool
    seen: bool
    on: Optional[bool]
    brow: Optional[float] = None
    tilt: Optional[float] = None
    eye: Optional[float] = None
    closed: bool = False
    smile: Optional[float] = None
    iod: Optional[float] = None
    fatigue: Optional[float] = None
    frown: bool = False
    smiling: bool = False
    eyes_shut: bool = False          # within a long eye closure (not a blink): not reading
    events: Tuple[str, ...] = ()


class ReadingSession:
    """Aggregates one reader's live session over one Document (see the module doc)."""

    def __init__(self, doc: Document, reader: str = "", config: ReadingConfig = ReadingConfig(),
                 started: Optional[float] = None):
        self.doc = doc
        self.reader = reader.strip()[:60]
        self.config = config
        self.started = time.time() if started is None else started
        self.recs: List[_Rec] = []
        self.paragraph: Optional[int] = None
        self.source = "viewport"
        self._last_t: Optional[float] = None
        self._frown = False
        self._smiling = False
        self._shut = False
        self._track: Optional[int] = None
        self.gaze_calibrated = False

    def set_paragraph(self, index: Optional[int], source: str = "viewport") -> None:
        """The paragraph being read from now on (None: none, e.g. the tab is hidden)."""
        if index is not None:
            index = int(index)
            if not 0 <= index < len(self.doc.paragraphs):
                raise ValueError(f"no paragraph {index}")
        self.paragraph = index
        self.source = source if source in ("viewport", "gaze") else "viewport"
        if self.source == "gaze":
            self.gaze_calibrated = True

    def update(self, frame, paragraph: Any = "keep") -> None:
        """Feed the next FrameResult (or its to_dict()) of the camera session; `paragraph`
        changes the current paragraph first (an int, or None for none)."""
        if paragraph != "keep":
            self.set_paragraph(paragraph)
        d = _as_dict(frame)
        t = d.get("time")
        t = float(t) if t is not None else ((self._last_t or 0.0) + 1 / 30)
        if self._last_t is not None and t <= self._last_t:
            return
        dt = 0.0 if self._last_t is None else min(t - self._last_t, self.config.max_dt_s)
        self._last_t = t
        face = _primary(d.get("faces") or [])
        sess = d.get("session") or {}
        evs = []
        for e in sess.get("events_started") or []:
            if e.get("type") in ("look_away", "face_absent", "frown", "smile", "yawn", "eye_closure"):
                evs.append(e["type"])
        for e in sess.get("events_ended") or []:
            if e.get("type") in ("blink", "slow_blink", "nod"):
                evs.append(e["type"])
        # episodes of the reader's track (frown/smile on while started .. ended)
        tid = face.get("track_id") if face else None
        for e in sess.get("events_started") or []:
            if e.get("track") == tid and e.get("type") == "frown":
                self._frown = True
            if e.get("track") == tid and e.get("type") == "smile":
                self._smiling = True
            if e.get("track") == tid and e.get("type") == "eye_closure":
                self._shut = True
        for e in sess.get("events_ended") or []:
            if e.get("track") == tid and e.get("type") == "frown":
                self._frown = False
            if e.get("track") == tid and e.get("type") == "smile":
                self._smiling = False
            if e.get("track") == tid and e.get("type") == "eye_closure":
                self._shut = False
        if face is None:
            self._frown = self._smiling = self._shut = False
            self.recs.append(_Rec(t, dt, self.paragraph, False, False, False, events=tuple(evs)))
            return
        tr = next((x for x in sess.get("tracks") or [] if x.get("track_id") == tid), None) or {}
        s = face.get("signals") or {}
        q = s.get("quality")
        seen = q is None or q >= self.config.min_quality
        on = tr.get("on_screen", s.get("on_screen"))
        fat = tr.get("fatigue") or {}
        personal = tr.get("baseline") not in (None, "population")
        eye = None
        if s.get("eye_open_left") is not None and s.get("eye_open_right") is not None:
            eye = (s["eye_open_left"] + s["eye_open_right"]) / 2.0
        self.recs.append(_Rec(
            t, dt, self.paragraph, True, seen, on, brow=s.get("brow_height"), tilt=s.get("head_tilt"), eye=eye,
            closed=bool(tr.get("eyes_closed")), smile=s.get("smile"), iod=s.get("iod_px"),
            fatigue=None if (not fat or fat.get("abstain")) else fat.get("value"),
            # the signals' own frown/smile episodes count once they rest on this person's baseline
            # (before that they compare with population values: a broad face "smiles" all along)
            frown=self._frown and personal, smiling=self._smiling and personal,
            eyes_shut=self._shut and bool(tr.get("eyes_closed", True)), events=tuple(evs)))

    # ---- the report ----------------------------------------------------------
    def report(self) -> dict:
        return build_report(self.doc, self.recs, self.config, reader=self.reader, started=self.started,
                            gaze=self.gaze_calibrated)


def _median(xs: List[float]) -> Optional[float]:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _share(num: float, den: float) -> Optional[float]:
    return num / den if den > 1e-9 else None


def _rnd(x, nd=3):
    return None if x is None else round(float(x), nd)


def build_report(doc: Document, recs: Sequence[_Rec], cfg: ReadingConfig = ReadingConfig(), reader: str = "",
                 started: Optional[float] = None, gaze: bool = False) -> dict:
    n = len(doc.paragraphs)
    seen = [r for r in recs if r.present and r.seen]
    med = {k: _median([getattr(r, k) for r in seen]) for k in ("brow", "tilt", "eye", "smile", "iod")}

    def cues(r: _Rec) -> Dict[str, bool]:
        c = {"brow": False, "tilt": False, "squint": False, "smile": False, "lean": False}
        if not (r.present and r.seen):
            return c
        if r.brow is not None and med["brow"]:
            c["brow"] = (med["brow"] - r.brow) / med["brow"] >= cfg.brow_drop
        c["brow"] = c["brow"] or r.frown
        if r.tilt is not None and med["tilt"] is not None:
            c["tilt"] = abs(r.tilt - med["tilt"]) >= cfg.tilt_deg
        if r.eye is not None and med["eye"] and not r.closed:
            c["squint"] = cfg.squint_lo <= r.eye / med["eye"] <= cfg.squint_hi
        if r.smile is not None and med["smile"] is not None:
            c["smile"] = r.smile - med["smile"] >= cfg.smile_rise
        c["smile"] = c["smile"] or r.smiling
        if r.iod is not None and med["iod"]:
            c["lean"] = r.iod / med["iod"] >= cfg.lean_in
        return c

    # per paragraph accumulators
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
        c = cues(r)
        sec = int(r.t - t0)
        b = timeline.setdefault(sec, {"n": 0, "p": {}, "att": 0, "conf": 0.0, "int": 0.0, "fat": [], "present": 0})
        b["n"] += 1
        b["present"] += r.present
        b["att"] += 1 if (r.present and r.on is not False and not r.eyes_shut) else 0
        b["conf"] += 0.5 * c["brow"] + 0.25 * c["tilt"] + 0.25 * c["squint"]
        b["int"] += 0.5 * c["smile"] + 0.5 * c["lean"]
        if r.fatigue is not None:
            b["fat"].append(r.fatigue)
        if r.p is not None:
            b["p"][r.p] = b["p"].get(r.p, 0) + 1
        for target in ([acc[r.p]] if r.p is not None else []) + [tot]:
            target["time"] += r.dt
            if r.present:
                target["present"] += r.dt
            if r.present and r.seen:
                target["seen"] += r.dt
                for k in ("brow", "tilt", "squint", "smile", "lean"):
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
        if r.p is not None:
            a = acc[r.p]
            if a["first"] is None:
                a["first"] = r.t - t0
            for e in r.events:
                if e in ("look_away", "face_absent"):
                    a["look_aways"] += 1
                elif e in ("blink", "slow_blink"):
                    a["blinks"] += 1
                elif e == "yawn":
                    a["yawns"] += 1
    if cur is not None and cur_dur >= cfg.min_visit_s:
        visits.append((cur, cur_start, cur_dur))
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

    def conf_mix(a):
        s = a["seen"]
        return _share(0.5 * a["brow"] + 0.25 * a["tilt"] + 0.25 * a["squint"], s)

    def int_mix(a):
        return _share(0.5 * a["smile"] + 0.5 * a["lean"], a["seen"])

    session_att = _share(tot["on"], tot["on_known"])
    session_conf = conf_mix(tot)
    session_int = int_mix(tot)
    paras = []
    for i, (para, a) in enumerate(zip(doc.paragraphs, acc)):
        words = para.words
        expected = max(cfg.min_expected_s, words / READING_WPM * 60.0)
        att = _share(a["on"], a["on_known"])
        conf = conf_mix(a)
        inter = int_mix(a)
        ratio = a["time"] / expected
        reliable = min(1.0, a["time"] / cfg.min_reliable_s) * (_share(a["seen"], a["time"]) or 0.0)
        paras.append({
            "index": i, "kind": para.kind, "words": words,
            "time_s": _rnd(a["time"], 2), "expected_s": _rnd(expected, 2), "pace": _rnd(ratio, 2),
            "first_read_s": _rnd(a["first"], 2),
            "visits": a["visits"], "rereads": a["rereads"], "look_aways": a["look_aways"],
            "blinks": a["blinks"], "yawns": a["yawns"],
            "attention": _rnd(att), "attention_drop": _rnd(None if att is None or session_att is None
                                                            else max(0.0, session_att - att)),
            "confusion": _rnd(conf), "confusion_rise": _rnd(None if conf is None or session_conf is None
                                                            else max(0.0, conf - session_conf)),
            "cues": {k: _rnd(_share(a[k], a["seen"])) for k in ("brow", "tilt", "squint", "smile", "lean")},
            "interest": _rnd(inter), "fatigue": _rnd(_share(a["fat"], a["fat_w"])),
            "skim": _rnd(max(0.0, 1.0 - ratio / cfg.skim_ratio) if a["time"] > 0 else 1.0),
            "skimmed": a["time"] < cfg.skim_ratio * expected,
            "read": a["time"] > 0,
            "confidence": _rnd(reliable, 2),
        })

    # passages worth rewriting (something made reading hard) or highlighting (it caught interest)
    rewrite, highlight = [], []
    for p in paras:
        if not p["read"] or p["kind"] == "heading":
            continue
        why, score = [], 0.0
        if p["rereads"]:
            why.append(f"re-read {p['rereads']} time{'s' if p['rereads'] > 1 else ''}")
            score += 0.3 * p["rereads"]
        if p["pace"] and p["pace"] >= 1.8 and p["time_s"] >= 3:
            why.append(f"read {p['pace']:.1f}x slower than an average reading pace")
            score += 0.2 * min(3.0, p["pace"] - 1)
        if p["confusion_rise"] and p["confusion_rise"] >= 0.08:
            c = p["cues"]
            parts = [f"{name} {100 * (c[k] or 0):.0f}% of the time" for k, name in
                     (("brow", "brows lowered"), ("tilt", "head tilted"), ("squint", "eyes narrowed")) if (c[k] or 0) >= 0.1]
            why.append("confusion cues above this reader's usual" + (": " + ", ".join(parts) if parts else ""))
            score += 2 * p["confusion_rise"]
        if p["attention_drop"] and p["attention_drop"] >= 0.15:
            why.append(f"attention dropped: on the text {100 * (p['attention'] or 0):.0f}% of the time "
                       f"(this reading: {100 * (session_att or 0):.0f}%)")
            score += p["attention_drop"]
        if p["look_aways"] >= 2:
            why.append(f"looked away {p['look_aways']} times")
            score += 0.1 * p["look_aways"]
        if why:
            rewrite.append({"index": p["index"], "score": _rnd(score * max(p["confidence"], 0.2)), "why": why})
        if p["interest"] is not None and session_int is not None and p["interest"] >= max(0.1, session_int + 0.1):
            c = p["cues"]
            w = [f"{name} {100 * (c[k] or 0):.0f}% of the time" for k, name in
                 (("smile", "smiling"), ("lean", "leaning in")) if (c[k] or 0) >= 0.1]
            highlight.append({"index": p["index"], "score": _rnd(p["interest"] - session_int),
                              "why": ["interest cues above this reader's usual" + (": " + ", ".join(w) if w else "")]})
    rewrite.sort(key=lambda x: -x["score"])
    highlight.sort(key=lambda x: -x["score"])
    skimmed = [p["index"] for p in paras if p["skimmed"] and p["kind"] != "heading"]

    tl = []
    for sec in sorted(timeline):
        b = timeline[sec]
        k = b["n"]
        tl.append({"t": sec, "paragraph": max(b["p"], key=b["p"].get) if b["p"] else None,
                   "attention": _rnd(b["att"] / k, 2), "confusion": _rnd(b["conf"] / k, 2),
                   "interest": _rnd(b["int"] / k, 2), "present": _rnd(b["present"] / k, 2),
                   "fatigue": _rnd(statistics.fmean(b["fat"]), 2) if b["fat"] else None})
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
            "attention": _rnd(session_att), "confusion": _rnd(session_conf), "interest": _rnd(session_int),
            "fatigue": _rnd(_share(tot["fat"], tot["fat_w"])),
            "face_seen_share": _rnd(_share(tot["seen"], tot["time"])),
            "read_paragraphs": sum(1 for p in paras if p["read"]), "paragraphs": n,
            "reader_levels": {k: _rnd(v) for k, v in med.items()},
        },
        "paragraphs": paras,
        "rewrite": rewrite, "highlight": highlight, "skimmed": skimmed,
        "timeline": tl,
        "notes": NOTES,
    }


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


def metric_value(p: Mapping[str, Any], metric: str, report: Optional[Mapping[str, Any]] = None) -> Optional[float]:
    """A paragraph's value 0..1 for the heat map."""
    if metric == "time":
        return None if p["pace"] is None else min(1.0, p["pace"] / 3.0)
    return p.get(metric)


# --------------------------------------------------------------------------- standalone HTML

def _heat(v: Optional[float], hue: int = 18) -> str:
    if v is None:
        return "transparent"
    a = max(0.0, min(1.0, float(v)))
    return f"hsla({hue}, 85%, 55%, {0.08 + 0.55 * a:.2f})"


def report_html(report: Mapping[str, Any], metric: str = "confusion") -> str:
    """The report as one self-contained HTML page (inline CSS and SVG; no script, no links out)."""
    e = _html.escape
    text = report["text"]
    paras = report["paragraphs"]
    rows = []
    for p, tp in zip(paras, text["paragraphs"]):
        v = metric_value(p, metric)
        tag = "h3" if tp.get("kind") == "heading" else "p"
        badges = (f"{p['time_s']:.1f} s · pace {p['pace'] or 0:.1f}x · re-reads {p['rereads']} · look-aways "
                  f"{p['look_aways']} · attention {_pct(p['attention'])} · confusion {_pct(p['confusion'])} · "
                  f"interest {_pct(p['interest'])} · fatigue {_pct(p['fatigue'])} · confidence {_pct(p['confidence'])}")
        flag = " skimmed" if p["skimmed"] else ""
        rows.append(f'<div class="para{flag}" style="background:{_heat(v)}"><{tag}>{e(tp["text"])}</{tag}>'
                    f'<div class="meta">¶{p["index"] + 1} · {e(badges)}</div></div>')

    def lst(items, label):
        if not items:
            return "<p class='muted'>None.</p>"
        return "<ol>" + "".join(
            f"<li><b>¶{it['index'] + 1}</b> “{e(_snip(text['paragraphs'][it['index']]['text']))}” — "
            f"{e('; '.join(it['why']))}</li>" for it in items) + "</ol>"

    s = report["summary"]
    skimmed = ", ".join(f"¶{i + 1}" for i in report["skimmed"]) or "none"
    svg = _timeline_svg(report)
    notes = "".join(f"<li>{e(n)}</li>" for n in report["notes"])
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(report["started"])) if report.get("started") else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Reading report: {e(text['title'])}</title>
<style>
body{{font:16px/1.55 Georgia,serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f;background:#fff}}
h1{{font:600 1.5rem system-ui,sans-serif}} h2{{font:600 1.1rem system-ui,sans-serif;margin-top:2rem}}
.para{{border-radius:6px;padding:.3rem .6rem;margin:.4rem 0}} .para p,.para h3{{margin:.2rem 0}}
.para.skimmed{{outline:2px dashed #888}}
.meta,.muted,.sum{{font:12px/1.4 system-ui,sans-serif;color:#555}} .sum b{{color:#111}}
svg{{width:100%;height:auto;background:#fafafa;border:1px solid #ddd;border-radius:6px}}
</style></head><body>
<h1>Reading report: {e(text['title'])}</h1>
<p class="sum">Reader: <b>{e(report.get('reader') or 'anonymous')}</b> · {e(when)} · {report['duration_s']} s ·
paragraph from the {e(report['position_source'])} · attention {_pct(s['attention'])} · face seen {_pct(s['face_seen_share'])}
of the time · text {e(text['hash'])}</p>
<h2>Worth rewriting</h2>{lst(report['rewrite'], 'rewrite')}
<h2>Worth highlighting</h2>{lst(report['highlight'], 'highlight')}
<p class="sum">Skimmed: {e(skimmed)}</p>
<h2>Timeline</h2>{svg}
<h2>The text, coloured by {e(METRICS.get(metric, metric))}</h2>
{''.join(rows)}
<h2>What this is</h2><ul class="muted">{notes}</ul>
</body></html>
"""


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _snip(s: str, n: int = 90) -> str:
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


def _timeline_svg(report: Mapping[str, Any]) -> str:
    tl = report["timeline"]
    n = max(1, len(report["paragraphs"]))
    if not tl:
        return "<p class='muted'>No frames.</p>"
    W, H, pad = 720, 200, 30
    T = max(1, tl[-1]["t"])

    def x(t):
        return pad + (W - 2 * pad) * t / T

    def y(v):
        return H - pad - (H - 2 * pad) * v

    def line(key, colour):
        pts = [(x(b["t"]), y(b[key])) for b in tl if b.get(key) is not None]
        if len(pts) < 2:
            return ""
        d = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{d}"/>'

    ppts = [(x(b["t"]), y(1 - (b["paragraph"] + 0.5) / n)) for b in tl if b["paragraph"] is not None]
    pline = ("<polyline fill='none' stroke='#333' stroke-width='2' points='"
             + " ".join(f"{px:.1f},{py:.1f}" for px, py in ppts) + "'/>") if len(ppts) > 1 else ""
    legend = ("<text x='30' y='16' font-size='11' font-family='sans-serif'>"
              "<tspan fill='#333'>■ paragraph (top = first)</tspan> <tspan fill='#2a9d8f'>■ attention</tspan> "
              "<tspan fill='#e76f51'>■ confusion cues</tspan> <tspan fill='#e9c46a'>■ interest cues</tspan> "
              "<tspan fill='#7b61ff'>■ fatigue</tspan></text>")
    axis = (f"<text x='{pad}' y='{H - 8}' font-size='11' font-family='sans-serif'>0 s</text>"
            f"<text x='{W - pad}' y='{H - 8}' font-size='11' text-anchor='end' font-family='sans-serif'>{T} s</text>")
    return (f'<svg viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="timeline">'
            f"{legend}{axis}{pline}{line('attention', '#2a9d8f')}{line('confusion', '#e76f51')}"
            f"{line('interest', '#e9c46a')}{line('fatigue', '#7b61ff')}</svg>")


# --------------------------------------------------------------------------- storage

class ReportStore:
    """Reports on the user's machine: <root>/<text hash>/text.json and <report id>.json."""

    def __init__(self, root):
        from pathlib import Path

        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _check(key: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{8,64}", key or ""):
            raise KeyError(key)
        return key

    def save_text(self, doc: Document) -> str:
        d = self.root / doc.hash
        d.mkdir(exist_ok=True)
        p = d / "text.json"
        if not p.exists():
            p.write_text(json.dumps(doc.to_dict(), ensure_ascii=False), encoding="utf-8")
        return doc.hash

    def text(self, text_hash: str) -> Document:
        p = self.root / self._check(text_hash) / "text.json"
        if not p.exists():
            raise KeyError(text_hash)
        return Document.from_dict(json.loads(p.read_text(encoding="utf-8")))

    def texts(self) -> List[dict]:
        out = []
        for d in sorted(self.root.iterdir()):
            if (d / "text.json").exists():
                doc = json.loads((d / "text.json").read_text(encoding="utf-8"))
                out.append({"hash": d.name, "title": doc.get("title"), "paragraphs": len(doc["paragraphs"]),
                             "reports": len([f for f in d.glob("*.json") if f.name != "text.json"]),
                             "mtime": d.stat().st_mtime})
        return sorted(out, key=lambda x: -x["mtime"])

    def save_report(self, report: dict) -> str:
        h = self._check(report["text"]["hash"])
        d = self.root / h
        d.mkdir(exist_ok=True)
        if not (d / "text.json").exists():
            self.save_text(Document.from_dict(report["text"]))
        rid = hashlib.sha1(f"{h}{time.time_ns()}{report.get('reader')}".encode()).hexdigest()[:12]
        report = dict(report, id=rid)
        body = {k: v for k, v in report.items() if k != "text"}
        body["text_hash"] = h
        (d / f"{rid}.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        return rid

    def report(self, text_hash: str, rid: str) -> dict:
        p = self.root / self._check(text_hash) / f"{self._check(rid)}.json"
        if not p.exists():
            raise KeyError(rid)
        body = json.loads(p.read_text(encoding="utf-8"))
        body["text"] = self.text(text_hash).to_dict()
        return body

    def reports(self, text_hash: str) -> List[dict]:
        d = self.root / self._check(text_hash)
        out = []
        for f in sorted(d.glob("*.json")) if d.exists() else []:
            if f.name == "text.json":
                continue
            out.append(json.loads(f.read_text(encoding="utf-8")))
        out.sort(key=lambda r: r.get("started") or 0)
        return out

    def delete_report(self, text_hash: str, rid: str) -> None:
        p = self.root / self._check(text_hash) / f"{self._check(rid)}.json"
        if not p.exists():
            raise KeyError(rid)
        p.unlink()


# --------------------------------------------------------------------------- samples

def samples_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent / "web" / "samples"


def sample_texts() -> List[dict]:
    """The sample texts shipped in the package: [{name, title, doc}]."""
    out = []
    for p in sorted(samples_dir().glob("*.*")):
        if p.suffix.lower() not in (".txt", ".md", ".html"):
            continue
        doc = parse_text(p.read_bytes(), p.name)
        out.append({"name": p.stem, "title": doc.title, "doc": doc})
    return out
