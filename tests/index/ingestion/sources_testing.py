"""For the sources tests: local HTTP servers (a site whose routes a test sets, a WordPress-shaped
posts API; http.server in a thread, 127.0.0.1 only), news pages as CMSs render them, and an
embedder that needs no model."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np

from index.retrieval.embedder import Embedder

OMIT = "omit"  # Reply(headers={"Content-Length": OMIT}): no length, the connection closes after the body


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int


Route = Reply | Callable[["Request"], Reply]


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class LocalSite:
    """`routes[path] = Reply(...)` or a function of the request; everything it served is in `seen`."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []  # what was answered, once answered
        self.asked: list[str] = []  # paths, as soon as asked
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                site._serve(self)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # a client that hung up (a timeout, a size cap): expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def other_host_base(self) -> str:
        """The same server under another host name (for cross-host redirects)."""
        return f"http://localhost:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> LocalSite:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths_served(self, status: int | None = None) -> list[str]:
        return [s.path for s in self.seen if status is None or s.status == status]

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        request = Request(parts.path, parse_qs(parts.query), {k.lower(): v for k, v in handler.headers.items()})
        with self._lock:
            self.asked.append(parts.path)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        answered = False

        def answering() -> None:
            # A request stops counting as in flight once its answer starts: the client may read
            # it, free its slot and send the next request before this thread gets back here
            # (measured: max_in_flight 3 with 2 slots, under load, when counted to the end).
            nonlocal answered
            if not answered:
                answered = True
                with self._lock:
                    self.in_flight -= 1

        try:
            route = self.routes.get(parts.path)
            reply = Reply(404, b"not found") if route is None else route if isinstance(route, Reply) else route(request)
            if reply.delay:
                time.sleep(reply.delay)
            status = reply.status
            same_etag = reply.etag and request.headers.get("if-none-match") == reply.etag
            same_date = reply.last_modified and request.headers.get("if-modified-since") == reply.last_modified
            if same_etag or same_date:
                status = 304
            body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
            if status == 304:
                body = b""
            self.seen.append(Seen(parts.path, request.query, request.headers, status))
            answering()
            try:
                handler.send_response(status)
                for key, value in reply.headers.items():
                    if value != OMIT:
                        handler.send_header(key, value)
                if reply.etag:
                    handler.send_header("ETag", reply.etag)
                if reply.last_modified:
                    handler.send_header("Last-Modified", reply.last_modified)
                if reply.headers.get("Content-Length") == OMIT:  # the body ends when the connection does
                    handler.send_header("Connection", "close")
                    handler.close_connection = True
                elif "Content-Length" not in reply.headers:
                    handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        finally:
            answering()


@dataclass
class WpPost:
    id: int
    title: str
    content: str
    date: str  # 2025-01-02T10:00:00
    modified: str
    status: str = "publish"
    author: str = "Ana Reporter"


