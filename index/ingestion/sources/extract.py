"""HTML → `Article`: the main text and the page's metadata, with trafilatura.

trafilatura keeps the article's paragraphs, headings, lists and quotes and drops navigation,
adverts, captions, comments and related-article boxes; its metadata reader gives the title,
date, author and canonical URL (from `<link rel=canonical>`, OpenGraph, JSON-LD, `<meta>`).
The body is then assembled by `index.documents.articles.assemble_body`, the same as every other input,
so sentence offsets are exact against the text the archive stores.

A fragment (a feed's `content:encoded`, WordPress's `content.rendered`) goes through the same
extractor inside a minimal page; the caller's metadata (the feed's or the API's) wins over
what the HTML says.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass

from index.documents.articles import EVIDENCE, HEADING, Article, ArticleError, article_id, assemble_body, parse_date

# Below this much extracted text a page is not taken as an article (an empty page, a teaser
# in front of a paywall, an index page): one short paragraph.
MIN_TEXT_CHARS = 200
# A page marking itself paywalled (schema.org `isAccessibleForFree: false`) is taken only when it
# still shows this much: the full text served to the newsroom's own crawler, not a teaser.
PAYWALLED_MIN_TEXT_CHARS = 1000

_ACCESS_FREE_RE = re.compile(r'"isAccessibleForFree"\s*:\s*"?(false|False|FALSE)"?')
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ")


class ExtractionError(ArticleError):
    """A page that does not give an article; the message says why (shown per item)."""


@dataclass(frozen=True)
class Metadata:
    """What a source already knows about an item; any field given wins over the page's."""

    url: str | None = None
    title: str | None = None
    published: str | None = None  # any date format parse_date reads
    byline: str | None = None


def decode_html(data: bytes, declared: str | None = None) -> str:
    """The page's text in the charset it declares (HTTP header, else `<meta charset>`); a page
    declaring none is read as UTF-8, else as charset_normalizer detects. `ExtractionError` when
    the bytes are not in the declared charset (a wrongly labelled page is skipped, not guessed
    at: a misread byte would be stored, and quoted, as a wrong letter)."""
    match = _META_CHARSET_RE.search(data[:4096])
    named = [c for c in (declared, match.group(1).decode("ascii") if match else None) if c]
    for charset in named:
        try:
            return data.decode(charset.strip().lower())
        except LookupError:
            continue  # an unknown charset name: as if none was declared
        except UnicodeDecodeError as exc:
            raise ExtractionError(f"not valid {charset} as declared (byte {exc.start})") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # trafilatura's own dependency

    best = from_bytes(data).best()
    if best is None:
        raise ExtractionError("cannot decode the page: no charset declared, and none detected")
    return str(best)


def article_from_html(
    page: str | bytes,
    url: str | None = None,
    metadata: Metadata | None = None,
    fragment: bool = False,
    source: str | None = None,
    charset: str | None = None,
) -> Article:
    """The article in an HTML page (or fragment); `ExtractionError` saying why there is none."""
    import trafilatura

    text = decode_html(page, charset) if isinstance(page, bytes) else page
    if not text.strip():
        raise ExtractionError("empty page")
    if fragment:
        text = f"<html><head><title></title></head><body><article>{text}</article></body></html>"
    given = metadata or Metadata()
    try:
        document = trafilatura.bare_extraction(
            text,
            url=url,
            with_metadata=not fragment,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            deduplicate=False,
        )
    except Exception as exc:  # the extractor failing on one page is that page's problem, not the run's
        raise ExtractionError(f"cannot extract: {type(exc).__name__}: {exc}") from exc
    title = " ".join(html_lib.unescape(given.title or _page_title(document) or "").split())
    blocks = _blocks(document.body) if document is not None and document.body is not None else []
    if title and blocks and blocks[0][0] == HEADING and blocks[0][1].casefold() == title.casefold():
        blocks = blocks[1:]  # the headline above the story is the title, not body text
    body, body_blocks = assemble_body(blocks)
    evidence = sum(len(b.text) for b in body_blocks if b.kind == EVIDENCE)
    if _ACCESS_FREE_RE.search(text) and evidence < PAYWALLED_MIN_TEXT_CHARS:
        raise ExtractionError(f"paywalled: the page marks itself isAccessibleForFree=false ({evidence} characters)")
    if evidence < MIN_TEXT_CHARS:
        raise ExtractionError(f"too little text ({evidence} characters): an empty page, a teaser or not an article")
    if not title:
        raise ExtractionError("no title (neither the source nor the page gives one)")
    canonical = given.url or (document.url if document is not None and not fragment else None) or url
    published = _iso_date(given.published) or (_iso_date(document.date) if document is not None else None)
    byline = given.byline or (document.author if document is not None and not fragment else None)
    return Article(
        id=article_id(canonical, title, body),
        title=title,
        body=body,
        url=canonical,
        published=published,
        byline=" ".join(byline.split()) if byline else None,
        source=source or url,
        blocks=body_blocks,
    )


def _page_title(document) -> str | None:
    if document is None or not document.title:
        return None
    title = document.title.strip()
    site = (document.sitename or "").strip()
    if site:  # "Headline | Site" → "Headline": the site's name is not the article's
        for separator in _TITLE_SEPARATORS:
            head, sep, tail = title.rpartition(separator)
            if sep and head and site.lower() in tail.lower():
                return head.strip()
    return title


def _iso_date(value: str | None) -> str | None:
    return parse_date(value) if value else None


def _blocks(body) -> list[tuple[str, str]]:
    """(kind, text) for each block trafilatura kept: paragraphs, quotes and list items are
    evidence, headings are headings; inline markup and line breaks become single spaces."""
    blocks: list[tuple[str, str]] = []
    for element in body:
        tag = element.tag
        if tag == "head":
            kind = HEADING
        elif tag in ("p", "quote", "div", "code"):
            kind = EVIDENCE
        elif tag == "list":
            for item in element.iter("item"):
                if text := _text(item):
                    blocks.append((EVIDENCE, text))
            continue
        else:  # tables, graphics, anything else trafilatura may emit
            continue
        if text := _text(element):
            blocks.append((kind, text))
    return blocks


def _text(element) -> str:
    parts: list[str] = []

    def walk(node) -> None:
        parts.append(" " if node.tag == "lb" else node.text or "")
        for child in node:
            walk(child)
            parts.append(child.tail or "")

    walk(element)
    return " ".join("".join(parts).split())
