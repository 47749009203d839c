"""The two uses of the analysis, a layer above the pipeline: each consumes the FrameResults of a
live session (facial_feedback.types) and knows nothing of the web.

- apps.reading: feedback on a text, paragraph by paragraph, while someone reads it;
- apps.wellbeing: break suggestions from fatigue, attention and tension at a screen.

Their pages live in facial_feedback.web (reading_pages, wellbeing_pages).
"""
