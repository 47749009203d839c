"""The live page shows the strongest blendshapes of the first face as bars (issue 15)."""
from __future__ import annotations

import pytest

from facial_feedback.types import BLENDSHAPE_NAMES

from .conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_live_page_shows_the_strongest_blendshapes(page, live_server):
    page.goto(live_server.url + "/")
    page.click("#start")
    page.wait_for_selector('#stage[data-faces="1"]', timeout=30000)
    page.wait_for_selector("#blendshapes:not([hidden]) .bs-bar", timeout=30000)
    bars = page.eval_on_selector_all(
        "#bs-bars .bs-bar", "els => els.map(e => [e.dataset.name, parseFloat(e.firstChild.style.width)])")
    assert len(bars) == 5
    names = [n for n, _ in bars]
    assert all(n in BLENDSHAPE_NAMES and n != "_neutral" for n in names), names
    widths = [w for _, w in bars]
    assert widths == sorted(widths, reverse=True) and 0 < widths[0] <= 100
    # the bars are the server's numbers: the strongest in the last result
    top = page.evaluate("""() => { const f = window.ffLive.lastResult().faces[0];
        return Object.entries(f.blendshapes).filter(kv => kv[0] !== '_neutral').sort((a, b) => b[1] - a[1])[0]; }""")
    assert top[0] in BLENDSHAPE_NAMES and 0.0 <= top[1] <= 1.0
    assert "mouth" in page.inner_text("#blendshapes") or "eye" in page.inner_text("#blendshapes") \
        or "brow" in page.inner_text("#blendshapes") or "jaw" in page.inner_text("#blendshapes")
    shot(page, "live-blendshapes")
    page.click("#stop")
    assert not page.js_errors, page.js_errors
