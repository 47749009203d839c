"""The report as one standalone HTML page (templates/report.html: inline CSS and SVG, no script,
no links out), to download and keep. The web app's own report page is web/templates/reading_report.html."""
from __future__ import annotations

import html as _html
import time
from pathlib import Path
from string import Template
from typing import Any, Mapping, Optional

from .report import METRIC_HELP, METRICS, metric_value

_TEMPLATE = Path(__file__).resolve().parent / "templates" / "report.html"


def _heat(v: Optional[float], hue: int = 18) -> str:
    if v is None:
        return "transparent"
    a = max(0.0, min(1.0, float(v)))
    return f"hsla({hue}, 85%, 55%, {0.08 + 0.55 * a:.2f})"


def report_html(report: Mapping[str, Any], metric: str = "confusion") -> str:
    """The report as one self-contained HTML page (inline CSS and SVG; no script, no links out)."""
    e = _html.escape
    text = report["text"]
    s = report["summary"]
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(report["started"])) if report.get("started") else ""
    return Template(_TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=e(text["title"]), reader=e(report.get("reader") or "anonymous"), when=e(when),
        duration=report["duration_s"], position_source=e(report["position_source"]),
        attention=_pct(s["attention"]), face_seen=_pct(s["face_seen_share"]), text_hash=e(text["hash"]),
        rewrite=_passage_list(report["rewrite"], text), highlight=_passage_list(report["highlight"], text),
        skimmed=e(", ".join(f"¶{i + 1}" for i in report["skimmed"]) or "none"),
        timeline=_timeline_svg(report),
        metric=e(METRICS.get(metric, metric)), legend=e(METRIC_HELP.get(metric, metric)),
        paragraphs="".join(_paragraph_rows(report, metric)),
        notes="".join(f"<li>{e(n)}</li>" for n in report["notes"]))


def _paragraph_rows(report: Mapping[str, Any], metric: str):
    e = _html.escape
    for p, tp in zip(report["paragraphs"], report["text"]["paragraphs"]):
        if tp.get("kind") == "heading":     # a section heading: not read as a paragraph
            yield f'<div class="para"><h3>{e(tp["text"])}</h3></div>'
            continue
        v = metric_value(p, metric)
        tag = "p"
        badges = (f"{p['time_s']:.1f} s · pace {p['pace'] or 0:.1f}x · re-reads {p['rereads']} · look-aways "
                  f"{p['look_aways']} · on the text {_pct(p['attention'])} · confusion {_pct(p['confusion'])} · "
                  f"interest {_pct(p['interest'])} · fatigue {_pct(p['fatigue'])} · confidence {_pct(p['confidence'])}")
        flag = " skimmed" if p["skimmed"] else ""
        yield (f'<div class="para{flag}" style="background:{_heat(v)}"><{tag}>{e(tp["text"])}</{tag}>'
               f'<div class="meta">¶{p["index"] + 1} · {e(badges)}</div></div>')


def _passage_list(items, text: Mapping[str, Any]) -> str:
    e = _html.escape
    if not items:
        return "<p class='muted'>None.</p>"
    return "<ol>" + "".join(
        f"<li><b>¶{it['index'] + 1}</b> “{e(_snip(text['paragraphs'][it['index']]['text']))}” — "
        f"{e('; '.join(it['why']))}</li>" for it in items) + "</ol>"


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

