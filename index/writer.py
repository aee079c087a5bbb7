"""`ArticleWriter`: adds, replaces and deletes articles in a live index, without a rebuild.

record → parsed article → sentences → vectors (outside any lock) → one archive
transaction. The transaction is the commit point: once it returns, every process
serving the index sees the change on its next request (index/retrieval/live.py), and it
survives a crash. When enough has been written since the last snapshot, a new one
is written in the background so the in-memory delta stays small.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from index.documents.articles import ArticleError, article_from_record
from index.documents.sentences import article_sentences
from index.ingestion.builder import SnapshotBusy, prepare_articles, write_snapshot
from index.storage.archive import PutResult, WriteConflict
from index.storage.postgres import LogFollower, PullResult
from index.verify import ClaimVerifier

log = logging.getLogger(__name__)

# Sentences written since the last snapshot before a new one is written. Every process
# rebuilds its small delta index after each write, so this bounds that cost.
DEFAULT_SNAPSHOT_AFTER = 2000


class RecordError(ValueError):
    """One of the submitted records is not an article; `position` is its index in the request."""

    def __init__(self, position: int, message: str):
        super().__init__(message)
        self.position, self.message = position, message


@dataclass(frozen=True)
class WriteResult:
    generation: int  # the archive generation that holds this write
    articles: list[PutResult]


class ArticleWriter:
    """Writes through the verifier's embedder and index (one of each per process)."""

    def __init__(self, verifier: ClaimVerifier, snapshot_after: int = DEFAULT_SNAPSHOT_AFTER, follow: bool = True):
        self.verifier = verifier
        self.snapshot_after = snapshot_after
        self._snapshotting = threading.Lock()
        self.follower: LogFollower | None = None
        primary = self.archive.primary
        if primary is not None and follow:
            # Every host follows the shared archive's log into its replica; a long way behind
            # (a host back from a long absence), the snapshot is rewritten from the stored vectors.
            self.follower = LogFollower(primary, self.archive.follow, self._pulled).start()

    def _pulled(self, result: PullResult) -> None:
        self._snapshot_if_due()

    @property
    def archive(self):
        return self.verifier.index.archive

    def put_articles(self, records: Sequence[dict]) -> WriteResult:
        """Insert or replace articles (all or none); `RecordError` if a record is not an article."""
        parsed = []
        for position, record in enumerate(records):
            try:
                article = article_from_record(record, source="api")
            except ArticleError as exc:
                raise RecordError(position, exc.message) from exc
            # An article with no sentence long enough to index (a caption, "TBC") is still
            # stored and listed; it just never appears as evidence.
            parsed.append((article, article_sentences(article)))
        # What each article was when this write began: one changed by another writer while this
        # one embedded is refused (WriteConflict, 409), never silently overwritten.
        expected = self.archive.article_versions([article.id for article, _ in parsed])
        prepared, _ = prepare_articles(parsed, self.verifier.embedder, self.archive)
        try:
            generation, results = self.archive.put_articles(
                prepared, model=self.verifier.embedder.name, expected=expected
            )
        except WriteConflict as exc:
            log.warning("write refused (409): %s", exc)
            raise
        for result in results:
            if result.status != "unchanged":
                log.info("article %r %s at generation %d", result.id, result.status, generation)
        self._snapshot_if_due()
        return WriteResult(generation, results)

    def delete_article(self, article_id: str) -> int | None:
        """Delete an article; the new generation, or None if there is no such article."""
        generation = self.archive.delete_article(article_id)
        if generation is not None:
            self._snapshot_if_due()
        return generation

    def archive_status(self) -> dict:
        """Where writes go and, with a shared archive, how this host follows it (never the password)."""
        primary = self.archive.primary
        status = {
            "backend": "sqlite" if primary is None else "postgresql",
            "primary": self.archive.where if primary is not None else None,
            "replica_generation": self.archive.generation(),
            "following": None,
            "last_pull": None,
            "error": None,
        }
        if self.follower is not None:
            status["following"] = self.follower.listening
            status["last_pull"] = self.follower.last_pull
            status["error"] = self.follower.last_error or primary.last_error
        return status

    def _snapshot_if_due(self) -> None:
        view = self.verifier.index.view()
        if view.delta_size + len(view.retired) < self.snapshot_after or not self._snapshotting.acquire(False):
            return
        threading.Thread(target=self._snapshot, name="snapshot", daemon=True).start()

    def _snapshot(self) -> None:
        try:
            manifest = write_snapshot(self.verifier.index.index_dir, self.archive, wait=False)
            log.info("snapshot %s written at generation %d", manifest.version, manifest.generation)
        except SnapshotBusy:
            pass  # another process is writing one
        except Exception:
            log.exception("background snapshot failed; the delta keeps serving the writes")
        finally:
            self._snapshotting.release()
