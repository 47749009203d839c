"""Bad input: each gets a clear reason; good-but-unusual images decode upright as RGB."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from facial_feedback.io import ImageError, VideoError, iter_frames, load_image, probe_video

from .conftest import media


def _png(img: Image.Image, **kw) -> bytes:
    b = io.BytesIO()
    img.save(b, format="PNG", **kw)
    return b.getvalue()


def _jpeg(img: Image.Image, **kw) -> bytes:
    b = io.BytesIO()
    img.save(b, format="JPEG", **kw)
    return b.getvalue()


@pytest.fixture(scope="module")
def astro_pil(astronaut):
    return Image.fromarray(astronaut)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(p)


def test_text_named_jpg(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("this is not a picture\n")
    with pytest.raises(ImageError, match="not an image"):
        load_image(p)


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_truncated(tmp_path, astro_pil, fmt):
    data = _jpeg(astro_pil) if fmt == "jpeg" else _png(astro_pil)
    p = tmp_path / f"cut.{fmt}"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated|corrupt"):
        load_image(p)


def test_sixteen_bit_grey(astronaut):
    grey16 = (astronaut.mean(2) * 257).astype(np.uint16)
    rgb = load_image(_png(Image.fromarray(grey16)))
    assert rgb.dtype == np.uint8 and rgb.shape == astronaut.shape
    # scaled, not clipped: the brightest pixels stay bright and the range is used
    assert rgb.max() >= 250 and rgb.min() <= 5


def test_rgba_palette_grey_cmyk(astro_pil, astronaut):
    rgba = astro_pil.convert("RGBA")
    a = np.array(rgba)
    a[:10, :10, 3] = 0  # transparent corner shows as white
    out = load_image(_png(Image.fromarray(a)))
    assert out.shape == astronaut.shape and (out[:10, :10] == 255).all()
    assert load_image(_png(astro_pil.convert("P"))).shape == astronaut.shape
    g = load_image(_png(astro_pil.convert("L")))
    assert g.shape == astronaut.shape and (g[..., 0] == g[..., 1]).all()
    cmyk = load_image(_jpeg(astro_pil.convert("CMYK")))
    assert cmyk.shape == astronaut.shape
    assert np.abs(cmyk.astype(int) - astronaut.astype(int)).mean() < 25


def test_exif_rotation_is_applied(astro_pil, astronaut):
    # A phone stores the sensor's pixels sideways plus "rotate 90 CW to view" (orientation 6).
    sideways = astro_pil.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb = load_image(_jpeg(sideways, exif=exif.tobytes(), quality=95))
    assert rgb.shape == astronaut.shape
    assert np.abs(rgb.astype(int) - astronaut.astype(int)).mean() < 8


def test_decompression_bomb_refused_before_decoding(tmp_path):
    # 12000 x 8000 = 96 MP of a single colour compresses to a few kB.
    p = tmp_path / "bomb.png"
    Image.new("1", (12000, 8000)).save(p)
    assert p.stat().st_size < 200_000
    with pytest.raises(ImageError, match="refused"):
        load_image(p)


def test_array_inputs(astronaut):
    assert load_image(astronaut).shape == astronaut.shape
    assert load_image(astronaut.mean(2).astype(np.uint8)).shape == astronaut.shape
    with pytest.raises(ImageError):
        load_image(np.zeros((4, 4, 7), np.uint8))


def test_corrupt_and_empty_video(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    with pytest.raises(VideoError):
        list(iter_frames(bad))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        probe_video(empty)


def test_zero_frame_video(tmp_path):
    import cv2

    p = tmp_path / "zero.avi"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    w.release()
    with pytest.raises(VideoError):
        list(iter_frames(p))


def test_iter_frames_timestamps_and_every():
    path = media("single_face.mp4")
    frames = [(i, t) for i, t, _ in iter_frames(path)]
    assert len(frames) == 72
    ts = [t for _, t in frames]
    assert all(b > a for a, b in zip(ts, ts[1:]))
    every3 = [i for i, _, _ in iter_frames(path, every=3)]
    assert every3 == list(range(0, 72, 3))


@pytest.mark.parametrize("shape", [(360, 640, 3), (1080, 1920, 3), (7, 9, 3), (481, 641, 3)])
def test_bgr_to_rgb_in_strips_equals_one_cvtcolor(shape):
    """io.bgr_to_rgb converts in strips (so OpenCV wakes no worker thread): the same array as
    one cv2.cvtColor, for small, odd-sized, large and non-contiguous frames."""
    import cv2

    from facial_feedback.io import bgr_to_rgb

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, size=shape, dtype=np.uint8)
    np.testing.assert_array_equal(bgr_to_rgb(a), cv2.cvtColor(a, cv2.COLOR_BGR2RGB))
    view = a[:, ::2]   # not contiguous
    np.testing.assert_array_equal(bgr_to_rgb(view), cv2.cvtColor(np.ascontiguousarray(view), cv2.COLOR_BGR2RGB))
