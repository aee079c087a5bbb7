"""Sitemaps (sitemaps.org), sitemap indexes and Google News sitemaps → entries with dates.

Parsed with lxml with entities, DTDs and the network off (a sitemap is untrusted XML);
gzip-compressed sitemaps (`.xml.gz`) are read as such. Namespaces are matched by local name,
so a sitemap with a missing or wrong namespace still reads.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

from index.documents.articles import parse_date
from index.ingestion.sources.extract import ExtractionError

MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit is 50 MB uncompressed


class SitemapError(ExtractionError):
    """The document is not a sitemap."""


@dataclass(frozen=True)
class SitemapEntry:
    url: str
    lastmod: str | None = None  # ISO date of <lastmod>
    published: str | None = None  # <news:publication_date>
    title: str | None = None  # <news:title>

    def newest_date(self) -> str | None:
        dates = [d for d in (self.lastmod, self.published) if d]
        return max(dates) if dates else None


@dataclass(frozen=True)
class Sitemap:
    is_index: bool
    entries: list[SitemapEntry]  # child sitemaps (an index) or pages


def parse_sitemap(data: bytes) -> Sitemap:
    from lxml import etree

    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise SitemapError(f"broken gzip: {exc}") from exc
    if len(data) > MAX_UNCOMPRESSED_BYTES:
        raise SitemapError(f"larger than {MAX_UNCOMPRESSED_BYTES:,} bytes uncompressed")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise SitemapError(f"malformed XML: {exc}") from exc
    if root is None:
        raise SitemapError("empty document")
    kind = etree.QName(root).localname
    if kind not in ("urlset", "sitemapindex"):
        raise SitemapError(f"not a sitemap (root element <{kind}>)")
    child = "sitemap" if kind == "sitemapindex" else "url"
    entries = []
    for node in root:
        if not isinstance(node.tag, str) or etree.QName(node).localname != child:
            continue
        fields = _fields(node)
        loc = fields.get("loc", "").strip()
        if not loc:
            continue
        entries.append(
            SitemapEntry(
                url=loc,
                lastmod=_date(fields.get("lastmod")),
                published=_date(fields.get("publication_date")),
                title=(fields.get("title") or "").strip() or None,
            )
        )
    return Sitemap(is_index=kind == "sitemapindex", entries=entries)


def _fields(node) -> dict[str, str]:
    """Local name → text of every descendant (news:news/news:title comes out as 'title')."""
    from lxml import etree

    fields: dict[str, str] = {}
    for element in node.iter():
        if element is node or not isinstance(element.tag, str):
            continue
        fields.setdefault(etree.QName(element).localname, element.text or "")
    return fields


def _date(value: str | None) -> str | None:
    return parse_date(value) if value and value.strip() else None
