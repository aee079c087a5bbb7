"""`Archive`: the articles, their sentences and their vectors in SQLite: the source of truth.

Every write is one SQLite transaction (WAL, `synchronous=FULL`: durable once it returns)
and moves the archive to a new *generation*. Sentence rows are never edited in place:
replacing an article *retires* its old sentences (`retired` = the generation that
replaced them) and inserts new rows (`added`), so a reader holding generation g sees
exactly the sentences live at g:

    live at g  ⇔  added <= g AND (retired IS NULL OR retired > g)

Sentence ids are the FAISS ids. They come from AUTOINCREMENT, so they are never reused
and an update never renumbers the index. Retired rows are deleted only once no index
version that may still be in use refers to them (`collect_garbage`).

With a shared archive (`ARCHIVE_URL`, index/storage/postgres.py) this file is the host's
replica: every write goes to PostgreSQL (`primary`), in the same SQL, and comes back into
this file by `follow()`; every read stays here, so reads never wait on the network.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.documents.articles import Article
from index.documents.sentences import Sentence

if TYPE_CHECKING:
    from index.storage.postgres import PostgresArchive, PullResult

log = logging.getLogger(__name__)

ARCHIVE = "archive.sqlite"
SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    url          TEXT,
    published    TEXT,
    byline       TEXT,
    source       TEXT,
    body         TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    sentences    INTEGER NOT NULL,
    updated      INTEGER NOT NULL,      -- generation of the last change
    deleted      INTEGER                -- generation that deleted it, NULL while live
);
CREATE INDEX IF NOT EXISTS articles_by_date ON articles(coalesce(published, ''), id);
CREATE TABLE IF NOT EXISTS sentences (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- the vector's id in FAISS; never reused
    article_id TEXT NOT NULL,
    position   INTEGER NOT NULL,       -- order within this revision of the article
    start      INTEGER NOT NULL,       -- body[start:end] == text
    "end"      INTEGER NOT NULL,
    text       TEXT NOT NULL,
    vector     BLOB NOT NULL,          -- float32, L2-normalised
    truncated  INTEGER NOT NULL DEFAULT 0,  -- longer than the model reads
    added      INTEGER NOT NULL,       -- generation that inserted it
    retired    INTEGER,                -- generation that replaced or deleted it
    UNIQUE (article_id, added, position)
);
CREATE INDEX IF NOT EXISTS sentences_live ON sentences(article_id, retired);
CREATE INDEX IF NOT EXISTS sentences_added ON sentences(added);
CREATE INDEX IF NOT EXISTS sentences_retired ON sentences(retired);
CREATE TABLE IF NOT EXISTS changes (
    generation INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL,          -- or a review's id
    op         TEXT NOT NULL,          -- 'put', 'delete', 'review_put', 'review_delete', 'review_mark'
    at         TEXT NOT NULL
);
-- The newsroom's reviews (index/reviews/store.py), versioned as sentences are.
CREATE TABLE IF NOT EXISTS reviews (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- this revision's row: the review index's id; never reused
    id           TEXT NOT NULL,                      -- the review's stable id (review.review_id)
    claim        TEXT NOT NULL,
    match_text   TEXT NOT NULL,                      -- what claims are matched against (claim + headline)
    verdict      TEXT NOT NULL,
    rating_text  TEXT,
    rating_value REAL,
    best_rating  REAL,
    worst_rating REAL,
    reviewed_by  TEXT NOT NULL,
    reviewed_at  TEXT NOT NULL,
    url          TEXT,
    title        TEXT,
    claimant     TEXT,
    claim_where  TEXT,
    claim_date   TEXT,
    note         TEXT,
    evidence     TEXT NOT NULL,                      -- JSON list of sentence ids
    vector       BLOB NOT NULL,                      -- float32, L2-normalised, of match_text
    content_hash TEXT NOT NULL,
    added        INTEGER NOT NULL,                   -- generation that inserted this row
    retired      INTEGER                             -- generation that replaced or deleted it
);
CREATE INDEX IF NOT EXISTS reviews_live ON reviews(id, retired);
CREATE INDEX IF NOT EXISTS reviews_added ON reviews(added);
CREATE INDEX IF NOT EXISTS reviews_retired ON reviews(retired);
CREATE INDEX IF NOT EXISTS reviews_listing ON reviews(retired, reviewed_at, id);
CREATE TABLE IF NOT EXISTS review_marks (          -- an editor's "not the same claim" for one pairing
    review_id    TEXT NOT NULL,
    claim        TEXT NOT NULL,                      -- review.claim_key of the claim it was matched to
    marked_by    TEXT NOT NULL,
    marked_at    TEXT NOT NULL,
    added        INTEGER NOT NULL,                   -- generation of the mark
    PRIMARY KEY (review_id, claim)
);
CREATE INDEX IF NOT EXISTS review_marks_claim ON review_marks(claim);
"""

