"""The incremental sync: sources → what changed → the archive, through the articles' write path.

Running it again with the same sources is the sync (cron). It is

- incremental: feeds, sitemaps and pages are asked with the `ETag` / `Last-Modified` they last
  answered (a 304 costs no download); a sitemap page whose `<lastmod>` has not moved, and a
  WordPress post whose `modified` has not, are not asked at all; a page whose bytes or whose
  article are the same as stored writes nothing;
- idempotent: an unchanged source writes nothing, so the archive's generation stays, and no
  snapshot is written (the same `CURRENT`);
- safe beside a live service: articles are embedded (`prepare_articles`) and written with
  `Archive.put_articles`, the path of `POST /v1/articles`, in batches of one transaction each;
  where each article came from (`source_state`, `source_posts`) is written in the same
  transaction, so a sync killed midway leaves every batch whole, and the next one fetches
  only what is missing. A feed's or sitemap's own validators, and a WordPress site's cursor,
  are saved last, and only when every item under them was read or permanently skipped;
- one at a time per index (`SyncBusy`);
- deleting only where the source says so: a WordPress post the API no longer publishes
  (trashed, deleted, unpublished). A page gone from a feed or sitemap, or answering 404, stays.
"""

from __future__ import annotations

import fcntl
import hashlib
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from index.documents.articles import Article
from index.documents.sentences import article_sentences
from index.ingestion.builder import prepare_articles, write_snapshot
from index.ingestion.ingest import read_articles
from index.ingestion.sources import feeds, sitemaps, wordpress
from index.ingestion.sources.extract import ExtractionError, Metadata, article_from_html
from index.ingestion.sources.fetcher import NOT_MODIFIED, OK, Fetcher, FetchResult, Validators
from index.retrieval.embedder import Embedder
from index.storage import layout
from index.storage.archive import Archive, content_hash
from index.storage.postgres import SYNC_LOCK, LockBusy, PostgresArchive

