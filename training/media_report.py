"""What the whole pipeline (detection + mesh + crop + shipped model) says on ../shared/media.

    python -m training.media_report            # markdown tables on stdout

Photos: every face with its top emotion and probability. Videos: the top emotion of the
first face in sampled frames, grouped into runs. There are no labels for these files; the
checks are qualitative (a broad smile must come out happy; the Pexels clip goes from
crying to surprise to laughing).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from . import data as D


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--media", default=str(D.repo_root().parent / "shared" / "media"))
    ap.add_argument("--every", type=int, default=6, help="analyse every n-th video frame")
    a = ap.parse_args(argv)
    import facial_feedback as ff
    md = Path(a.media)
    print("| photo | face (box x,y,w,h) | top emotion | p | runner-up |")
    print("| --- | --- | --- | --- | --- |")
    for p in sorted(md.glob("*.jpg")):
        r = ff.analyze_image(str(p))
        if not r.faces:
            print(f"| {p.name} | no face | | | |")
        for f in sorted(r.faces, key=lambda f: f.box.x):
            s = sorted(f.emotion.scores.items(), key=lambda kv: -kv[1])
            b = f.box
            print(f"| {p.name} | {b.x:.0f},{b.y:.0f},{b.w:.0f},{b.h:.0f} | {s[0][0]} | {s[0][1]:.2f} | "
                  f"{s[1][0]} {s[1][1]:.2f} |")
    print()
    print("| video | seconds | top emotion of the first face (runs of sampled frames) |")
    print("| --- | --- | --- |")
    for p in sorted(list(md.glob("*.mp4")) + list(md.glob("*.mov"))):
        runs, last = [], None
        for fr in ff.analyze_video(str(p), every=a.every):
            lab = fr.faces[0].emotion.label if fr.faces else "(no face)"
            t = fr.timestamp or 0.0
            if lab != last:
                runs.append([lab, t, t, 1])
                last = lab
            else:
                runs[-1][2] = t
                runs[-1][3] += 1
        txt = ", ".join(f"{lab} {t0:.1f}-{t1:.1f}s" for lab, t0, t1, n in runs)
        end = runs[-1][2] if runs else 0.0
        print(f"| {p.name} | {end:.1f} | {txt} |")


if __name__ == "__main__":
    main()
