"""Both meshes drawn over the same frames, to look at where they differ (issue 15's parity).

    .venv/bin/python benchmarks/bench_parity.py --repeat 0 --save /tmp/parity     # the meshes
    .venv/bin/python benchmarks/mesh_overlay.py /tmp/parity WolfgangLanger_Pexels.mp4 110,190,260 \\
        /tmp/overlay.png [--region face|mouth|eyes|right-eye|left-eye]

Today's mesh in green, the new one in red: lips, eye contours, irises, brows and the face oval as
lines, zoomed on the region asked for. A photo of ../shared/media takes frame 0. The picture is
written where asked (keep it out of the repository: it is made of the media's pixels).
"""
from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MEDIA = REPO.parent / "shared" / "media"
sys.path.insert(0, str(REPO / "benchmarks"))


def main() -> int:
    import cv2

    from bench_parity import _pairs
    from facial_feedback import topology as T

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("saved", type=Path, help="a bench_parity.py --save folder (today.pkl, new.pkl)")
    ap.add_argument("media", help="a file name in ../shared/media")
    ap.add_argument("frames", help="frame numbers, comma-separated (0 for a photo)")
    ap.add_argument("out", type=Path, help="the PNG to write")
    ap.add_argument("--region", default="face", choices=("face", "mouth", "eyes", "right-eye", "left-eye"))
    ns = ap.parse_args()
    ref, new = (pickle.load(open(ns.saved / f"{s}.pkl", "rb")) for s in ("today", "new"))
    frames = [int(x) for x in ns.frames.split(",")]
    src = MEDIA / ns.media
    if ns.media in ref["images"]:
        imgs = {0: cv2.imread(str(src))}

        def faces(i):
            return ref["images"][ns.media], new["images"][ns.media]
    else:
        imgs, cap, i = {}, cv2.VideoCapture(str(src)), 0
        while len(imgs) < len(frames):
            ok, f = cap.read()
            if not ok:
                break
            if i in frames:
                imgs[i] = f
            i += 1
        cap.release()

        def faces(i):
            return ref["videos"][ns.media]["frames"][i], new["videos"][ns.media]["frames"][i]
    lines = [(T.RIGHT_IRIS_RING, True), (T.LEFT_IRIS_RING, True), (T.LIPS_OUTER, True), (T.LIPS_INNER, True),
             (T.RIGHT_EYE_CONTOUR, True), (T.LEFT_EYE_CONTOUR, True), (T.FACE_OVAL, True),
             (T.RIGHT_BROW_UPPER, False), (T.LEFT_BROW_UPPER, False), (T.RIGHT_BROW_LOWER, False), (T.LEFT_BROW_LOWER, False)]
    zoom = {"face": None, "mouth": T.LIPS_OUTER, "eyes": T.RIGHT_EYE_CONTOUR + T.LEFT_EYE_CONTOUR + T.RIGHT_BROW + T.LEFT_BROW,
            "right-eye": T.RIGHT_EYE_CONTOUR, "left-eye": T.LEFT_EYE_CONTOUR}[ns.region]
    sel = list(zoom) if zoom else slice(None)
    tiles = []
    for i in frames:
        if i not in imgs:
            continue
        for k, (r, n) in enumerate(_pairs(*faces(i))):
            if r["lm"] is None or n["lm"] is None:
                continue
            a, b = r["lm"], n["lm"]
            pts = np.vstack([a[sel, :2], b[sel, :2]])
            m = 0.25 * (pts.max(0) - pts.min(0)).max()
            (x0, y0), (x1, y1) = np.maximum(0, pts.min(0) - m).astype(int), (pts.max(0) + m).astype(int)
            s = 900 / max(1, x1 - x0)
            crop = cv2.resize(imgs[i][y0:y1, x0:x1], None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
            for lm, colour in ((a, (0, 255, 0)), (b, (0, 0, 255))):
                for idx, closed in lines:
                    P = ((lm[list(idx), :2] - [x0, y0]) * s).astype(np.int32)
                    cv2.polylines(crop, [P], closed, colour, 2, cv2.LINE_AA)
                for c in (T.RIGHT_IRIS_CENTER, T.LEFT_IRIS_CENTER):
                    cv2.circle(crop, tuple(int(v) for v in (lm[c, :2] - [x0, y0]) * s), 4, colour, -1)
            cv2.putText(crop, f"{ns.media} {i} face {k}: green today, red new", (10, 30),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
            tiles.append(cv2.resize(crop, (600, int(600 * crop.shape[0] / crop.shape[1]))))
    if not tiles:
        sys.exit("no face of both meshes on those frames")
    h = max(t.shape[0] for t in tiles)
    tiles = [cv2.copyMakeBorder(t, 0, h - t.shape[0], 0, 0, cv2.BORDER_CONSTANT) for t in tiles]
    rows = [np.hstack(tiles[j:j + 3] + [np.zeros_like(tiles[0])] * (3 - len(tiles[j:j + 3]))) for j in range(0, len(tiles), 3)]
    cv2.imwrite(str(ns.out), np.vstack(rows))
    print(ns.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