class WordPressApi:
    """`/wp-json/wp/v2/posts` as WordPress answers anonymous clients: published posts only,
    `per_page` (≤ 100), `page` (400 past the last), `modified_after`, `orderby=modified`,
    `include`, `X-WP-Total` / `X-WP-TotalPages`, embedded authors.

    `max_per_page` is the site's cap on `per_page` (sites can lower it); `paging` is which
    paging headers it sends: "x-wp" (WordPress), "link" (`Link: rel="next"` only, as behind a
    proxy that strips X- headers) or "none"."""

    def __init__(self, site: LocalSite):
        self.site = site
        self.posts: dict[int, WpPost] = {}
        self.max_per_page = 100
        self.paging = "x-wp"
        site.routes["/wp-json/wp/v2/posts"] = self.listing

    def link(self, post_id: int) -> str:
        return self.site.url(f"/{post_id}/story-{post_id}/")

    def listing(self, request: Request) -> Reply:
        q = {k: v[0] for k, v in request.query.items()}
        posts = [p for p in self.posts.values() if p.status == "publish"]
        if "include" in q:
            wanted = {int(i) for i in q["include"].split(",") if i}
            posts = [p for p in posts if p.id in wanted]
        if "modified_after" in q:
            posts = [p for p in posts if p.modified > q["modified_after"]]
        key = (lambda p: p.modified) if q.get("orderby") == "modified" else (lambda p: p.date)
        posts.sort(key=key, reverse=q.get("order", "desc") == "desc")
        per_page = min(int(q.get("per_page", 10)), self.max_per_page)
        page = int(q.get("page", 1))
        pages = max(1, -(-len(posts) // per_page))
        if page > pages:
            return Reply(400, json.dumps({"code": "rest_post_invalid_page_number"}))
        chosen = posts[(page - 1) * per_page : page * per_page]
        body = [self._record(p) for p in chosen]
        headers = {"Content-Type": "application/json"}
        if self.paging == "x-wp":
            headers.update({"X-WP-Total": str(len(posts)), "X-WP-TotalPages": str(pages)})
        elif self.paging == "link" and page < pages:
            query = "&".join(f"{k}={v}" for k, v in {**q, "page": str(page + 1)}.items())
            headers["Link"] = f'<{self.site.url(request.path)}?{query}>; rel="next"'
        return Reply(200, json.dumps(body), headers)

    def _record(self, post: WpPost) -> dict:
        return {
            "id": post.id,
            "date": post.date,
            "date_gmt": post.date,
            "modified": post.modified,
            "modified_gmt": post.modified,
            "status": post.status,
            "link": self.link(post.id),
            "title": {"rendered": post.title},
            "content": {"rendered": post.content, "protected": False},
            "_embedded": {"author": [{"id": 1, "name": post.author}]},
        }


def story(n: int, sentences: int = 6) -> list[str]:
    """Paragraphs of a distinct story (numbers differ by `n`), two sentences each."""
    facts = [
        f"The council of district {n} approved a budget of {100 + n} million euros on Tuesday.",
        f"Officials said {20 + n} new buses would enter service before the summer.",
        f"The mayor of district {n} told reporters that fares would stay at {2 + n % 3} euros.",
        f"Opposition members voted against the plan, citing a deficit of {5 + n} million euros.",
        f"Construction of {3 + n} new schools in district {n} is expected to start in March.",
        f"A public consultation on the plan drew {400 + n} written comments, the council said.",
    ]
    chosen = (facts * (sentences // len(facts) + 1))[:sentences]
    return [" ".join(chosen[i : i + 2]) for i in range(0, len(chosen), 2)]


def article_page(
    title: str,
    paragraphs: list[str],
    published: str = "2025-03-04",
    author: str = "Ana Reporter",
    canonical: str | None = None,
    paywalled: bool = False,
    charset: str = "utf-8",
) -> str:
    """A news page as CMSs render one: navigation, an advert, a captioned photo, a related-articles
    box, a footer, OpenGraph and JSON-LD metadata around the story's paragraphs."""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": title,
        "datePublished": f"{published}T08:00:00Z",
        "author": {"@type": "Person", "name": author},
    }
    if paywalled:
        ld["isAccessibleForFree"] = False
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="{charset}"><title>{title} | The Daily Test</title>
{link}<meta property="og:title" content="{title}"><meta property="og:site_name" content="The Daily Test">
<meta name="author" content="{author}"><meta property="article:published_time" content="{published}T08:00:00Z">
<script type="application/ld+json">{json.dumps(ld)}</script></head>
<body><header><nav><ul><li><a href="/">Home</a></li><li><a href="/politics">Politics</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/subscribe">Subscribe now for 1 euro</a></li></ul></nav></header>
<div class="ad banner">ADVERTISEMENT Buy the new phone today with 20 percent off</div>
<main><article><h1>{title}</h1><p class="byline">By {author}</p>
<figure><img src="/photo.jpg" alt="">
<figcaption>The council chamber, photographed on Monday. Photo: Test Agency</figcaption></figure>
{body}
</article>
<aside class="related"><h2>Related articles</h2><ul><li><a href="/a">Another story about buses you may like</a></li>
<li><a href="/b">Ten things to know about the budget</a></li></ul></aside></main>
<footer><p>© The Daily Test. All rights reserved. Contact us. Privacy policy. Cookie settings.</p></footer>
</body></html>"""


class TextHashEmbedder(Embedder):
    """No model: a text's vector depends on the text alone (the sync tests need no meaning)."""

    name = "text-hash"
    backend = "none"
    batch_size = 64
    dimension = 8
    max_tokens = 256

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded.extend(texts)
        seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little") for t in texts]
        vectors = np.array([np.random.default_rng(s).standard_normal(8) for s in seeds], dtype=np.float32)
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).reshape(len(texts), 8)

    def token_counts(self, texts):
        return [len(t.split()) + 2 for t in texts]


# --- a newsroom: pages, feeds, sitemaps and a WordPress API on one local site ----------------

HTML = {"Content-Type": "text/html; charset=utf-8"}


def page(site: LocalSite, n: int, version: int = 1, **kwargs) -> Reply:
    paragraphs = story(n + 100 * (version - 1))
    html = article_page(f"Story {n}", paragraphs, canonical=site.url(f"/news/{n}"), **kwargs)
    return Reply(200, html, HTML, etag=f'"p{n}-v{version}"')


def rss(site: LocalSite, items: list[int], with_content: set[int]) -> Reply:
    entries = []
    for n in items:
        content = "".join(f"<p>{p}</p>" for p in story(n))
        encoded = f"<content:encoded><![CDATA[{content}]]></content:encoded>" if n in with_content else ""
        entries.append(
            f"<item><title>Story {n}</title><link>{site.url(f'/news/{n}')}</link>"
            f"<pubDate>Tue, 0{n % 9 + 1} Apr 2025 10:00:00 GMT</pubDate><description>Teaser {n}</description>"
            f"{encoded}</item>"
        )
    body = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>Daily Test</title><link>{site.base}</link>{''.join(entries)}</channel></rss>"
    )
    return Reply(
        200, body, {"Content-Type": "application/rss+xml"}, last_modified=f"Tue, 01 Apr 2025 0{len(items)}:00:00 GMT"
    )


def atom(site: LocalSite, items: list[int]) -> Reply:
    entries = "".join(
        f'<entry><title>Story {n}</title><link href="{site.url(f"/news/{n}")}"/><id>urn:{n}</id>'
        f"<updated>2025-04-0{n % 9 + 1}T10:00:00Z</updated><summary>Short.</summary></entry>"
        for n in items
    )
    body = (
        f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>{entries}</feed>'
    )
    return Reply(200, body, {"Content-Type": "application/atom+xml"}, etag=f'"atom-{len(items)}"')


def urlset(
    site: LocalSite, entries: list[tuple[str, str | None]], news: dict[str, tuple[str, str]] | None = None
) -> Reply:
    """A sitemap of (path, lastmod); with `news` {path: (publication date, title)}, a Google News sitemap."""
    news = news or {}

    def tags(path: str) -> str:
        if path not in news:
            return ""
        published, title = news[path]
        return (
            "<news:news><news:publication><news:name>The Daily Test</news:name><news:language>en</news:language>"
            f"</news:publication><news:publication_date>{published}</news:publication_date>"
            f"<news:title>{title}</news:title></news:news>"
        )

    urls = "".join(
        f"<url><loc>{site.url(path)}</loc>{f'<lastmod>{lastmod}</lastmod>' if lastmod else ''}{tags(path)}</url>"
        for path, lastmod in entries
    )
    body = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>'
    )
    return Reply(200, body, {"Content-Type": "application/xml"}, etag=_etag(body))


