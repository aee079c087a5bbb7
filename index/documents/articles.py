"""Article parsing: raw newsroom text → `Article` with a clean, repaired body.

The body keeps every paragraph an editor would see (including section headings
and related-article links, so offsets still make sense when highlighting), but
each block is tagged with a kind and only `paragraph` blocks are evidence.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime

EVIDENCE = "paragraph"
HEADING = "heading"
RELATED = "related"

# A paragraph that ends in one of these is complete; anything else continues in
# the next paragraph (extraction breaks lines mid-sentence).
_TERMINAL = tuple(".!?…:;\"'”’)]")

_TITLE_RE = re.compile(r"^#\s+(?P<title>.+?)\s*$")
_HEADING_RE = re.compile(r"^#{2,6}\s+(?P<text>.+?)\s*$")
_BYLINE_RE = re.compile(r"^By\s+(?P<byline>.+)$")
_RELATED_RE = re.compile(r"^\*\*Related( article)?:?\*\*:?", re.IGNORECASE)
_URL_LABEL_RE = re.compile(r"^Original url:\s*(?P<url><?\S*>?)\s*$", re.IGNORECASE)
_ANGLE_URL_RE = re.compile(r"^<(?P<url>https?://\S+)>$")
_MD_LINK_RE = re.compile(r"\[(?P<text>[^\]]*)\]\([^)]*\)")
_EMPHASIS_RE = re.compile(r"(\*\*|__)(.+?)\1")
# A photo credit: "TOBIAS SCHWARZ / AFP", "Photo: Reuters", "AP Photo/John Doe".
_CREDIT_RE = re.compile(
    r"^(?:(?:photo|image|credit)s?\s*:.*|[A-Z][A-Z .'\-]+\s*/\s*[A-Za-z][A-Za-z .'\-]+|AP Photo/.*)$",
    re.IGNORECASE,
)
_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%Y-%m-%d", "%b. %d, %Y")


class ArticleError(ValueError):
    """An input that cannot be turned into an article; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Block:
    """One paragraph of the body: `body[start:end] == text`."""

    kind: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    body: str
    url: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    byline: str | None = None
    source: str | None = None  # file (and line) the article came from
    blocks: tuple[Block, ...] = field(default=(), compare=False)

    @property
    def evidence_blocks(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == EVIDENCE]


def article_id(url: str | None, title: str, body: str) -> str:
    """Stable id: from the url when there is one, else from the content."""
    key = f"url:{normalise_url(url)}" if url else f"text:{title}\n{body}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def normalise_url(url: str) -> str:
    url = url.strip()
    url = re.sub(r"^https?://(www\.)?", "", url, flags=re.IGNORECASE)
    return url.rstrip("/").lower()


