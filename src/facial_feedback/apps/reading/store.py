"""Reading reports on the user's machine, keyed by the text they are about."""
from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import List

from .text import Document


class ReportStore:
    """Reports on the user's machine: <root>/<text hash>/text.json and <report id>.json."""

    def __init__(self, root):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _check(key: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{8,64}", key or ""):
            raise KeyError(key)
        return key

    def save_text(self, doc: Document) -> str:
        d = self.root / doc.hash
        d.mkdir(exist_ok=True)
        p = d / "text.json"
        if not p.exists():
            p.write_text(json.dumps(doc.to_dict(), ensure_ascii=False), encoding="utf-8")
        return doc.hash

    def text(self, text_hash: str) -> Document:
        p = self.root / self._check(text_hash) / "text.json"
        if not p.exists():
            raise KeyError(text_hash)
        return Document.from_dict(json.loads(p.read_text(encoding="utf-8")))

    def texts(self) -> List[dict]:
        out = []
        for d in sorted(self.root.iterdir()):
            if (d / "text.json").exists():
                doc = json.loads((d / "text.json").read_text(encoding="utf-8"))
                out.append({"hash": d.name, "title": doc.get("title"), "paragraphs": len(doc["paragraphs"]),
                             "reports": len([f for f in d.glob("*.json") if f.name != "text.json"]),
                             "mtime": d.stat().st_mtime})
        return sorted(out, key=lambda x: -x["mtime"])

    def save_report(self, report: dict) -> str:
        h = self._check(report["text"]["hash"])
        d = self.root / h
        d.mkdir(exist_ok=True)
        if not (d / "text.json").exists():
            self.save_text(Document.from_dict(report["text"]))
        rid = hashlib.sha1(f"{h}{time.time_ns()}{report.get('reader')}".encode()).hexdigest()[:12]
        report = dict(report, id=rid)
        body = {k: v for k, v in report.items() if k != "text"}
        body["text_hash"] = h
        (d / f"{rid}.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        return rid

    def report(self, text_hash: str, rid: str) -> dict:
        p = self.root / self._check(text_hash) / f"{self._check(rid)}.json"
        if not p.exists():
            raise KeyError(rid)
        body = json.loads(p.read_text(encoding="utf-8"))
        body["text"] = self.text(text_hash).to_dict()
        return body

    def reports(self, text_hash: str) -> List[dict]:
        d = self.root / self._check(text_hash)
        out = []
        for f in sorted(d.glob("*.json")) if d.exists() else []:
            if f.name == "text.json":
                continue
            out.append(json.loads(f.read_text(encoding="utf-8")))
        out.sort(key=lambda r: r.get("started") or 0)
        return out

    def delete_report(self, text_hash: str, rid: str) -> None:
        p = self.root / self._check(text_hash) / f"{self._check(rid)}.json"
        if not p.exists():
            raise KeyError(rid)
        p.unlink()
