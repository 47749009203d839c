"""Print a run's PublicTest history (history.jsonl) as a markdown table.

    python -m training.history runs/full
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv=None):
    run = Path((argv or sys.argv[1:] or ["runs/full"])[0])
    rows = [json.loads(l) for l in (run / "history.jsonl").read_text().splitlines() if l.strip()]
    print("| epoch | min | ms/batch | loss | PublicTest FER+ acc (FER+ head) | PublicTest FER2013 acc (FER2013 head) "
          "| FER2013 acc (FER+ head) | FER+ acc (FER2013 head) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        p = r["publictest"]
        print(f"| {r['epoch']} | {r['sec'] / 60:.1f} | {r['ms_per_batch']:.0f} | {r['loss']:.3f} | "
              f"{100 * p['ferplus_head_ferplus_acc']:.2f} | {100 * p['fer2013_head_fer2013_acc']:.2f} | "
              f"{100 * p['ferplus_head_fer2013_acc']:.2f} | {100 * p['fer2013_head_ferplus_acc']:.2f} |")


if __name__ == "__main__":
    main()
