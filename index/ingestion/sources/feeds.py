"""RSS and Atom feeds (feedparser) → `FeedItem`s: each entry's link, title, date and author,
and its full text where the feed carries it (`content:encoded`, Atom `<content>`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from index.ingestion.sources.extract import ExtractionError


class FeedError(ExtractionError):
    """The document is not a feed feedparser can read."""


@dataclass(frozen=True)
class FeedItem:
    url: str
    title: str | None
    published: str | None  # ISO date
    byline: str | None
    content_html: str | None  # the entry's full HTML, when the feed carries it (else: fetch `url`)


def parse_feed(data: bytes, feed_url: str) -> tuple[list[FeedItem], str | None]:
    """The feed's entries that have a link, and what was wrong with the XML if anything was
    (feedparser reads what it can of a broken feed); `FeedError` when it is not a feed at all."""
    import feedparser

    parsed = feedparser.parse(data, response_headers={"content-location": feed_url})
    version = parsed.get("version") or ""
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not version and not parsed.entries:
        raise FeedError(f"not an RSS or Atom feed{f': {problem}' if problem else ''}")
    if isinstance(problem, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType):
        problem = None  # declared one encoding or type, was another: read all the same
    items = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        items.append(
            FeedItem(
                url=link,
                title=entry.get("title") or None,
                published=_date(entry),
                byline=entry.get("author") or None,
                content_html=_full_content(entry),
            )
        )
    return items, f"malformed feed, {len(items)} entries read: {problem}" if problem else None


def _date(entry) -> str | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return time.strftime("%Y-%m-%d", value)
    return None


def _full_content(entry) -> str | None:
    """`content:encoded` (RSS) or `<content>` (Atom) in HTML; a summary is not the article."""
    for content in entry.get("content") or []:
        if content.get("value") and content.get("type", "text/html") in ("text/html", "application/xhtml+xml"):
            return content["value"]
    return None
