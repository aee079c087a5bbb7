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
from index.storage.archive import PutResult
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

    def __init__(self, verifier: ClaimVerifier, snapshot_after: int = DEFAULT_SNAPSHOT_AFTER):
        self.verifier = verifier
        self.snapshot_after = snapshot_after
        self._snapshotting = threading.Lock()

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
        prepared, _ = prepare_articles(parsed, self.verifier.embedder, self.archive)
        generation, results = self.archive.put_articles(prepared, model=self.verifier.embedder.name)
        self._snapshot_if_due()
        return WriteResult(generation, results)

    def delete_article(self, article_id: str) -> int | None:
        """Delete an article; the new generation, or None if there is no such article."""
        generation = self.archive.delete_article(article_id)
        if generation is not None:
            self._snapshot_if_due()
        return generation

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
