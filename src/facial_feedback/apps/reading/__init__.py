"""Reading feedback: which paragraph was read how, from the FrameResults of a live camera session.

    from facial_feedback.apps.reading import parse_text, ReadingSession, report_html

    doc = parse_text(raw_bytes, "essay.html")           # -> Document (paragraphs, title, hash)
    rs = ReadingSession(doc, reader="Ann")
    for fr in frames:                                   # FrameResult with fr.session (a live session's)
        rs.update(fr, paragraph=index_on_the_page)      # the paragraph the page says is being read
    report = rs.report()                                # a plain dict (JSON-ready)
    html = report_html(report)                          # a standalone page, no script

The page tells which paragraph is being read (the one under the gaze when the gaze is calibrated,
else the one at the reading position in the viewport); everything else comes from the camera
session: face present, on screen, eye closure, brows, head tilt, smile, face size, fatigue state
and the events (look-aways, blinks, frowns, smiles) of facial_feedback.signals.

One module per job: text (parsing, the sample texts), records (a frame's record, the thresholds),
session (per-frame records), report (the
aggregation), render (the standalone HTML page, from templates/report.html), store (files on disk).
These are inferences from the face with known limits, never a diagnosis; the report says how much
data each value rests on.
"""
from .render import report_html
from .report import METRIC_HELP, METRICS, NOTES, build_report, metric_value
from .records import ReadingConfig, Rec
from .session import ReadingSession
from .store import ReportStore
from .text import (MAX_PARAGRAPHS, MAX_TEXT_BYTES, READING_WPM, Document, Paragraph, parse_text,
                   paragraphs_from_html, paragraphs_from_markdown, paragraphs_from_plain, sample_texts,
                   samples_dir)

__all__ = ["Document", "MAX_PARAGRAPHS", "MAX_TEXT_BYTES", "METRIC_HELP", "METRICS", "NOTES", "Paragraph", "READING_WPM",
           "ReadingConfig", "ReadingSession", "Rec", "ReportStore", "build_report", "metric_value",
           "paragraphs_from_html", "paragraphs_from_markdown", "paragraphs_from_plain", "parse_text",
           "report_html", "sample_texts", "samples_dir"]
