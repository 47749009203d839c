"""Shared fixtures: the real models, loaded once per test run, and the shared media."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MEDIA = SHARED / "media"
DATASETS = SHARED / "datasets"


def media(name: str) -> Path:
    """Path of a file in ../shared/media, or skip the test naming what is missing."""
    p = MEDIA / name
    if not p.exists():
        pytest.skip(f"needs {p} (the shared media folder beside the checkout)")
    return p


@pytest.fixture(scope="session")
def analyzer():
    from facial_feedback.pipeline import Analyzer

    a = Analyzer()
    yield a
    a.close()


@pytest.fixture(scope="session")
def astronaut():
    from skimage import data

    return data.astronaut()
