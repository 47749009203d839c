"""Reading feedback: text parsing/sanitising, and the per-paragraph aggregation fed by per-frame
results (synthetic meshes through the real SignalSession, as the camera session produces them)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from facial_feedback.apps.reading import (Document, ReadingSession, ReportStore, parse_text, report_html,
                                          sample_texts)
from tests import synthetic as S


def test_html_is_reduced_to_text_and_never_kept():
    raw = b"""<html><head><title>T</title><script>alert('x')</script><style>p{}</style></head><body>
    <h1>Head</h1><p onclick="evil()">One <b>bold</b> &amp; <a href="javascript:x">link</a>.</p>
    <iframe src="http://example.com">inner</iframe><div>Two<br>lines</div><ul><li>item</li></ul>
    <img src=x onerror=alert(1)><svg><script>alert(2)</script><text>svgtext</text></svg></body></html>"""
    doc = parse_text(raw, "page.html")
    texts = [p.text for p in doc.paragraphs]
    assert texts == ["Head", "One bold & link.", "Two lines", "item"]
    assert [p.kind for p in doc.paragraphs] == ["heading", "p", "p", "item"]
    assert doc.title == "T"
    blob = json.dumps(doc.to_dict())
    for bad in ("script", "alert", "onclick", "javascript", "iframe", "svgtext", "<"):
        assert bad not in blob


def test_markdown_and_plain_text():
    md = "# Title\n\nSome *emphasis* and a [link](http://x.y).\nSame paragraph.\n\n- a\n- b\n\n> quoted\n> more\n"
    doc = parse_text(md, "x.md")
    # the title heading is the document's title, not its first paragraph (issue 19)
    assert doc.title == "Title"
    assert [(p.kind, p.text) for p in doc.paragraphs] == [
        ("p", "Some emphasis and a link. Same paragraph."), ("item", "a"), ("item", "b"), ("quote", "quoted more")]
    # a heading inside the text stays, and so does a first heading that is not the title
    doc3 = parse_text("# Title\n\nIntro.\n\n## Part two\n\nMore.", "y.md")
    assert [(p.kind, p.text) for p in doc3.paragraphs] == [("p", "Intro."), ("heading", "Part two"), ("p", "More.")]
    assert [p.kind for p in parse_text("# Head\n\nBody.", "z.md", title="Other").paragraphs] == ["heading", "p"]
    plain = parse_text("A Short Title\n\nThe first paragraph.\n\nThe second.", "t.txt")
    assert plain.title == "A Short Title" and [p.text for p in plain.paragraphs] == ["The first paragraph.", "The second."]
    doc2 = parse_text("First para\nwraps.\n\n\nSecond.\r\n\r\nThird.", "a.txt")
    assert [p.text for p in doc2.paragraphs] == ["First para wraps.", "Second.", "Third."]
    # the hash ignores whitespace differences
    assert parse_text("First para   wraps.\n\nSecond.\n\nThird.", "b.txt").hash == doc2.hash
    with pytest.raises(ValueError):
        parse_text("x", "a.pdf")
    with pytest.raises(ValueError):
        parse_text("   \n\n ", "a.txt")


def test_samples_are_shipped():
    s = sample_texts()
    assert len(s) >= 3
    for x in s:
        assert len(x["doc"].paragraphs) >= 5
        assert "alert" not in json.dumps(x["doc"].to_dict())


# ---- aggregation ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mesh():
    from tests import synthetic

    return synthetic.reference_mesh()


def _scaled(lm, k):
    c = lm.mean(axis=0)
    return (lm - c) * k + c


def test_reading_session_per_paragraph(mesh):
    """A scripted reading: paragraph 2 with a look-away, 3 with lowered brows and a re-read,
    5 leaning in, 6 skimmed. Frames go through the real SignalSession first."""
    from facial_feedback.signals import SignalSession
    from tests import synthetic as S

    doc = Document("t", tuple(parse_text("\n\n".join(
        " ".join(["word"] * n) + "." for n in (20, 20, 20, 20, 20, 20, 60)), "a.txt").paragraphs))
    # (paragraph, seconds, what)
    script = [(0, 5, "read"), (1, 5, "read"), (2, 6, "look"), (3, 6, "frown"), (4, 4, "read"),
              (3, 4, "frown"), (4, 2, "read"), (5, 5, "lean"), (6, 1.0, "read")]
    fps = 15
    lowered = S.lower_brows(mesh, 0.03)
    lean = _scaled(mesh, 1.15)
    plan = []
    t = 0.0
    for p, secs, what in script:
        plan.append((t, t + secs, p, what))
        t += secs
    total = t

    def what_at(t):
        return next(((p, w, a) for a, b, p, w in plan if a <= t < b), plan[-1][2:4] + (plan[-1][0],))

    def mesh_at(t):
        p, w, a = what_at(t)
        return {"frown": lowered, "lean": lean}.get(w, mesh)

    def pose_at(t):
        p, w, a = what_at(t)
        # a 3 s head turn in the middle of paragraph 2
        return (60.0 if (w == "look" and 1.5 <= t - a < 4.5) else 0.0, 0.0, 0.0)

    frames = S.frames(fps, total, mesh_at, pose_at)
    sig = SignalSession()
    rs = ReadingSession(doc, reader="test")
    for fr in frames:
        from dataclasses import replace
        fr = replace(fr, session=sig.update(fr))
        rs.update(fr, paragraph=what_at(fr.timestamp)[0])
    rep = rs.report()
    ps = rep["paragraphs"]
    assert len(ps) == 7 and all(p["read"] for p in ps)
    assert [round(p["time_s"]) for p in ps] == [5, 5, 6, 10, 6, 5, 1]
    assert ps[3]["visits"] == 2 and ps[3]["rereads"] == 1
    assert ps[4]["rereads"] == 1 and sum(p["rereads"] for p in ps) == 2
    # look-away in paragraph 2: attention dropped there, counted once
    assert ps[2]["look_aways"] == 1
    assert ps[2]["attention"] < 0.75 and ps[2]["attention_drop"] > 0.1
    assert all(ps[i]["attention"] == pytest.approx(1.0) for i in (0, 1, 3, 5))
    # confusion cues (lowered brows) in paragraph 3 only
    assert ps[3]["cues"]["brow"] > 0.8 and ps[3]["confusion"] > 0.4
    assert max(ps[i]["confusion"] for i in (0, 1, 4, 5)) < 0.1
    # leaning in = interest in paragraph 5
    assert ps[5]["cues"]["lean"] > 0.8 and ps[5]["interest"] > 0.4
    assert [h["index"] for h in rep["highlight"]] == [5]
    # paragraph 6 (60 words in 1 s) was skimmed
    assert ps[6]["skimmed"] and rep["skimmed"] == [6]
    # worth rewriting: the confusing, re-read paragraph comes first; its reasons say why
    assert rep["rewrite"][0]["index"] == 3
    why = " ".join(rep["rewrite"][0]["why"])
    assert "re-read 1 time" in why and "brows lowered" in why
    assert any(r["index"] == 2 and "attention dropped" in " ".join(r["why"]) for r in rep["rewrite"])
    # a timeline of one point per second, paragraph by paragraph
    assert len(rep["timeline"]) == int(np.ceil(total))
    assert rep["timeline"][0]["paragraph"] == 0 and rep["timeline"][-1]["paragraph"] == 6
    # the standalone page holds the text (escaped) and no script
    html = report_html(rep)
    assert "<script" not in html and "word word" in html and "Worth rewriting" in html
    json.dumps(rep)


def test_no_face_and_unread_paragraphs():
    doc = parse_text("One two three.\n\nFour five six.\n\nSeven.", "a.txt")
    rs = ReadingSession(doc)
    for i in range(30):
        rs.update(S.frame(i / 10), paragraph=0)
    rep = rs.report()
    p = rep["paragraphs"]
    assert p[0]["time_s"] == pytest.approx(2.9) and p[0]["attention"] == 0.0 and p[0]["confidence"] == 0.0
    assert not p[1]["read"] and p[1]["skim"] == 1.0 and p[1]["attention"] is None
    with pytest.raises(ValueError):
        rs.set_paragraph(3)


def test_report_store_keys_by_text_hash(tmp_path):
    doc = parse_text("Alpha beta.\n\nGamma.", "a.txt")
    store = ReportStore(tmp_path)
    ids = []
    for reader in ("A", "B"):
        rs = ReadingSession(doc, reader=reader)
        rs.update(S.frame(0.0, session=False), paragraph=0)
        rs.update(S.frame(1.0, session=False), paragraph=1)
        ids.append(store.save_report(rs.report()))
    assert [r["reader"] for r in store.reports(doc.hash)] == ["A", "B"]
    assert store.report(doc.hash, ids[1])["text"]["paragraphs"][1]["text"] == "Gamma."
    assert store.texts()[0]["reports"] == 2
    with pytest.raises(KeyError):
        store.report("../../etc", ids[0])
    store.delete_report(doc.hash, ids[0])
    assert len(store.reports(doc.hash)) == 1


def test_a_long_eye_closure_is_not_reading():
    doc = parse_text("One two three.\n\nFour five six.", "a.txt")
    rs = ReadingSession(doc)
    face = S.face(track_id=1, signals=S.steady_signals(quality=1.0))
    for i in range(40):
        t = i / 10
        started = [S.event("eye_closure", 1, 1.0)] if i == 20 else []
        ended = [S.event("eye_closure", 1, 1.0, 2.5)] if i == 35 else []
        tr = S.track(1, on_screen=None if 10 <= i < 35 else True, eyes_closed=10 <= i < 35)
        rs.update(S.frame(t, [face], started, ended, [tr]), paragraph=0)
    p = rs.report()["paragraphs"][0]
    # 1.0-2.0 s: eyes closing, not yet a confirmed closure (unknown, skipped); 2.0-3.5 s: shut = not reading
    assert p["attention"] == pytest.approx(1.4 / 2.9, abs=0.02)
