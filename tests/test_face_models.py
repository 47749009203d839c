"""The face models on LiteRT (issue 15): the vendored files, the pure pre/post-processing
(anchors, decoding, weighted NMS, letterbox, ROIs), tracking and the 52 blendshapes, on real
faces with the real models."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math

import cv2
import numpy as np
import pytest

from facial_feedback import detection as D
from facial_feedback import landmarks as L
from facial_feedback.blendshapes import MEANINGS, SUBSET, model_input, strongest
from facial_feedback.io import iter_frames, load_image
from facial_feedback.types import BLENDSHAPE_NAMES, CSV_BLENDSHAPE_COLUMNS, Box, Face, FrameResult, csv_columns, csv_rows

from .conftest import media


# ---------------------------------------------------------------- the vendored files
def test_vendored_models_match_their_manifest():
    from facial_feedback._litert import BLENDSHAPE_MODEL, DETECTOR_MODEL, LANDMARK_MODEL, MODELS_DIR

    manifest = json.loads((MODELS_DIR / "face_models.json").read_text())["models"]
    assert set(manifest) == {DETECTOR_MODEL, LANDMARK_MODEL, BLENDSHAPE_MODEL}
    for name, m in manifest.items():
        assert hashlib.sha256((MODELS_DIR / name).read_bytes()).hexdigest() == m["sha256"], name
    assert (MODELS_DIR / "LICENSE-face-models-Apache-2.0.txt").read_text().lstrip().startswith("Apache License")


def test_no_mediapipe_protobuf_pin_or_gui_opencv_in_the_runtime_dependencies():
    from pathlib import Path

    req = (Path(__file__).resolve().parents[1] / "requirements.txt").read_text().lower()
    for bad in ("mediapipe", "protobuf", "jax", "opencv-python==", "opencv-contrib-python"):
        assert bad not in req, bad
    assert "ai-edge-litert" in req and "opencv-python-headless" in req


# ---------------------------------------------------------------- detector maths
def test_ssd_anchors():
    a = D.ssd_anchors()
    assert a.shape == (2304, 2)
    assert a[0] == pytest.approx([0.5 / 48, 0.5 / 48])
    assert a[1] == pytest.approx([1.5 / 48, 0.5 / 48])        # row by row: x varies first
    assert a[-1] == pytest.approx([47.5 / 48, 47.5 / 48])
    # BlazeFace short range: strides 8 (2 anchors a cell) and 16 (6 a cell) -> 896
    assert D.ssd_anchors(128, (8, 16), (2, 6)).shape == (896, 2)


def test_tile_origins_cover_the_side_without_a_near_repeat():
    for n in (300, 400, 572, 640, 960, 1080, 1920):
        xs = D.tile_origins(n, 384, 0.35)
        assert xs[0] == 0 and xs[-1] == max(0, n - 384)
        assert all(b - a < 384 for a, b in zip(xs, xs[1:]))             # no gap between tiles
        assert all(b - a > 0.05 * 384 for a, b in zip(xs[1:], xs[2:]))    # no tile repeats another
    assert D.tile_origins(640, 384, 0.35) == [0, 256]      # not 0, 249, 256: 249 adds nothing
    assert D.tile_origins(1920, 384, 0.35) == [0, 249, 498, 747, 996, 1245, 1494, 1536]


def test_decode_detections_one_anchor():
    anchors = D.ssd_anchors()
    raw = np.zeros((2304, 16), np.float32)
    logits = np.full(2304, -10.0, np.float32)
    k = 48 * 10 + 20                      # the anchor at cell (x 20, y 10)
    raw[k, :4] = [9.6, -4.8, 38.4, 19.2]   # centre offset, size, in 192 px units
    raw[k, 4:6] = [1.92, 0.0]             # first keypoint 0.01 right of the anchor
    logits[k] = 2.0
    boxes, kps, scores = D.decode_detections(raw, logits, anchors, min_score=0.5)
    assert len(scores) == 1 and scores[0] == pytest.approx(1 / (1 + math.exp(-2)))
    cx, cy = anchors[k] + [0.05, -0.025]
    assert boxes[0] == pytest.approx([cx - 0.1, cy - 0.05, cx + 0.1, cy + 0.05], abs=1e-6)
    assert kps[0, 0] == pytest.approx(anchors[k] + [0.01, 0.0], abs=1e-6)
    # huge logits do not overflow
    logits[k] = 1e4
    assert D.decode_detections(raw, logits, anchors)[2][0] == pytest.approx(1.0)


def test_weighted_nms_merges_overlaps_and_keeps_the_rest():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [3.0, 3.0, 4.0, 4.0]])
    kps = np.zeros((3, 6, 2))
    kps[1] += 1.0
    scores = np.array([0.6, 0.9, 0.7])
    b, k, s = D.weighted_nms(boxes, kps, scores, iou=0.3)
    assert list(s) == pytest.approx([0.9, 0.7])                  # best first, scored as the best
    w = np.array([0.9, 0.6]) / 1.5
    assert b[0] == pytest.approx(w[0] * boxes[1] + w[1] * boxes[0])
    assert k[0, 0, 0] == pytest.approx(w[0])
    assert b[1] == pytest.approx(boxes[2])
    e = D.weighted_nms(np.zeros((0, 4)), np.zeros((0, 6, 2)), np.zeros(0))
    assert len(e[2]) == 0


def test_letterbox_maps_points_back():
    img = np.zeros((100, 200, 3), np.uint8)
    img[40:60, 150:170] = 255                     # a white square at x 150-170, y 40-60
    t, scale, px, py = D.letterbox(img, 192)
    assert t.shape == (192, 192, 3) and t.dtype == np.float32
    assert scale == pytest.approx(0.96) and px == 0 and py == pytest.approx(48)
    assert t[0, 0, 0] == -1.0 and t.max() == pytest.approx(1.0)   # black bars, range [-1, 1]
    ys, xs = np.nonzero(t[..., 0] > 0.5)
    assert (xs.mean() - px) / scale == pytest.approx(160, abs=1.5)
    assert (ys.mean() - py) / scale == pytest.approx(50, abs=1.5)
    # with a border: the same as padding the image first, without the copy
    t2, s2, px2, py2 = D.letterbox(img, 192, border=50)
    padded = cv2.copyMakeBorder(img, 50, 50, 50, 50, cv2.BORDER_CONSTANT)
    t3, s3, px3, py3 = D.letterbox(padded, 192)
    assert s2 == pytest.approx(s3) and px2 == pytest.approx(px3 + 50 * s3) and py2 == pytest.approx(py3 + 50 * s3)
    assert np.abs(t2 - t3).max() < 0.02


# ---------------------------------------------------------------- ROIs
def test_roi_from_detection_uses_the_eye_line():
    b = Box(100, 100, 40, 50)
    r = L.roi_from_detection(b, ((110, 120), (130, 120)))
    assert (r.cx, r.cy, r.size, r.angle) == pytest.approx((120, 125, 75, 0.0))
    r = L.roi_from_detection(b, ((110, 120), (130, 140)))          # left eye lower: tilted clockwise
    assert r.angle == pytest.approx(math.pi / 4)
    assert L.roi_from_detection(b).angle == 0.0


def test_roi_from_detection_squared_or_not(monkeypatch):
    b = Box(100, 100, 40, 50)
    assert L.SQUARE_DETECTION_ROI                                    # the default: squared
    r = L.roi_from_detection(b)
    assert (r.size, r.h, r.height) == pytest.approx((75, 75, None))
    r = L.roi_from_detection(b, ((110, 120), (130, 140)))
    assert (r.cx, r.cy, r.size, r.h, r.angle) == pytest.approx((120, 125, 75, 75, math.pi / 4))
    monkeypatch.setattr(L, "SQUARE_DETECTION_ROI", False)            # the switch bench_parity's variant sets
    r = L.roi_from_detection(b, ((110, 120), (130, 140)))
    assert (r.cx, r.cy, r.size, r.h, r.angle) == pytest.approx((120, 125, 60, 75, math.pi / 4))


def test_unsquared_roi_maps_crop_corners_to_its_corners():
    roi = L.Roi(300.0, 200.0, 60.0, math.radians(30), 90.0)          # 60 wide, 90 high, tilted
    M = L.roi_transform(roi)
    c, s = math.cos(roi.angle), math.sin(roi.angle)
    for u, v, du, dv in ((0, 0, -30, -45), (256, 0, 30, -45), (256, 256, 30, 45), (0, 256, -30, 45)):
        want = [300 + du * c - dv * s, 200 + du * s + dv * c]          # the rotated rectangle's corner
        assert M @ [u, v, 1] == pytest.approx(want, abs=1e-6)
    out = L.project_landmarks(np.array([[128, 128, 10.0]]), roi)
    assert out[0] == pytest.approx([300, 200, 10.0 * 60 / 256])     # z scaled by the width
    img = np.zeros((400, 400, 3), np.uint8)
    img[170:231, 290:311] = 255                     # a bar 20 wide, 60 high (pixel centres) at (300, 200)
    crop = L.crop_roi(img, L.Roi(300.0, 200.0, 60.0, 0.0, 90.0))
    ys, xs = np.nonzero(crop[..., 0] > 128)
    assert xs.mean() == pytest.approx(128, abs=2) and ys.mean() == pytest.approx(128, abs=2)
    assert xs.max() - xs.min() == pytest.approx(256 * 20 / 60, abs=5)   # stretched to the square
    assert ys.max() - ys.min() == pytest.approx(256 * 60 / 90, abs=5)


def _rotate(pts, angle, c):
    R = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    out = pts.copy()
    out[:, :2] = (pts[:, :2] - c) @ R.T + c
    return out


def test_roi_from_landmarks_follows_rotation(astronaut_mesh):
    r0 = L.roi_from_landmarks(astronaut_mesh)
    c = np.array([r0.cx, r0.cy])
    for deg in (-40, 15, 60):
        r = L.roi_from_landmarks(_rotate(astronaut_mesh, math.radians(deg), c))
        assert math.degrees(r.angle - r0.angle) == pytest.approx(deg, abs=0.01)
        assert r.size == pytest.approx(r0.size, rel=1e-6)          # measured in the face's own frame
        assert (r.cx, r.cy) == pytest.approx((r0.cx, r0.cy), abs=1e-3)


def test_roi_transform_and_projection_are_inverse():
    roi = L.Roi(300.0, 200.0, 128.0, math.radians(30))
    M = L.roi_transform(roi)
    assert M @ [128, 128, 1] == pytest.approx([300, 200])           # crop centre -> ROI centre
    pts = np.array([[128, 128, 10.0], [256, 128, 0.0]])
    out = L.project_landmarks(pts, roi)
    assert out[0] == pytest.approx([300, 200, 5.0])                 # z scaled like x and y
    assert out[1, :2] == pytest.approx([300 + 64 * math.cos(math.radians(30)), 200 + 64 * math.sin(math.radians(30))], abs=1e-4)


def test_crop_roi_samples_the_roi():
    img = np.zeros((400, 400, 3), np.uint8)
    img[190:210, 290:310] = 255                     # white patch at (300, 200)
    crop = L.crop_roi(img, L.Roi(300.0, 200.0, 100.0, 0.7))
    assert crop.shape == (256, 256, 3)
    ys, xs = np.nonzero(crop[..., 0] > 128)
    assert xs.mean() == pytest.approx(128, abs=2) and ys.mean() == pytest.approx(128, abs=2)
    # a big ROI is shrunk first: still centred
    crop = L.crop_roi(img, L.Roi(300.0, 200.0, 390.0, 0.0))
    ys, xs = np.nonzero(crop[..., 0] > 100)
    assert xs.mean() == pytest.approx(128, abs=2) and ys.mean() == pytest.approx(128, abs=2)


# ---------------------------------------------------------------- real faces
@pytest.fixture(scope="module")
def astronaut_mesh(analyzer, astronaut):
    (d,) = analyzer.detector.detect(astronaut)
    return analyzer.mesher.mesh_face(astronaut, d.box, d.keypoints)


def test_detections_carry_keypoints(analyzer, astronaut):
    (d,) = analyzer.detector.detect(astronaut)
    re, le, nose = d.keypoints[:3]
    assert re[0] < nose[0] < le[0]                 # subject's right eye on the image's left
    assert d.box.x < nose[0] < d.box.x + d.box.w and d.box.y < nose[1] < d.box.y + d.box.h


def test_mesh_of_a_rotated_face_reads_its_roll(analyzer, astronaut):
    """The ROI turns with the face: a photo turned 35 degrees still gets a mesh, roll follows."""
    base = L.head_pose(analyzer.mesher.mesh_face(astronaut, analyzer.detector.detect(astronaut)[0].box)).roll
    h, w = astronaut.shape[:2]
    for deg in (-35, 35):
        M = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)    # counter-clockwise for deg > 0
        img = cv2.warpAffine(astronaut, M, (w, h))
        dets = analyzer.detector.detect(img)
        assert len(dets) == 1
        lm = analyzer.mesher.mesh_face(img, dets[0].box, dets[0].keypoints)
        assert lm is not None
        assert L.head_pose(lm).roll - base == pytest.approx(-deg, abs=4)


def test_mesher_rejects_a_box_without_a_face(analyzer):
    from skimage import data

    img = data.coffee()
    assert analyzer.mesher.mesh_face(img, Box(100, 100, 120, 120)) is None


def test_tracker_follows_a_face_and_rarely_detects(analyzer):
    """VIDEO mode: after the first frame the ROI comes from the previous mesh; the detector
    runs only while fewer faces are followed than asked for."""
    tr = L.MeshTracker(max_faces=1)
    calls = []
    run = tr._detector.detect_pass
    tr._detector.detect_pass = lambda *a, **k: calls.append(1) or run(*a, **k)
    boxes = []
    for i, _, rgb in iter_frames(media("WolfgangLanger_Pexels.mp4")):
        if i >= 40:
            break
        found = tr.process(rgb)
        assert len(found) == 1 and found[0].shape == (478, 3)
        boxes.append(Box.from_points(found[0]))
    assert len(calls) <= 2, f"the detector ran on {len(calls)} of 40 frames"
    # the mesh moves with the face smoothly (no jumps between frames)
    assert max(abs(a.center[0] - b.center[0]) for a, b in zip(boxes, boxes[1:])) < 0.1 * boxes[0].w
    # and it agrees with meshing each frame from scratch
    rgb = next(f for i, _, f in iter_frames(media("WolfgangLanger_Pexels.mp4")) if i == 39)
    fresh = analyzer.analyze_image(rgb).faces[0].landmarks
    iod = np.linalg.norm(fresh[468, :2] - fresh[473, :2])
    assert np.linalg.norm(found[0][:, :2] - fresh[:, :2], axis=1).mean() < 0.03 * iod


def test_tracker_loses_a_face_that_leaves(analyzer):
    tr = L.MeshTracker(max_faces=1)
    n = [len(tr.process(rgb)) for i, _, rgb in iter_frames(media("face_noface.mov"))]
    assert n[0] == 1 and n[-1] == 0


# ---------------------------------------------------------------- blendshapes
def test_blendshape_names_and_meanings():
    assert len(BLENDSHAPE_NAMES) == 52 == len(set(BLENDSHAPE_NAMES))
    assert len(SUBSET) == 146 and len(set(SUBSET)) == 146 and max(SUBSET) == 477
    assert set(MEANINGS) == set(BLENDSHAPE_NAMES) and all(MEANINGS.values())
    assert "subject's left" in MEANINGS["eyeBlinkLeft"]
    with pytest.raises(ValueError):
        model_input(np.zeros((468, 3)))


def test_blendshapes_on_real_faces(analyzer, astronaut_mesh):
    bs = analyzer.blendshapes.predict(astronaut_mesh)
    assert tuple(bs) == BLENDSHAPE_NAMES and all(0.0 <= v <= 1.0 for v in bs.values())
    assert min(bs["mouthSmileLeft"], bs["mouthSmileRight"]) > 0.5      # she smiles
    assert max(bs["eyeBlinkLeft"], bs["eyeBlinkRight"]) < 0.3           # eyes open
    # invariant to where the face is and how big (the model normalises its input)
    moved = astronaut_mesh * 1.7 + np.array([50.0, -20.0, 0.0], np.float32)
    bs2 = analyzer.blendshapes.predict(moved)
    assert max(abs(bs[k] - bs2[k]) for k in bs) < 0.02
    assert analyzer.blendshapes.predict(None) is None


def test_blendshapes_see_closed_eyes_and_an_open_mouth(analyzer):
    """WolfgangLanger_Pexels.mp4: eyes shut at frame 60, open at 300 (hand count)."""
    got = {}
    for i, _, rgb in iter_frames(media("WolfgangLanger_Pexels.mp4")):
        if i in (60, 300):
            got[i] = analyzer.analyze_image(rgb).faces[0].blendshapes
        if i > 300:
            break
    for k in ("eyeBlinkLeft", "eyeBlinkRight"):
        assert got[60][k] > 0.5 > got[300][k]
    assert got[300]["jawOpen"] > got[60]["jawOpen"]    # laughing, mouth open, at 300


def test_blendshapes_in_json_csv_and_the_api(analyzer):
    fr = analyzer.analyze_image(load_image(media("single_face.jpg")))
    face = fr.faces[0]
    assert isinstance(face.blendshapes, dict) and tuple(face.blendshapes) == BLENDSHAPE_NAMES
    d = fr.to_dict()["faces"][0]
    assert list(d["blendshapes"]) == list(BLENDSHAPE_NAMES)
    assert d["blendshapes"]["mouthSmileLeft"] == round(face.blendshapes["mouthSmileLeft"], 3)
    assert [n for n, _ in strongest(face.blendshapes, 3)][0].startswith("mouthSmile")
    rows = csv_rows(fr)
    assert not any(c.startswith("bs_") for c in rows[0])             # optional columns: off by default
    rows = csv_rows(fr, blendshapes=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(csv_columns(blendshapes=True)))
    w.writeheader()
    w.writerows(rows)
    back = next(csv.DictReader(io.StringIO(buf.getvalue())))
    assert float(back["bs_mouthSmileLeft"]) == pytest.approx(face.blendshapes["mouthSmileLeft"], abs=1e-3)
    assert len(CSV_BLENDSHAPE_COLUMNS) == 52
    with pytest.raises(ValueError):
        Face(box=Box(0, 0, 1, 1), blendshapes={"jawOpen": 0.5})
    assert FrameResult(10, 10, (Face(box=Box(0, 0, 1, 1)),)).to_dict()["faces"][0].get("blendshapes") is None


def test_blendshapes_in_video_frames(analyzer):
    with analyzer.video_session() as s:
        for i, t, rgb in iter_frames(media("single_face.mp4")):
            fr = s.process(rgb, t, index=i)
            if i == 3:
                break
    assert fr.faces and tuple(fr.faces[0].blendshapes) == BLENDSHAPE_NAMES


def test_cli_video_csv_with_blendshape_columns(tmp_path):
    from facial_feedback.cli import main

    out = tmp_path / "rows.csv"
    assert main(["video", str(media("single_face.mp4")), "-o", str(out), "--blendshapes", "--no-signals", "-q"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 72 and list(rows[0])[-52:] == list(CSV_BLENDSHAPE_COLUMNS)
    # the blink of frames 25-29 (hand count) shows in eyeBlink
    blink = [max(float(r["bs_eyeBlinkLeft"]), float(r["bs_eyeBlinkRight"])) for r in rows]
    assert max(blink[25:30]) > 0.5 > max(blink[:20])


SFEW_TIGHT = ["Angry/AndSoonCameDarkness_005445120_00000053.png", "Angry/Bridesmaids_000505440_00000001.png",
              "Angry/HarryPotter_Deathly_Hallows_1_000046280_00000091.png"]


@pytest.mark.parametrize("name", SFEW_TIGHT)
def test_a_face_bigger_than_the_frame_is_found_by_the_wide_pass(analyzer, name):
    """SFEW stills (143x181) cut forehead and chin off: the 0.25 border pass sees no face, the
    wide-border pass does, and the face gets a mesh."""
    from .conftest import DATASETS

    p = DATASETS / "sfew" / "Train" / name
    if not p.exists():
        pytest.skip(f"needs {p}")
    img = load_image(p)
    narrow = D.FaceDetector(D.DetectorConfig(wide_pads=()))
    assert narrow.detect(img) == []
    found = analyzer.detector.detect(img)
    assert len(found) == 1 and found[0].box.w > 0.5 * img.shape[1]
    assert analyzer.mesher.mesh_face(img, found[0].box, found[0].keypoints) is not None


def test_webcam_preview_with_headless_opencv_says_what_to_do(monkeypatch, capsys):
    """The package depends on OpenCV's headless build: the preview window command explains."""
    from facial_feedback.cli import gui_opencv, main

    if gui_opencv():
        pytest.skip("this environment has a GUI build of OpenCV")
    monkeypatch.setenv("DISPLAY", ":99")
    assert main(["webcam"]) != 0
    err = capsys.readouterr().err
    assert "no window support" in err and "pip install opencv-python" in err and "/live" in err


# ---------------------------------------------------------------- the per-frame fast paths
def test_run_filled_gives_what_run_gives_and_leaves_no_view_behind():
    """Model.run_filled writes the input in place of handing an array over (issue 15's speed
    work): the same outputs as run() on a real face crop, twice in a row, and each output is the
    caller's own (a later call does not change it)."""
    from facial_feedback._litert import LANDMARK_MODEL, Model

    m = Model(LANDMARK_MODEL, threads=1)
    shape = m.input_shapes[0]
    img = load_image(media("single_face.jpg"))
    crop = cv2.resize(img, (shape[2], shape[1])).astype(np.float32) / 255.0
    want = m.run(crop[None])
    got = m.run_filled(lambda buf: np.copyto(buf[0], crop))
    again = m.run_filled(lambda buf: np.copyto(buf[0], crop[::-1].copy()))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert not all(np.array_equal(a, g) for a, g in zip(again, got))  # another input, other outputs
    np.testing.assert_array_equal(got[0], want[0])                      # ... and got[0] untouched