def _etag(body: str) -> str:
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'


def sitemap_index(site: LocalSite, children: list[tuple[str, str]]) -> Reply:
    items = "".join(f"<sitemap><loc>{site.url(p)}</loc><lastmod>{m}</lastmod></sitemap>" for p, m in children)
    body = (
        f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>'
    )
    return Reply(200, body, {"Content-Type": "application/xml"}, etag=_etag(body))


def wp_post(n: int, modified: str = "2025-04-02T10:00:00", **kwargs) -> WpPost:
    content = "".join(f"<p>{p}</p>" for p in story(200 + n))
    return WpPost(n, f"Post {n}", content, "2025-04-01T09:00:00", modified, **kwargs)


class Newsroom:
    """Pages 1–7, an RSS feed (1, 2 with full text; 3 without), an Atom feed (4, 5), a sitemap
    index (a recent news sitemap with 1 and 6, an old one with 7) and a WordPress API (3 posts)."""

    def __init__(self, site: LocalSite):
        self.site = site
        site.routes["/robots.txt"] = Reply(200, "User-agent: *\nDisallow: /private/\n")
        for n in range(1, 8):
            site.routes[f"/news/{n}"] = page(site, n)
        site.routes["/feed.rss"] = rss(site, [1, 2, 3], with_content={1, 2})
        site.routes["/feed.atom"] = atom(site, [4, 5])
        site.routes["/sitemap-news.xml"] = urlset(
            site,
            [("/news/1", "2025-04-02"), ("/news/6", "2025-04-03")],
            news={"/news/6": ("2025-04-03T07:00:00Z", "Story 6")},  # a Google News sitemap
        )
        site.routes["/sitemap-2020.xml"] = urlset(site, [("/news/7", "2020-05-01")])
        site.routes["/sitemap.xml"] = sitemap_index(
            site, [("/sitemap-news.xml", "2025-04-03"), ("/sitemap-2020.xml", "2020-05-01")]
        )
        self.wp = WordPressApi(site)
        for n in (1, 2, 3):
            self.wp.posts[n] = wp_post(n)

    def sources(self) -> dict:
        return {
            "feed_urls": [self.site.url("/feed.rss"), self.site.url("/feed.atom")],
            "sitemap_urls": [self.site.url("/sitemap.xml")],
            "wordpress_sites": [self.site.base],
        }