_LIVE = "s.added <= :g AND (s.retired IS NULL OR s.retired > :g)"

# Neighbours come from the same revision of the article (same `added`).
_LOOKUP = """
SELECT s.id, s.text, s.start, s."end", s.vector, a.id, a.title, a.url, a.published, prev.text, next.text
FROM sentences s
JOIN articles a ON a.id = s.article_id
LEFT JOIN sentences prev ON prev.article_id = s.article_id AND prev.added = s.added AND prev.position = s.position - 1
LEFT JOIN sentences next ON next.article_id = s.article_id AND next.added = s.added AND next.position = s.position + 1
WHERE s.id IN ({placeholders})
"""

WRITE_TIMEOUT_SECONDS = 30.0  # how long a writer waits for another writer's transaction


class ArchiveError(ValueError):
    """The archive file is unreadable or corrupt; the message names the file."""


class ModelMismatch(ValueError):
    """Vectors from a different embedding model than the archive holds."""


class WriteConflict(RuntimeError):
    """The article changed (through another host or process) after this write read it: one of
    two concurrent writes of the same article wins, the other is refused rather than silently
    overwriting it. The client reads the article again and decides."""

    def __init__(self, article_id: str, expected: int | None, found: int | None):
        def state(generation: int | None) -> str:
            return "absent" if generation is None else f"at generation {generation}"

        super().__init__(
            f"article {article_id!r} changed while this write was prepared: it was {state(expected)}, "
            f"it is now {state(found)}"
        )
        self.article_id, self.expected, self.found = article_id, expected, found


@dataclass(frozen=True)
class ArticleRef:
    id: str
    title: str
    url: str | None
    published: str | None


@dataclass(frozen=True)
class StoredSentence:
    """A sentence as returned to callers: text, offsets, provenance, neighbours and its vector."""

    id: int
    text: str
    start: int
    end: int
    article: ArticleRef
    before: str | None
    after: str | None
    vector: np.ndarray


@dataclass(frozen=True)
class ArticleSummary:
    id: str
    title: str
    url: str | None
    published: str | None
    byline: str | None
    sentences: int
    updated: int  # generation of its last change


@dataclass(frozen=True)
class SentenceRow:
    id: int
    position: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ArticleDetail:
    summary: ArticleSummary
    body: str
    sentences: list[SentenceRow]


@dataclass(frozen=True)
class PreparedArticle:
    """An article ready to store: its sentences and their vectors (one row each)."""

    article: Article
    sentences: Sequence[Sentence]
    vectors: np.ndarray
    truncated: Sequence[bool] = ()


@dataclass(frozen=True)
class PutResult:
    id: str
    sentences: int
    status: str  # 'created', 'updated' or 'unchanged'


@dataclass(frozen=True)
class LiveRows:
    """Sentences live at a generation, in id order."""

    ids: np.ndarray  # int64
    texts: list[str]
    vectors: np.ndarray  # float32 (n, dimension)
    truncated: int


