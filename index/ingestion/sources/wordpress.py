"""The WordPress REST API (`/wp-json/wp/v2/posts`): posts by modification date, paged.

A listing asks for posts modified after the last sync (`modified_after`), oldest change
first, 100 a page, with the author embedded; each post's rendered HTML goes through the
same extractor as any page. Which known posts are still published is asked with `include=`
(100 ids a request): a post the API no longer returns was trashed, deleted or unpublished.

Both are paged as the server pages them (`has_next_page`): a site may cap `per_page` below
the 100 asked for, so a short page never ends a listing; the server's `X-WP-TotalPages`
(or `Link: rel="next"`) does.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from requests.utils import parse_header_links

from index.ingestion.sources.extract import ExtractionError

PER_PAGE = 100  # the API's default maximum; a site may cap it lower, so it is asked for, not assumed
_FIELDS = "id,link,title,content,date,date_gmt,modified,modified_gmt,status,_links,_embedded"
_TAG_RE = re.compile(r"<[^>]+>")


class WordPressError(ExtractionError):
    """A listing that is not the API's JSON."""


@dataclass(frozen=True)
class Post:
    id: int
    link: str
    title: str
    content_html: str
    published: str | None  # ISO date
    modified: str  # the site's `modified` timestamp, as the API gives it (the sync's cursor)
    byline: str | None


def api_root(site: str) -> str:
    return site.rstrip("/") + "/wp-json/wp/v2"


def posts_url(site: str, page: int, modified_after: str | None = None) -> str:
    params = {"per_page": PER_PAGE, "page": page, "orderby": "modified", "order": "asc", "_embed": "author"}
    if modified_after:
        params["modified_after"] = modified_after
    return f"{api_root(site)}/posts?{urlencode(params)}&_fields={_FIELDS}"


def published_ids_url(site: str, ids: list[int], page: int = 1) -> str:
    params = {"include": ",".join(map(str, ids)), "per_page": PER_PAGE, "page": page, "_fields": "id"}
    return f"{api_root(site)}/posts?{urlencode(params)}"


def has_next_page(headers: Mapping[str, str], page: int, records: int) -> bool:
    """Whether page `page + 1` of a listing exists, by what the server said of its paging.

    `X-WP-TotalPages` first (WordPress sends it on every listing), then a `Link: rel="next"`
    (sent by WordPress and by proxies that strip the X- headers). With neither, only an empty
    page ends the listing (or a 400 past the last one): a page shorter than asked for may be a
    site's lower `per_page` cap, and reading it as the end silently loses every later post.
    `headers` has lower-cased names.
    """
    total = (headers.get("x-wp-totalpages") or "").strip()
    if total.isdigit():
        return page < int(total)
    links = parse_header_links(headers.get("link", ""))
    if any("next" in (link.get("rel") or "").split() for link in links):
        return True
    return records > 0


def parse_posts(data: bytes) -> tuple[list[Post], list[str]]:
    """The posts of one listing page, and a reason for each record that is not a post."""
    records = _json_list(data)
    posts, problems = [], []
    for position, record in enumerate(records):
        try:
            posts.append(_post(record))
        except (KeyError, TypeError, ValueError) as exc:
            where = record.get("id", f"#{position}") if isinstance(record, dict) else f"#{position}"
            problems.append(f"post {where}: not a post record ({type(exc).__name__}: {exc})")
    return posts, problems


def parse_ids(data: bytes) -> set[int]:
    return {int(r["id"]) for r in _json_list(data) if isinstance(r, dict) and isinstance(r.get("id"), int)}


def _json_list(data: bytes) -> list:
    try:
        records = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WordPressError(f"not JSON: {exc}") from exc
    if not isinstance(records, list):
        message = records.get("message") if isinstance(records, dict) else None
        raise WordPressError(f"expected a list of posts{f': {message}' if message else ''}")
    return records


def _post(record: object) -> Post:
    if not isinstance(record, dict):
        raise TypeError("not an object")
    if record.get("status", "publish") != "publish":
        raise ValueError(f"status {record.get('status')!r}")
    title = _rendered(record.get("title"))
    content = _rendered(record["content"])
    if not isinstance(record["link"], str) or not isinstance(record["id"], int):
        raise TypeError("'id' must be a number and 'link' a string")
    authors = (record.get("_embedded") or {}).get("author") or []
    names = [a.get("name") for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return Post(
        id=record["id"],
        link=record["link"],
        title=" ".join(html.unescape(_TAG_RE.sub("", title)).split()),
        content_html=content,
        published=(record.get("date_gmt") or record.get("date") or "")[:10] or None,
        modified=str(record.get("modified") or record.get("modified_gmt") or ""),
        byline=", ".join(names) or None,
    )


def _rendered(field: object) -> str:
    if isinstance(field, dict):
        field = field.get("rendered")
    if not isinstance(field, str):
        raise TypeError("expected {'rendered': '<html>'}")
    return field