def parse_date(text: str) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date line or ISO timestamp, else None."""
    text = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            pass
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return None


def _clean_inline(text: str) -> str:
    """Markdown links → their text, bold/italic markers removed, whitespace collapsed."""
    text = _MD_LINK_RE.sub(lambda m: m.group("text"), text)
    text = _EMPHASIS_RE.sub(lambda m: m.group(2), text)
    return " ".join(text.split())


def _paragraphs(text: str) -> list[tuple[int, str]]:
    """(1-based line number, paragraph text) for each blank-line-separated paragraph."""
    paragraphs: list[tuple[int, str]] = []
    current: list[str] = []
    first_line = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not current:
                first_line = number
            current.append(line.strip())
        elif current:
            paragraphs.append((first_line, " ".join(current)))
            current = []
    if current:
        paragraphs.append((first_line, " ".join(current)))
    return paragraphs


def repair_paragraphs(paragraphs: list[str]) -> list[str]:
    """Join paragraphs that were broken mid-sentence (no terminal punctuation)."""
    repaired: list[str] = []
    for paragraph in paragraphs:
        if repaired and not repaired[-1].endswith(_TERMINAL):
            repaired[-1] = f"{repaired[-1]} {paragraph}"
        else:
            repaired.append(paragraph)
    return repaired


def assemble_body(blocks: list[tuple[str, str]]) -> tuple[str, tuple[Block, ...]]:
    """Join (kind, text) blocks with blank lines, repairing broken evidence paragraphs."""
    merged: list[tuple[str, str]] = []
    for kind, text in blocks:
        if kind == EVIDENCE and merged and merged[-1][0] == EVIDENCE:
            joined = repair_paragraphs([merged[-1][1], text])
            if len(joined) == 1:
                merged[-1] = (EVIDENCE, joined[0])
                continue
        merged.append((kind, text))
    out: list[Block] = []
    offset = 0
    for kind, text in merged:
        out.append(Block(kind, text, offset, offset + len(text)))
        offset += len(text) + 2
    return "\n\n".join(text for _, text in merged), tuple(out)


def parse_article_text(text: str, source: str | None = None) -> Article:
    """Parse one article in the newsroom's markdown-ish export format.

    Recognises a `# Title`, a `By …` byline, a date line, photo credits, `## `
    headings, `**Related article:**` links and an `Original url:` line followed
    by `<url>`; everything else is body text.
    """
    title = byline = published = url = None
    blocks: list[tuple[str, str]] = []
    expecting_url: int | None = None  # line of an "Original url:" label still waiting for its <url>
    for line_no, paragraph in _paragraphs(text):
        if expecting_url:
            expecting_url = None
            match = _ANGLE_URL_RE.match(paragraph) or re.match(r"^(?P<url>https?://\S+)$", paragraph)
            if match:
                url = match.group("url")
                continue
        if title is None and (m := _TITLE_RE.match(paragraph)):
            title = _clean_inline(m.group("title"))
        elif m := _HEADING_RE.match(paragraph):
            blocks.append((HEADING, _clean_inline(m.group("text"))))
        elif m := _URL_LABEL_RE.match(paragraph):
            inline = m.group("url").strip("<>")
            if inline:
                url = inline
            else:
                expecting_url = line_no
        elif _RELATED_RE.match(paragraph):
            blocks.append((RELATED, _clean_inline(paragraph)))
        elif not blocks and byline is None and (m := _BYLINE_RE.match(paragraph)):
            byline = _clean_inline(m.group("byline"))
        elif not blocks and published is None and (iso := parse_date(paragraph)):
            published = iso
        elif not blocks and _CREDIT_RE.match(paragraph) and not paragraph.endswith("."):
            continue  # photo credit above the body: not part of the story
        else:
            blocks.append((EVIDENCE, _clean_inline(paragraph)))
    if expecting_url:
        raise ArticleError("'Original url:' is not followed by a <url> line", line=expecting_url)
    if not title:
        raise ArticleError("no '# Title' line found", line=1)
    body, body_blocks = assemble_body(blocks)
    if not any(b.kind == EVIDENCE for b in body_blocks):
        raise ArticleError("article has no body text")
    return Article(
        id=article_id(url, title, body),
        title=title,
        body=body,
        url=url,
        published=published,
        byline=byline,
        source=source,
        blocks=body_blocks,
    )


def article_from_record(record: object, source: str | None = None) -> Article:
    """Build an article from a JSON record `{"id"?, "title", "url"?, "published"?, "text"}`."""
    if not isinstance(record, dict):
        raise ArticleError("expected a JSON object")
    title, text = record.get("title"), record.get("text")
    if not isinstance(title, str) or not title.strip():
        raise ArticleError("'title' must be a non-empty string")
    if not isinstance(text, str) or not text.strip():
        raise ArticleError("'text' must be a non-empty string")
    url = record.get("url")
    if url is not None and not isinstance(url, str):
        raise ArticleError("'url' must be a string")
    published = record.get("published")
    if published is not None:
        if not isinstance(published, str) or not (iso := parse_date(published)):
            raise ArticleError(f"'published' is not a date: {published!r}")
        published = iso
    given_id = record.get("id")
    if given_id is not None and (not isinstance(given_id, str) or not given_id.strip()):
        raise ArticleError("'id' must be a non-empty string")
    blocks = [(EVIDENCE, " ".join(p.split())) for _, p in _paragraphs(text)]
    body, body_blocks = assemble_body(blocks)
    return Article(
        id=given_id.strip() if given_id else article_id(url, title.strip(), body),
        title=" ".join(title.split()),
        body=body,
        url=url or None,
        published=published,
        byline=record.get("byline") if isinstance(record.get("byline"), str) else None,
        source=source,
        blocks=body_blocks,
    )
