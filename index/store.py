"""`SentenceStore`: articles and sentence metadata in SQLite, keyed by FAISS id."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.articles import Article
from index.sentences import Sentence

SCHEMA = """
CREATE TABLE articles (
    id        TEXT PRIMARY KEY,
    title     TEXT NOT NULL,
    url       TEXT,
    published TEXT,
    byline    TEXT,
    source    TEXT,
    body      TEXT NOT NULL
);
CREATE TABLE sentences (
    id         INTEGER PRIMARY KEY,   -- the vector's id in FAISS
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,      -- order within the article
    start      INTEGER NOT NULL,      -- body[start:end] == text
    "end"      INTEGER NOT NULL,
    text       TEXT NOT NULL,
    UNIQUE (article_id, position)
);
CREATE INDEX articles_published ON articles(published);
"""

_LOOKUP = """
SELECT s.id, s.text, s.start, s."end", a.id, a.title, a.url, a.published,
       prev.text, next.text
FROM sentences s
JOIN articles a ON a.id = s.article_id
LEFT JOIN sentences prev ON prev.article_id = s.article_id AND prev.position = s.position - 1
LEFT JOIN sentences next ON next.article_id = s.article_id AND next.position = s.position + 1
WHERE s.id IN ({placeholders})
"""


@dataclass(frozen=True)
class ArticleRef:
    id: str
    title: str
    url: str | None
    published: str | None


@dataclass(frozen=True)
class StoredSentence:
    """A sentence as returned to callers: text, offsets, provenance and its neighbours."""

    id: int
    text: str
    start: int
    end: int
    article: ArticleRef
    before: str | None
    after: str | None


class SentenceStore:
    """Read side of the store; one SQLite connection per thread (read-only when serving)."""

    def __init__(self, path: str | Path, read_only: bool = True):
        self.path = Path(path)
        self.read_only = read_only
        self._local = threading.local()
        if read_only and not self.path.is_file():
            raise FileNotFoundError(f"sentence store not found: {self.path}")
        _ = self.connection  # open now so a broken file fails at load, not on first request

    @classmethod
    def create(cls, path: str | Path) -> SentenceStore:
        conn = sqlite3.connect(path)
        conn.executescript(SCHEMA)
        conn.commit()
        conn.close()
        return cls(path, read_only=False)

    @property
    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.read_only:
                conn = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True)
                try:
                    conn.execute("SELECT count(*) FROM sentences").fetchone()  # fails fast on a bad file
                except sqlite3.DatabaseError as exc:
                    conn.close()
                    raise ValueError(f"sentence store is corrupt: {self.path}: {exc}") from exc
            else:
                conn = sqlite3.connect(self.path)
                conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    def add_articles(self, items: Iterable[tuple[Article, Sequence[Sentence]]], first_id: int = 0) -> int:
        """Insert articles with their sentences; sentence ids count up from `first_id`. Returns the next id."""
        next_id = first_id
        conn = self.connection
        with conn:
            for article, sentences in items:
                conn.execute(
                    "INSERT INTO articles (id, title, url, published, byline, source, body) VALUES (?,?,?,?,?,?,?)",
                    (
                        article.id,
                        article.title,
                        article.url,
                        article.published,
                        article.byline,
                        article.source,
                        article.body,
                    ),
                )
                conn.executemany(
                    'INSERT INTO sentences (id, article_id, position, start, "end", text) VALUES (?,?,?,?,?,?)',
                    [(next_id + i, s.article_id, s.position, s.start, s.end, s.text) for i, s in enumerate(sentences)],
                )
                next_id += len(sentences)
        return next_id

    def sentences(self, ids: Sequence[int]) -> dict[int, StoredSentence]:
        """Look up sentences by FAISS id, with article provenance and neighbouring sentences."""
        if not ids:
            return {}
        rows = self.connection.execute(_LOOKUP.format(placeholders=",".join("?" * len(ids))), list(ids))
        found: dict[int, StoredSentence] = {}
        for sid, text, start, end, aid, title, url, published, before, after in rows:
            found[sid] = StoredSentence(sid, text, start, end, ArticleRef(aid, title, url, published), before, after)
        return found

    def counts(self) -> tuple[int, int]:
        """(articles, sentences)."""
        conn = self.connection
        return (
            conn.execute("SELECT count(*) FROM articles").fetchone()[0],
            conn.execute("SELECT count(*) FROM sentences").fetchone()[0],
        )

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
