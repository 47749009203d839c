"""The text being read: pasted text or an uploaded .txt / .md / .html file -> a Document of
paragraphs. HTML is reduced to its text; nothing in it is kept or run. The sample texts shipped
with the package are here too (samples/)."""
from __future__ import annotations

import hashlib
import html as _html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, List, Mapping, Optional, Tuple

READING_WPM = 238.0        # average silent reading rate of English non-fiction (Brysbaert 2019)
MAX_TEXT_BYTES = 1_000_000
MAX_PARAGRAPHS = 400


# --------------------------------------------------------------------------- documents

@dataclass(frozen=True)
class Paragraph:
    text: str
    kind: str = "p"            # p | heading | quote | item | code

    @property
    def words(self) -> int:
        return len(self.text.split())

    def to_dict(self) -> dict:
        return {"text": self.text, "kind": self.kind, "words": self.words}


@dataclass(frozen=True)
class Document:
    title: str
    paragraphs: Tuple[Paragraph, ...]

    @property
    def hash(self) -> str:
        """The text's identity: readers' reports of the same text share it (whitespace and
        paragraph kinds do not change it)."""
        norm = "\n\n".join(" ".join(p.text.split()) for p in self.paragraphs)
        return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {"hash": self.hash, "title": self.title, "paragraphs": [p.to_dict() for p in self.paragraphs]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Document":
        return cls(str(d.get("title") or "Untitled"),
                   tuple(Paragraph(str(p["text"]), str(p.get("kind", "p"))) for p in d["paragraphs"]))


def _clean(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


class _TextExtractor(HTMLParser):
    """HTML -> paragraphs of plain text. Nothing is executed or kept but text: scripts, styles,
    embedded objects and forms are dropped whole; attributes (event handlers, URLs) are ignored."""

    SKIP = {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "head",
            "canvas", "select", "textarea", "button", "form", "nav", "audio", "video"}
    BLOCKS = {"p": "p", "h1": "heading", "h2": "heading", "h3": "heading", "h4": "heading", "h5": "heading",
              "h6": "heading", "li": "item", "blockquote": "quote", "pre": "code", "div": "p", "section": "p",
              "article": "p", "td": "p", "th": "p", "dd": "p", "dt": "p", "figcaption": "p", "caption": "p",
              "header": "p", "footer": "p", "main": "p", "aside": "p", "tr": "p", "ul": "p", "ol": "p",
              "table": "p", "body": "p", "html": "p"}
    VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: List[Paragraph] = []
        self.buf: List[str] = []
        self.kind: List[str] = ["p"]
        self.skip = 0
        self.title = ""
        self._in_title = False

    def _flush(self):
        text = _clean("".join(self.buf))
        self.buf = []
        if text:
            self.out.append(Paragraph(text, self.kind[-1] if self.kind else "p"))

    def handle_starttag(self, tag, attrs):
        tag = tag.lower()
        if tag == "title":
            self._in_title = True
        if tag in self.SKIP:
            if tag not in self.VOID:
                self.skip += 1
            return
        if self.skip:
            return
        if tag == "br":
            self.buf.append(" ")
        elif tag in self.BLOCKS:
            self._flush()
            self.kind.append(self.BLOCKS[tag])

    def handle_startendtag(self, tag, attrs):
        if tag.lower() == "br" and not self.skip:
            self.buf.append(" ")

    def handle_endtag(self, tag):
        tag = tag.lower()
        if tag == "title":
            self._in_title = False
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag in self.BLOCKS:
            self._flush()
            if len(self.kind) > 1:
                self.kind.pop()

    def handle_data(self, data):
        if self._in_title:
            self.title += data
            return
        if not self.skip:
            self.buf.append(data)

    def close(self):
        super().close()
        self._flush()


def paragraphs_from_html(text: str) -> Tuple[str, List[Paragraph]]:
    p = _TextExtractor()
    p.feed(text)
    p.close()
    return _clean(p.title), p.out


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARK = re.compile(r"(\*\*|__|\*|_|`|~~)(?=\S)(.+?)(?<=\S)\1")


def _md_inline(s: str) -> str:
    s = _MD_LINK.sub(r"\1", s)
    for _ in range(2):
        s = _MD_MARK.sub(r"\2", s)
    s = re.sub(r"<[^>]+>", "", s)          # inline HTML tags: their text stays, the tags go
    return _html.unescape(s)


def paragraphs_from_markdown(text: str) -> List[Paragraph]:
    out: List[Paragraph] = []
    buf: List[str] = []
    kind = "p"
    fence = False

    def flush():
        nonlocal buf, kind
        t = _clean(_md_inline(" ".join(buf))) if kind != "code" else "\n".join(buf).strip()
        if t:
            out.append(Paragraph(t, kind))
        buf, kind = [], "p"

    for line in text.splitlines():
        s = line.strip()
        if s.startswith("```") or s.startswith("~~~"):
            if fence:
                flush()
                fence = False
            else:
                flush()
                fence, kind = True, "code"
            continue
        if fence:
            buf.append(line)
            continue
        if not s:
            flush()
            continue
        if re.fullmatch(r"([-*_])( ?\1){2,}", s):       # a rule
            flush()
            continue
        m = re.match(r"#{1,6}\s+(.*?)\s*#*$", s)
        if m:
            flush()
            buf, kind = [m.group(1)], "heading"
            flush()
            continue
        m = re.match(r"([-*+]|\d+[.)])\s+(.*)", s)
        if m:
            flush()
            buf, kind = [m.group(2)], "item"
            continue
        if s.startswith(">"):
            if kind != "quote":
                flush()
                kind = "quote"
            buf.append(s.lstrip("> "))
            continue
        buf.append(s)
    flush()
    return out


def paragraphs_from_plain(text: str) -> List[Paragraph]:
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    out = [Paragraph(_clean(b)) for b in blocks if _clean(b)]
    if len(out) > 1 and len(out[0].text.split()) <= 12 and not out[0].text.endswith((".", "!", "?", ":")):
        out[0] = Paragraph(out[0].text, "heading")     # a short first line is the title
    return out


def parse_text(data, filename: str = "", title: Optional[str] = None) -> Document:
    """A Document from pasted text or an uploaded .txt / .md / .html file (bytes or str).
    HTML is reduced to its text, paragraph by paragraph; nothing in it is kept or run."""
    if isinstance(data, bytes):
        if len(data) > MAX_TEXT_BYTES:
            raise ValueError(f"the text is too long: at most {MAX_TEXT_BYTES // 1000} kB")
        for enc in ("utf-8-sig", "cp1252", "latin-1"):
            try:
                data = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
    text = str(data)
    if len(text) > MAX_TEXT_BYTES:
        raise ValueError(f"the text is too long: at most {MAX_TEXT_BYTES // 1000} kB")
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    found_title = ""
    if ext in ("html", "htm", "xhtml") or (not ext and re.match(r"\s*(<!doctype html|<html|<body|<p[ >])", text, re.I)):
        found_title, paras = paragraphs_from_html(text)
    elif ext in ("md", "markdown"):
        paras = paragraphs_from_markdown(text)
    elif ext in ("txt", "text", ""):
        paras = paragraphs_from_plain(text)
    else:
        raise ValueError(f"unsupported file type .{ext}: use .txt, .md or .html")
    if not paras:
        raise ValueError("no text found")
    if len(paras) > MAX_PARAGRAPHS:
        raise ValueError(f"the text has {len(paras)} paragraphs: at most {MAX_PARAGRAPHS}")
    if not title:
        heading = next((p.text for p in paras[:3] if p.kind == "heading"), "")
        title = found_title or heading or (filename.rsplit("/", 1)[-1] if filename else "") or paras[0].text
    if len(paras) > 1 and paras[0].kind == "heading" and _clean(paras[0].text) == _clean(title):
        # the title is shown above the text, not read as its first paragraph: as ¶1 it took the
        # start-up time and its few words read as a pace of 4-9x (issue 19)
        paras = paras[1:]
    title = title if len(title) <= 80 else title[:77].rstrip() + "…"
    return Document(title, tuple(paras))


# --------------------------------------------------------------------------- samples

def samples_dir() -> Path:
    return Path(__file__).resolve().parent / "samples"


def sample_texts() -> List[dict]:
    """The sample texts shipped in the package: [{name, title, doc}]."""
    out = []
    for p in sorted(samples_dir().glob("*.*")):
        if p.suffix.lower() not in (".txt", ".md", ".html"):
            continue
        doc = parse_text(p.read_bytes(), p.name)
        out.append({"name": p.stem, "title": doc.title, "doc": doc})
    return out
