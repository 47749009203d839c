"""How far FER+ majorities and the original FER2013 labels agree on PublicTest (validation only): the ceiling
one output faces when it is scored against both label sets (issue 18's targets FER+ >= 86 %, FER2013 >= 70 %).

    python -m training.label_agreement
"""
from __future__ import annotations

import numpy as np

from . import data as D


def agreement(votes: np.ndarray, fer_label: np.ndarray) -> dict:
    maj = D.ferplus_majority(votes)
    lab = fer_label.astype(np.int64)
    both = (maj >= 0) & (lab >= 0)
    scored = lab >= 0
    # an output equal to the FER+ majority where there is one (and to the FER2013 label elsewhere)
    oracle = np.where(maj >= 0, maj, lab)
    return {"n_both": int(both.sum()), "majority_equals_fer2013": float((maj[both] == lab[both]).mean()),
            "n_fer2013": int(scored.sum()), "ferplus_oracle_on_fer2013": float((oracle[scored] == lab[scored]).mean())}


def main() -> None:
    table = D.load_ferplus_folders(D.default_dataset_root() / "ferplus", cache_dir=D.repo_root() / "runs" / "cache",
                                   votes_from="index")
    pub = table.split("PublicTest")
    r = agreement(pub.votes, pub.fer_label)
    print(f"PublicTest: FER+ majority == FER2013 label on {100 * r['majority_equals_fer2013']:.1f} % of the "
          f"{r['n_both']} images with both; an output equal to the FER+ majority scores "
          f"{100 * r['ferplus_oracle_on_fer2013']:.1f} % on FER2013's labels ({r['n_fer2013']} images)")


if __name__ == "__main__":
    main()