def content_hash(article: Article) -> str:
    """Identifies an article's content: re-posting the same content is a no-op."""
    fields = [article.title, article.url, article.published, article.byline, article.body]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Archive:
    """The archive at `INDEX_DIR/archive.sqlite`; one connection per thread, safe across processes.

    With `primary` (a `PostgresArchive`), the file is this host's replica of it: writes go to
    the primary and `follow()` brings them back; reads stay local."""

    def __init__(self, path: str | Path, create: bool = False, primary: PostgresArchive | None = None):
        self.path = Path(path)
        self.primary = primary
        if not create and not self.path.is_file():
            raise FileNotFoundError(f"archive not found: {self.path}; build an index with scripts/build_index.py")
        self._local = threading.local()
        try:
            conn = self.connection
            if create:
                with conn:
                    conn.executescript(_SCHEMA)
                    conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            elif conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'review_marks'").fetchone() is None:
                conn.executescript(_SCHEMA)  # each statement idempotent: an archive from before reviews
                # (or their marks) gains their tables; any process may be first
            schema = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise ArchiveError(f"archive is corrupt: {self.path}: {exc}") from exc
        if schema is None or schema[0] != SCHEMA_VERSION:
            raise ArchiveError(f"archive {self.path} has schema {schema and schema[0]!r}, expected {SCHEMA_VERSION}")

    @classmethod
    def open(cls, index_dir: str | Path, create: bool = False, primary: PostgresArchive | None = None) -> Archive:
        if create:
            Path(index_dir).mkdir(parents=True, exist_ok=True)
        return cls(Path(index_dir) / ARCHIVE, create=create, primary=primary)

    @property
    def where(self) -> str:
        """Where writes go: this file, or the shared archive (without its password)."""
        return self.primary.display if self.primary is not None else str(self.path)

    def catch_up(self) -> PullResult | None:
        """Before using a replica: check the shared archive's schema (`SchemaMismatch` names the
        fix), then pull what this replica lacks. None without a primary."""
        if self.primary is None:
            return None
        self.primary.check_schema()
        return self.follow()

    def follow(self) -> PullResult | None:
        """Bring the primary's changes into this replica, in one local write transaction (None
        without a primary). Safe from several processes of one host at once: the transaction
        serialises them, and each pull re-reads the replica's generation inside it."""
        if self.primary is None:
            return None
        with self._local_write() as conn:
            return self.primary.pull(conn)

    @property
    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=WRITE_TIMEOUT_SECONDS, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")  # a write that returned survives power loss
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def check(self) -> None:
        """Raise `ArchiveError` naming the file unless SQLite's integrity check passes."""
        try:
            result = self.connection.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"archive is corrupt: {self.path}: {exc}") from exc
        if result != "ok":
            raise ArchiveError(f"archive is corrupt: {self.path}: {result}")

    # ---- metadata -------------------------------------------------------------------------

    def generation(self) -> int:
        """The number of the last committed change (0 for an empty archive)."""
        row = self.connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
        return int(row[0]) if row else 0

    def model(self) -> tuple[str, int] | None:
        """(model name, dimension) of the stored vectors, once anything was stored."""
        rows = dict(self.connection.execute("SELECT key, value FROM meta WHERE key IN ('model', 'dimension')"))
        return (rows["model"], int(rows["dimension"])) if "model" in rows else None

    def check_model(self, model: str, dimension: int) -> None:
        """`ModelMismatch` unless the archive (the primary, if there is one) is empty or holds
        vectors of this model."""
        with self.read_primary() as conn:
            _check_model(conn, model, dimension, self.where)

    # ---- writes ---------------------------------------------------------------------------

    def put_articles(
        self,
        items: Sequence[PreparedArticle],
        model: str,
        also: Callable[[sqlite3.Connection], None] | None = None,
        expected: Mapping[str, int | None] | None = None,
    ) -> tuple[int, list[PutResult]]:
        """Insert or replace articles, all in one transaction. Returns (generation, per-article result).

        `also(conn)` writes more rows in the same transaction (index/ingestion/sources/sync.py: where each
        article came from), so both are committed together or not at all. `expected` holds, for
        articles the caller read before preparing them, the generation they were at (None:
        absent; `article_versions`): one that has changed since raises `WriteConflict`."""
        if not items:
            if also is not None:
                with self._write() as conn:
                    also(conn)
            return self.generation(), []
        results = []
        with self._write(model, items[0].vectors.shape[1]) as conn:
            for item in items:
                results.append(self._put(conn, item, expected))
            if also is not None:
                also(conn)
        return self.generation(), results

    def article_versions(self, ids: Sequence[str]) -> dict[str, int | None]:
        """The generation each live article is at (None: absent or deleted), read from the
        primary: what `put_articles(expected=…)` compares against when it commits."""
        found: dict[str, int | None] = dict.fromkeys(ids)
        found.update({aid: int(updated) for aid, updated in self._live_articles("updated", ids)})
        return found

    def _put(self, conn, item: PreparedArticle, expected: Mapping[str, int | None] | None = None) -> PutResult:
        article, sentences = item.article, item.sentences
        if len(sentences) != len(item.vectors):
            raise ValueError(f"{article.id}: {len(sentences)} sentences but {len(item.vectors)} vectors")
        digest = content_hash(article)
        row = conn.execute("SELECT content_hash, deleted, updated FROM articles WHERE id = ?", (article.id,)).fetchone()
        if row is not None and row[0] == digest and row[1] is None:
            return PutResult(article.id, len(sentences), "unchanged")
        if expected is not None and article.id in expected:
            now = None if row is None or row[1] is not None else int(row[2])
            if now != expected[article.id]:
                raise WriteConflict(article.id, expected[article.id], now)
        generation = self._log_change(conn, article.id, "put")
        conn.execute(
            "UPDATE sentences SET retired = ? WHERE article_id = ? AND retired IS NULL", (generation, article.id)
        )
        conn.execute(
            """INSERT INTO articles (id, title, url, published, byline, source, body, content_hash, sentences, updated)
               VALUES (?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(id) DO UPDATE SET title=excluded.title, url=excluded.url, published=excluded.published,
                 byline=excluded.byline, source=excluded.source, body=excluded.body,
                 content_hash=excluded.content_hash, sentences=excluded.sentences, updated=excluded.updated,
                 deleted=NULL""",
            (
                article.id,
                article.title,
                article.url,
                article.published,
                article.byline,
                article.source,
                article.body,
                digest,
                len(sentences),
                generation,
            ),
        )
        vectors = np.ascontiguousarray(item.vectors, dtype=np.float32)
        truncated = list(item.truncated) or [False] * len(sentences)
        conn.executemany(
            'INSERT INTO sentences (article_id, position, start, "end", text, vector, truncated, added) '
            "VALUES (?,?,?,?,?,?,?,?)",
            [
                (article.id, s.position, s.start, s.end, s.text, vectors[i].tobytes(), int(truncated[i]), generation)
                for i, s in enumerate(sentences)
            ],
        )
        return PutResult(article.id, len(sentences), "updated" if row is not None and row[1] is None else "created")

    def delete_article(self, article_id: str, also: Callable[[sqlite3.Connection], None] | None = None) -> int | None:
        """Delete a live article; the new generation, or None if there was no such article.
        `also(conn)` runs in the same transaction either way."""
        with self._write() as conn:
            if also is not None:
                also(conn)
            row = conn.execute("SELECT 1 FROM articles WHERE id = ? AND deleted IS NULL", (article_id,)).fetchone()
            if row is None:
                return None
            generation = self._log_change(conn, article_id, "delete")
            conn.execute(
                "UPDATE sentences SET retired = ? WHERE article_id = ? AND retired IS NULL", (generation, article_id)
            )
            conn.execute(
                "UPDATE articles SET deleted = ?, updated = ? WHERE id = ?", (generation, generation, article_id)
            )
        return generation

    def collect_garbage(self, up_to_generation: int) -> int:
        """Delete sentences retired at or before `up_to_generation` (no kept index version refers to
        them). Local: with a primary, this trims this host's replica, never the shared archive."""
        conn = self.connection
        with self._local_write():
            gone = conn.execute("DELETE FROM sentences WHERE retired <= ?", (up_to_generation,)).rowcount
            conn.execute("DELETE FROM articles WHERE deleted <= ?", (up_to_generation,))
        return gone

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the main file and empty it (after a snapshot)."""
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _log_change(self, conn, article_id: str, op: str) -> int:
        row = conn.execute(
            "INSERT INTO changes (article_id, op, at) VALUES (?,?,?) RETURNING generation", (article_id, op, _now())
        ).fetchone()
        return int(row[0])

    @contextmanager
    def _local_write(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT on this file: one writer at a time across processes; all or nothing."""
        conn = self.connection
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _write(self, model: str | None = None, dimension: int = 0) -> Iterator:
        """One write transaction on the primary (this file, or the shared archive, then pulled
        back here so this host's next request sees it). Checks and records the vectors' model."""
        transaction = self._local_write() if self.primary is None else self.primary.write_transaction()
        with transaction as conn:
            if model:
                _record_model(conn, model, dimension, self.where)
            yield conn
        if self.primary is not None:
            try:
                self.follow()
            except Exception as exc:  # committed: the follower thread brings it here later
                log.warning("a write committed to %s is not yet in this host's replica: %s", self.where, exc)

    @contextmanager
    def read_primary(self) -> Iterator:
        """A connection for reads that must see every committed write: the primary's (this file
        without one). What is stored, and the sync's state (index/ingestion/sources/sync.py)."""
        if self.primary is None:
            yield self.connection
        else:
            with self.primary.read() as conn:
                yield conn

    # Other record kinds kept in the archive (index/reviews/store.py) write through these, so
    # they share its one-writer transactions, its model check and its generations.
    def write_transaction(self, model: str | None = None, dimension: int = 0):
        """One write transaction on the primary (checking the vectors' model when `model` is given)."""
        return self._write(model, dimension)

    def log_change(self, conn, key: str, op: str) -> int:
        """Record a change inside a `write_transaction`; returns the new generation."""
        return self._log_change(conn, key, op)

    # ---- reads for the index --------------------------------------------------------------

    def live_rows(self, generation: int, added_after: int = 0) -> LiveRows:
        """Sentences live at `generation` (only those added after `added_after`), with their vectors."""
        rows = self.connection.execute(
            f"SELECT s.id, s.text, s.vector, s.truncated FROM sentences s WHERE {_LIVE} AND s.added > :after "
            "ORDER BY s.id",
            {"g": generation, "after": added_after},
        ).fetchall()
        dimension = (self.model() or ("", 0))[1]
        vectors = (
            np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), dimension)
            if rows
            else np.zeros((0, dimension), dtype=np.float32)
        )
        return LiveRows(
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            texts=[r[1] for r in rows],
            vectors=vectors,
            truncated=sum(r[3] for r in rows),
        )

    def retired_ids(self, added_up_to: int, retired_after: int, retired_up_to: int) -> np.ndarray:
        """Ids of sentences that existed at `added_up_to` and were retired in (retired_after, retired_up_to]."""
        rows = self.connection.execute(
            "SELECT id FROM sentences WHERE added <= ? AND retired > ? AND retired <= ?",
            (added_up_to, retired_after, retired_up_to),
        ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def filtered_ids(
        self,
        generation: int,
        published_after: str | None = None,
        published_before: str | None = None,
        article_ids: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Ids of sentences live at `generation` whose article matches every given filter."""
        where, params = [_LIVE], {"g": generation}
        _date_range(where, params, "a.published", published_after, published_before)
        if article_ids is not None:
            names = [f":a{i}" for i in range(len(article_ids))]
            where.append(f"s.article_id IN ({','.join(names) or 'NULL'})")
            params.update({name[1:]: aid for name, aid in zip(names, article_ids, strict=True)})
        rows = self.connection.execute(
            f"SELECT s.id FROM sentences s JOIN articles a ON a.id = s.article_id WHERE {' AND '.join(where)}", params
        ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def sentences(self, ids: Sequence[int]) -> dict[int, StoredSentence]:
        """Sentences by id (live or recently retired), with provenance, neighbours and vectors."""
        if not ids:
            return {}
        rows = self.connection.execute(_LOOKUP.format(placeholders=",".join("?" * len(ids))), [int(i) for i in ids])
        found: dict[int, StoredSentence] = {}
        for sid, text, start, end, vector, aid, title, url, published, before, after in rows:
            found[sid] = StoredSentence(
                sid,
                text,
                start,
                end,
                ArticleRef(aid, title, url, published),
                before,
                after,
                np.frombuffer(vector, dtype=np.float32),
            )
        return found

    def vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Vectors by sentence id (those that exist)."""
        if not ids:
            return {}
        rows = self.connection.execute(
            f"SELECT id, vector FROM sentences WHERE id IN ({','.join('?' * len(ids))})", [int(i) for i in ids]
        )
        return {sid: np.frombuffer(vector, dtype=np.float32) for sid, vector in rows}

    def live_articles(self) -> int:
        return self.connection.execute("SELECT count(*) FROM articles WHERE deleted IS NULL").fetchone()[0]

    # ---- reads for the articles API -------------------------------------------------------

    def list_articles(
        self,
        limit: int = 50,
        cursor: str | None = None,
        published_after: str | None = None,
        published_before: str | None = None,
    ) -> tuple[list[ArticleSummary], str | None]:
        """Live articles, newest first (undated last, then by id), and the cursor of the next page (None at the end)."""
        where, params = ["deleted IS NULL"], {"limit": limit + 1}
        _date_range(where, params, "published", published_after, published_before)
        if cursor:
            key, last_id = decode_cursor(cursor)
            where.append("(coalesce(published, '') < :key OR (coalesce(published, '') = :key AND id > :last))")
            params.update(key=key, last=last_id)
        rows = self.connection.execute(
            "SELECT id, title, url, published, byline, sentences, updated FROM articles "
            f"WHERE {' AND '.join(where)} ORDER BY coalesce(published, '') DESC, id LIMIT :limit",
            params,
        ).fetchall()
        items = [ArticleSummary(*row) for row in rows[:limit]]
        more = len(rows) > limit
        return items, encode_cursor(items[-1].published or "", items[-1].id) if more else None

    def get_article(self, article_id: str) -> ArticleDetail | None:
        conn = self.connection
        row = conn.execute(
            "SELECT id, title, url, published, byline, sentences, updated, body FROM articles "
            "WHERE id = ? AND deleted IS NULL",
            (article_id,),
        ).fetchone()
        if row is None:
            return None
        sentences = conn.execute(
            'SELECT id, position, start, "end", text FROM sentences WHERE article_id = ? AND retired IS NULL '
            "ORDER BY position",
            (article_id,),
        ).fetchall()
        return ArticleDetail(ArticleSummary(*row[:7]), row[7], [SentenceRow(*s) for s in sentences])

    def known_vectors(self, article_id: str) -> dict[str, np.ndarray]:
        """Vectors of the article's live sentences by text, so a rebuild never embeds a sentence twice."""
        rows = self.connection.execute(
            "SELECT text, vector FROM sentences WHERE article_id = ? AND retired IS NULL", (article_id,)
        )
        return {text: np.frombuffer(vector, dtype=np.float32) for text, vector in rows}

    def content_hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        """Content hash of every live article (or of those of `ids` that are live), on the primary."""
        return dict(self._live_articles("content_hash", ids))

    def _live_articles(self, column: str, ids: Sequence[str] | None) -> list[tuple[str, object]]:
        """(id, column) of every live article, or of those of `ids` that are live, on the primary."""
        with self.read_primary() as conn:
            if ids is None:
                return conn.execute(f"SELECT id, {column} FROM articles WHERE deleted IS NULL").fetchall()
            rows = []
            for start in range(0, len(ids), 500):  # SQLite's bound on parameters
                chunk = list(ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                query = f"SELECT id, {column} FROM articles WHERE deleted IS NULL AND id IN ({marks})"
                rows += conn.execute(query, chunk).fetchall()
            return rows


def _check_model(conn, model: str, dimension: int, where: str) -> bool:
    """`ModelMismatch` unless the archive behind `conn` is empty or holds vectors of this model;
    True if it holds some already."""
    rows = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('model', 'dimension')").fetchall())
    if "model" not in rows:
        return False
    if (rows["model"], int(rows["dimension"])) != (model, dimension):
        raise ModelMismatch(
            f"{where} holds vectors of {rows['model']} ({rows['dimension']}d), not {model} "
            f"({dimension}d); build into a new index directory"
        )
    return True


def _record_model(conn, model: str, dimension: int, where: str) -> None:
    """Inside a write: check the model, and record it on the first write of vectors."""
    if not _check_model(conn, model, dimension, where):
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?), (?, ?) ON CONFLICT (key) DO NOTHING",
            ("model", model, "dimension", str(dimension)),
        )


def _date_range(where: list[str], params: dict, column: str, after: str | None, before: str | None) -> None:
    """Add an inclusive publication-date range to a WHERE clause under construction."""
    if after:
        where.append(f"{column} >= :after")
        params["after"] = after
    if before:
        where.append(f"{column} <= :before")
        params["before"] = before


def encode_cursor(key: str, last_id: str) -> str:
    """A page's end as a position in the listing order: `<published or empty>/<id>`."""
    return f"{key}/{last_id}"


def decode_cursor(cursor: str) -> tuple[str, str]:
    """Any string is a position (the page after it may be empty), so a stale or edited cursor never fails."""
    key, _, last_id = cursor.partition("/")
    return key, last_id