_SCHEMA = """
CREATE TABLE IF NOT EXISTS source_state (
    url           TEXT PRIMARY KEY,  -- a page, feed or sitemap, as asked
    etag          TEXT,
    last_modified TEXT,
    lastmod       TEXT,              -- the date its sitemap gave it when it was last read
    body_hash     TEXT,              -- sha256 of the bytes last read
    article_id    TEXT,              -- the article it became (NULL: a feed, a sitemap, or skipped)
    outcome       TEXT NOT NULL      -- 'article', 'document', or why it was skipped
);
CREATE TABLE IF NOT EXISTS source_posts (
    site       TEXT NOT NULL,        -- a WordPress site, as given
    post_id    INTEGER NOT NULL,
    article_id TEXT,
    modified   TEXT NOT NULL,        -- the post's `modified` when it was last read
    PRIMARY KEY (site, post_id)
);
CREATE TABLE IF NOT EXISTS source_cursors (
    source TEXT PRIMARY KEY,         -- 'wordpress <site>'
    value  TEXT NOT NULL             -- the newest `modified` read
);
"""

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, */*;q=0.5"
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
JSON_ACCEPT = "application/json"
MAX_SITEMAP_DEPTH = 3  # an index of indexes of sitemaps at most
# A deletion check that would delete more than this share of a site's known posts at once (and
# more than a handful) is not applied: an API answering empty lists is likelier than a purge.
MAX_DELETE_SHARE = 0.5


class SyncBusy(RuntimeError):
    """Another sync is running on this index directory."""


@dataclass(frozen=True)
class StateRow:
    url: str
    etag: str | None
    last_modified: str | None
    lastmod: str | None
    body_hash: str | None
    article_id: str | None
    outcome: str


@dataclass
class SyncReport:
    fetched: int = 0  # documents and pages downloaded in full
    not_modified: int = 0  # asked and answered 304, or not asked (date unchanged)
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # read, and the article is the one stored
    deleted: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (item, reason)
    requests: Counter[str] = field(default_factory=Counter)  # by HTTP status or error
    generation_before: int = 0
    generation_after: int = 0
    snapshot: str | None = None  # the version written, if any
    embedded: int = 0
    seconds: float = 0.0

    def skip(self, item: str, reason: str) -> None:
        self.skipped.append((item, reason))

    def summary(self) -> str:
        reasons = Counter(_reason_kind(r) for _, r in self.skipped)
        skipped = ", ".join(f"{n} {kind}" for kind, n in reasons.most_common())
        snapshot = f"snapshot {self.snapshot}" if self.snapshot else "no new snapshot (nothing changed)"
        return (
            f"fetched {self.fetched}, unchanged {self.not_modified + self.unchanged} "
            f"({self.not_modified} not modified, {self.unchanged} same article), "
            f"created {self.created}, updated {self.updated}, deleted {self.deleted}, "
            f"skipped {len(self.skipped)}{f' ({skipped})' if skipped else ''}; "
            f"{sum(self.requests.values())} requests, {self.embedded} sentences embedded, "
            f"{self.seconds:.1f}s; {snapshot}"
        )


def _reason_kind(reason: str) -> str:
    return reason.split(":")[0].split(" (")[0].split(" after ")[0]


@contextmanager
def sync_lock(index_dir: Path, primary: PostgresArchive | None = None) -> Iterator[None]:
    """One sync at a time per index directory, or per shared archive, whichever host runs it
    (a service writing articles is not blocked)."""
    if primary is not None:
        try:
            with primary.session_lock(SYNC_LOCK, f"another sync is running on {primary.display}"):
                yield
        except LockBusy as exc:
            raise SyncBusy(str(exc)) from None
        return
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".sync.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise SyncBusy(f"another sync is running on {index_dir}") from exc
        yield


class SourceState:
    """The sync's memory, in the archive: validators and articles by URL, posts, cursors."""

    def __init__(self, archive: Archive):
        self.archive = archive
        if archive.primary is None:  # a shared archive has these tables from its migrations
            conn = archive.connection
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'source_state'").fetchone() is None:
                conn.executescript(_SCHEMA)  # each statement idempotent: any process may be first
        # Read on the primary: with a shared archive, the state lives only there.
        with archive.read_primary() as conn:
            self.pages = {r[0]: StateRow(*r) for r in conn.execute("SELECT * FROM source_state").fetchall()}
            self.posts: dict[tuple[str, int], tuple[str | None, str]] = {
                (site, post): (aid, modified)
                for site, post, aid, modified in conn.execute(
                    "SELECT site, post_id, article_id, modified FROM source_posts"
                ).fetchall()
            }
            self.cursors = dict(conn.execute("SELECT source, value FROM source_cursors").fetchall())

    # Upserts in the SQL both SQLite and PostgreSQL take (`StateWrite`s run inside the archive's write).
    @staticmethod
    def write_page(conn, row: StateRow) -> None:
        conn.execute(
            "INSERT INTO source_state VALUES (?,?,?,?,?,?,?) ON CONFLICT (url) DO UPDATE SET "
            "etag = excluded.etag, last_modified = excluded.last_modified, lastmod = excluded.lastmod, "
            "body_hash = excluded.body_hash, article_id = excluded.article_id, outcome = excluded.outcome",
            (row.url, row.etag, row.last_modified, row.lastmod, row.body_hash, row.article_id, row.outcome),
        )

    @staticmethod
    def write_post(conn, site: str, post_id: int, article_id: str | None, modified: str) -> None:
        conn.execute(
            "INSERT INTO source_posts VALUES (?,?,?,?) ON CONFLICT (site, post_id) DO UPDATE SET "
            "article_id = excluded.article_id, modified = excluded.modified",
            (site, post_id, article_id, modified),
        )

    @staticmethod
    def forget_post(conn, site: str, post_id: int) -> None:
        conn.execute("DELETE FROM source_posts WHERE site = ? AND post_id = ?", (site, post_id))

    @staticmethod
    def write_cursor(conn, source: str, value: str) -> None:
        conn.execute(
            "INSERT INTO source_cursors VALUES (?,?) ON CONFLICT (source) DO UPDATE SET value = excluded.value",
            (source, value),
        )


# A write of the sync's state, run inside the archive's write transaction (a SQLite connection,
# or the shared archive's `PortableConnection`).
StateWrite = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class _Page:
    """A page to read: its URL, what the source said of it, and the document it came from."""

    url: str
    metadata: Metadata
    lastmod: str | None
    parent: str


@dataclass
class _Pending:
    article: Article
    state: list[StateWrite]


class Sync:
    """One run over the given sources; `run` once. `progress(k)` after k more items are done,
    `on_total(n)` when n more items are known."""

    def __init__(
        self,
        index_dir: str | Path,
        embedder: Embedder,
        fetcher: Fetcher | None = None,
        since: str | None = None,
        batch_articles: int = 32,
        workers: int = 8,
        progress: Callable[[int], None] | None = None,
        on_total: Callable[[int], None] | None = None,
        primary: PostgresArchive | None = None,
    ):
        self.index_dir = Path(index_dir)
        self.primary = primary
        self.embedder = embedder
        self.fetcher = fetcher or Fetcher()
        self.since = since
        self.batch_articles = batch_articles
        self.workers = workers
        self.progress = progress or (lambda n: None)
        self.on_total = on_total or (lambda n: None)
        self.report = SyncReport()
        self._pending: list[_Pending] = []
        self._state_only: list[StateWrite] = []
        self._deferred: list[StateWrite] = []  # documents' validators and cursors: written last
        self._incomplete: set[str] = set()  # documents with an item that failed for now (retry next time)
        self._seen: set[str] = set()

    # ---- the run ---------------------------------------------------------------------------

    def run(
        self,
        files: Sequence[str | Path] = (),
        feed_urls: Sequence[str] = (),
        sitemap_urls: Sequence[str] = (),
        wordpress_sites: Sequence[str] = (),
    ) -> SyncReport:
        started = time.perf_counter()
        with sync_lock(self.index_dir, self.primary):
            self.archive = Archive.open(self.index_dir, create=True, primary=self.primary)
            self.archive.catch_up()
            self.archive.check_model(self.embedder.name, self.embedder.dimension)
            self.state = SourceState(self.archive)
            self.report.generation_before = self.archive.generation()
            if files:
                self._files(files)
            for url in feed_urls:
                self._feed(url)
            for url in sitemap_urls:
                self._sitemap(url, lastmod=None, depth=0)
            for site in wordpress_sites:
                self._wordpress(site)
            self._flush(final=True)
            self.report.generation_after = self.archive.generation()
            self.report.snapshot = self._snapshot_if_behind()
        self.report.requests = Counter(self.fetcher.stats)
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _snapshot_if_behind(self) -> str | None:
        """A new snapshot when the archive moved past the live one (this run's writes, or an
        earlier run's that was stopped before its snapshot); none when it did not."""
        generation = self.archive.generation()
        try:
            live = layout.Manifest.read(layout.current_version_dir(self.index_dir)).generation
        except (FileNotFoundError, OSError, ValueError):
            live = None
        if live == generation or (live is None and self.archive.live_articles() == 0):
            return None
        return write_snapshot(self.index_dir, self.archive, model=self.embedder.name).version

    # ---- files ---------------------------------------------------------------------------

    def _files(self, files: Sequence[str | Path]) -> None:
        ingest = read_articles(files)
        for problem in ingest.problems:
            self.report.skip(f"{problem.path}{f':{problem.line}' if problem.line else ''}", problem.message)
        self.on_total(len(ingest.articles))
        for article in ingest.articles:
            self._add(article, [])
            self.progress(1)

    # ---- feeds ---------------------------------------------------------------------------

    def _feed(self, url: str) -> None:
        body = self._document(url, FEED_ACCEPT)
        if body is None:
            return
        try:
            items, problem = feeds.parse_feed(body.body, url)
        except ExtractionError as exc:
            self.report.skip(url, exc.message)
            return
        if problem:
            self.report.skip(url, problem)
        self.on_total(len(items))
        pages = []
        for item in items:
            metadata = Metadata(title=item.title, published=item.published, byline=item.byline)
            if item.content_html:
                try:
                    article = article_from_html(
                        item.content_html,
                        url=item.url,
                        metadata=Metadata(item.url, item.title, item.published, item.byline),
                        fragment=True,
                        source=f"feed {url}",
                    )
                except ExtractionError:
                    pass  # a teaser in content:encoded: read the page instead
                else:
                    self._seen.add(item.url)
                    self._add(article, [])
                    self.progress(1)
                    continue
            pages.append(_Page(item.url, metadata, None, url))
        self._pages(pages)
        self._finish_document(url, body)

    # ---- sitemaps ------------------------------------------------------------------------

    def _sitemap(self, url: str, lastmod: str | None, depth: int) -> None:
        body = self._document(url, SITEMAP_ACCEPT)
        if body is None:
            return
        try:
            sitemap = sitemaps.parse_sitemap(body.body)
        except ExtractionError as exc:
            self.report.skip(url, exc.message)
            return
        if sitemap.is_index:
            for child in sitemap.entries:
                if self.since and child.lastmod and child.lastmod < self.since:
                    continue  # nothing in it changed since --since
                known = self.state.pages.get(child.url)
                if child.lastmod and known and known.lastmod == child.lastmod:
                    self.report.not_modified += 1
                    continue
                if depth + 1 > MAX_SITEMAP_DEPTH:
                    self.report.skip(child.url, f"sitemap nested deeper than {MAX_SITEMAP_DEPTH} levels")
                    continue
                self._sitemap(child.url, child.lastmod, depth + 1)
                if child.url in self._incomplete:
                    self._incomplete.add(url)
        else:
            pages = []
            for entry in sitemap.entries:
                newest = entry.newest_date()
                if self.since and newest and newest < self.since:
                    continue
                known = self.state.pages.get(entry.url)
                if entry.lastmod and known and known.lastmod == entry.lastmod and known.outcome == "article":
                    self.report.not_modified += 1
                    continue
                metadata = Metadata(title=entry.title, published=entry.published)
                pages.append(_Page(entry.url, metadata, entry.lastmod, url))
            self.on_total(len(pages))
            self._pages(pages)
        self._finish_document(url, body, lastmod)

    # ---- WordPress -----------------------------------------------------------------------

    def _wordpress(self, site: str) -> None:
        cursor_key = f"wordpress {site}"
        cursor = self.state.cursors.get(cursor_key)
        newest, complete, page = cursor, True, 1
        seen: set[int] = set()
        while True:
            listing = self.fetcher.fetch(wordpress.posts_url(site, page, _second_before(cursor)), accept=JSON_ACCEPT)
            if listing.status != OK:
                if listing.http_status == 400 and page > 1:
                    break  # past the last page (rest_post_invalid_page_number)
                self.report.skip(listing.url, listing.reason or "no answer")
                complete = False
                break
            self.report.fetched += 1
            try:
                posts, problems = wordpress.parse_posts(listing.body)
            except ExtractionError as exc:
                self.report.skip(listing.url, exc.message)
                complete = False
                break
            for problem in problems:
                self.report.skip(f"{site} {problem.split(':')[0]}", problem.split(": ", 1)[-1])
            if posts and seen.issuperset(post.id for post in posts):
                # A server that ignores `page` would be read forever: stop, and keep the cursor.
                self.report.skip(listing.url, f"page {page} repeats posts already listed: paging stopped")
                complete = False
                break
            seen.update(post.id for post in posts)
            self.on_total(len(posts))
            for post in posts:
                self._post(site, post)
                self.progress(1)
                if newest is None or post.modified > newest:
                    newest = post.modified
            if not wordpress.has_next_page(listing.headers, page, len(posts) + len(problems)):
                break
            page += 1
        if complete and newest and newest != cursor:
            self._deferred.append(lambda conn, v=newest: SourceState.write_cursor(conn, cursor_key, v))
        if complete:
            self._wordpress_deletions(site)

    def _post(self, site: str, post: wordpress.Post) -> None:
        known = self.state.posts.get((site, post.id))
        if known and known[1] == post.modified:
            self.report.not_modified += 1
            return
        try:
            article = article_from_html(
                post.content_html,
                url=post.link,
                metadata=Metadata(post.link, post.title, post.published, post.byline),
                fragment=True,
                source=f"wordpress {site}",
            )
        except ExtractionError as exc:
            self.report.skip(post.link, exc.message)
            self._state_only.append(lambda conn: SourceState.write_post(conn, site, post.id, None, post.modified))
            return
        writes: list[StateWrite] = [lambda conn: SourceState.write_post(conn, site, post.id, article.id, post.modified)]
        if known and known[0] and known[0] != article.id:  # the post's link changed: its old article goes
            self._flush(final=True)
            self._delete(known[0])
        self._add(article, writes)

    def _wordpress_deletions(self, site: str) -> None:
        known = sorted(post for s, post in self.state.posts if s == site)
        published: set[int] = set()
        for start in range(0, len(known), wordpress.PER_PAGE):
            chunk = known[start : start + wordpress.PER_PAGE]
            try:
                published |= self._published_ids(site, chunk)
            except ExtractionError as exc:
                self.report.skip(f"{site} (deletion check)", f"not checked: {exc.message}")
                return
        gone = [post for post in known if post not in published]
        if len(gone) > 5 and len(gone) > MAX_DELETE_SHARE * len(known):
            self.report.skip(
                f"{site} (deletion check)", f"not deleting {len(gone)} of {len(known)} posts at once: check the site"
            )
            return
        if gone:
            self._flush(final=True)
        for post in gone:
            article = self.state.posts[(site, post)][0]
            forget = partial(_forget_post, site=site, post_id=post)
            if article and self.archive.delete_article(article, also=forget) is not None:
                self.report.deleted += 1
            elif not article:
                self.archive.put_articles([], self.embedder.name, also=forget)

    def _published_ids(self, site: str, chunk: list[int]) -> set[int]:
        """Which of `chunk` the site still publishes, over as many pages as the site's cap needs
        (a site capping `per_page` at 10 answers 100 ids in 10 pages: reading only the first
        would take the other 90 posts for deleted)."""
        published: set[int] = set()
        for page in range(1, len(chunk) + 2):  # at least one id a page, or the answer is wrong
            answer = self.fetcher.fetch(wordpress.published_ids_url(site, chunk, page), accept=JSON_ACCEPT)
            if answer.status != OK:
                if answer.http_status == 400 and page > 1:
                    return published  # past the last page
                raise ExtractionError(answer.reason or "no answer")
            ids = wordpress.parse_ids(answer.body)
            published |= ids
            if not wordpress.has_next_page(answer.headers, page, len(ids)):
                return published
        raise ExtractionError(f"more pages than ids asked for ({len(chunk)}): the site's paging is not trusted")

    # ---- documents and pages -------------------------------------------------------------

    def _document(self, url: str, accept: str) -> FetchResult | None:
        """A feed or sitemap, asked conditionally; None when unchanged or unreadable (reported)."""
        known = self.state.pages.get(url)
        result = self.fetcher.fetch(url, _validators(known), accept=accept)
        if result.status == NOT_MODIFIED:
            self.report.not_modified += 1
            return None
        if result.status != OK:
            self.report.skip(url, result.reason or "no answer")
            return None
        self.report.fetched += 1
        if known and known.body_hash == _sha256(result.body) and known.outcome == "document":
            self.report.not_modified += 1  # the same bytes: a server without validators
            self._finish_document(url, result, known.lastmod, force=False)
            return None
        return result

    def _finish_document(self, url: str, result: FetchResult, lastmod: str | None = None, force: bool = True) -> None:
        if url in self._incomplete:
            return  # an item under it failed for now: ask for all of it again next time
        row = StateRow(
            url,
            result.validators.etag,
            result.validators.last_modified,
            lastmod,
            _sha256(result.body),
            None,
            "document",
        )
        if force or self.state.pages.get(url) != row:
            self._deferred.append(lambda conn: SourceState.write_page(conn, row))

    def _pages(self, pages: list[_Page]) -> None:
        todo = []
        for page in pages:
            if page.url in self._seen:
                self.progress(1)
                continue
            self._seen.add(page.url)
            todo.append(page)
        if not todo:
            return
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="page") as pool:
            futures = {pool.submit(self._read_page, page): page for page in todo}
            for future in as_completed(futures):
                self._page_done(futures[future], *future.result())
                self.progress(1)
                if len(self._pending) >= self.batch_articles:
                    self._flush()

    def _read_page(self, page: _Page) -> tuple[FetchResult, Article | ExtractionError | None]:
        """Fetch (conditionally) and extract, in a worker thread."""
        known = self.state.pages.get(page.url)
        result = self.fetcher.fetch(page.url, _validators(known), accept=HTML_ACCEPT)
        if result.status != OK or (known and known.body_hash == _sha256(result.body)):
            return result, None
        try:
            return result, article_from_html(
                result.body, url=result.final_url or page.url, metadata=page.metadata, charset=result.charset
            )
        except ExtractionError as exc:
            return result, exc

    def _page_done(self, page: _Page, result: FetchResult, extracted: Article | ExtractionError | None) -> None:
        known = self.state.pages.get(page.url)
        if result.status == NOT_MODIFIED or (result.status == OK and extracted is None):
            if result.status == OK:
                self.report.fetched += 1
            self.report.not_modified += 1
            if known and (known.lastmod != page.lastmod or _validators(known) != result.validators):
                row = StateRow(
                    page.url,
                    result.validators.etag or known.etag,
                    result.validators.last_modified or known.last_modified,
                    page.lastmod,
                    known.body_hash,
                    known.article_id,
                    known.outcome,
                )
                self._state_only.append(lambda conn: SourceState.write_page(conn, row))
            return
        if result.status != OK:
            self.report.skip(page.url, result.reason or "no answer")
            if result.retryable:
                self._incomplete.add(page.parent)
            return
        self.report.fetched += 1
        digest = _sha256(result.body)
        if isinstance(extracted, ExtractionError):
            self.report.skip(page.url, extracted.message)
            row = StateRow(
                page.url,
                result.validators.etag,
                result.validators.last_modified,
                page.lastmod,
                digest,
                None,
                extracted.message,
            )
            self._state_only.append(lambda conn: SourceState.write_page(conn, row))
            return
        assert extracted is not None
        row = StateRow(
            page.url,
            result.validators.etag,
            result.validators.last_modified,
            page.lastmod,
            digest,
            extracted.id,
            "article",
        )
        self._add(extracted, [lambda conn: SourceState.write_page(conn, row)])

    # ---- writing -------------------------------------------------------------------------

    def _add(self, article: Article, state: list[StateWrite]) -> None:
        self._pending.append(_Pending(article, state))
        if len(self._pending) >= self.batch_articles:
            self._flush()

    def _flush(self, final: bool = False) -> None:
        """Write the pending articles (those whose content changed) with their state, in one
        transaction; state-only changes ride along. On `final`, the deferred rows too."""
        pending, self._pending = self._pending, []
        by_id: dict[str, _Pending] = {}
        for item in pending:  # the same article twice in a batch: the last one read wins
            if item.article.id in by_id:
                item.state = by_id[item.article.id].state + item.state
            by_id[item.article.id] = item
        stored = self.archive.content_hashes(list(by_id))
        changed = [p for p in by_id.values() if stored.get(p.article.id) != content_hash(p.article)]
        self.report.unchanged += len(by_id) - len(changed)
        state = [w for p in by_id.values() for w in p.state] + self._state_only
        self._state_only = []
        if final:
            state += self._deferred
            self._deferred = []
        if not changed and not state:
            return
        prepared, embedded = prepare_articles(
            [(p.article, article_sentences(p.article)) for p in changed], self.embedder, self.archive
        )
        self.report.embedded += embedded

        def write_state(conn: sqlite3.Connection) -> None:
            for write in state:
                write(conn)

        _, results = self.archive.put_articles(prepared, model=self.embedder.name, also=write_state)
        for result in results:
            if result.status == "created":
                self.report.created += 1
            elif result.status == "updated":
                self.report.updated += 1
            else:
                self.report.unchanged += 1

    def _delete(self, article_id: str) -> None:
        if self.archive.delete_article(article_id) is not None:
            self.report.deleted += 1


def _forget_post(conn: sqlite3.Connection, site: str, post_id: int) -> None:
    SourceState.forget_post(conn, site, post_id)


def _validators(row: StateRow | None) -> Validators:
    return Validators(row.etag, row.last_modified) if row else Validators()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _second_before(stamp: str | None) -> str | None:
    """A WordPress `modified` stamp one second earlier: `modified_after` is strict, and a post
    changed later within the same second must not be missed (the one read again is unchanged)."""
    if not stamp:
        return None
    try:
        return (datetime.fromisoformat(stamp) - timedelta(seconds=1)).isoformat(timespec="seconds")
    except ValueError:
        return stamp
