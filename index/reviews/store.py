"""`ReviewStore`: reviews in the archive, with the articles' discipline.

Every write is one transaction of the archive (`Archive.write_transaction`: WAL,
`synchronous=FULL`, durable once it returns) and moves the archive's generation (a row in
its `changes` log, `op` = `review_put` / `review_delete`), so every serving process sees it
on its next request (index/retrieval/live.py). Rows are versioned as sentences are: replacing a
review *retires* its row (`retired` = the generation that replaced it) and inserts a new
one with a new `seq`, so the review index of any generation g is exactly the rows with

    added <= g AND (retired IS NULL OR retired > g)

and a worker moving from generation g0 to g1 reads only the rows added or retired between.
The evidence sentences a reviewer relied on are stored by id; reading a review checks each
against the archive, so a sentence whose article was replaced or deleted shows `valid: False`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from index.retrieval.embedder import Embedder
from index.reviews.claimreview import build_review
from index.reviews.review import EvidenceRef, Rating, Review, ReviewError, claim_key, content_hash
from index.storage.archive import Archive, decode_cursor, encode_cursor

_COLUMNS = (
    "seq, id, claim, verdict, rating_text, rating_value, best_rating, worst_rating, reviewed_by, reviewed_at, "
    "url, title, claimant, claim_where, claim_date, note, evidence, added"
)
_LIVE = "added <= :g AND (retired IS NULL OR retired > :g)"


@dataclass(frozen=True)
class ReviewPut:
    id: str
    status: str  # 'created', 'updated' or 'unchanged'


@dataclass(frozen=True)
class NotSameClaimMark:
    """An editor's "not the same claim" for one (review, claim) pairing, as stored."""

    review_id: str
    claim: str  # review.claim_key of the claim
    marked_by: str
    generation: int  # the archive's generation that holds it
    created: bool  # False: the pairing was marked already, nothing changed


@dataclass(frozen=True)
class ReviewRows:
    """Review rows (by `seq`) with what the index needs of them."""

    seqs: np.ndarray  # int64, ascending
    texts: list[str]
    vectors: np.ndarray  # float32 (n, dimension)


class ReviewStore:
    """The reviews of one archive; as thread- and process-safe as the `Archive` itself."""

    def __init__(self, archive: Archive):
        self.archive = archive  # its tables are the archive's (index/storage/archive.py, and migrations/)

    # ---- writes ---------------------------------------------------------------------------

    def put_reviews(self, items: Sequence[tuple[Review, np.ndarray]], model: str) -> tuple[int, list[ReviewPut]]:
        """Insert or replace reviews (with their match_text vectors), all in one transaction."""
        if not items:
            return self.archive.generation(), []
        results = []
        dimension = int(items[0][1].shape[-1])
        with self.archive.write_transaction(model, dimension) as conn:
            for review, vector in items:
                if vector.shape != (dimension,):
                    raise ValueError(f"review {review.id}: a vector of shape {vector.shape}, not ({dimension},)")
                results.append(self._put(conn, review, vector))
        return self.archive.generation(), results

    def _put(self, conn, review: Review, vector: np.ndarray) -> ReviewPut:
        digest = content_hash(review)
        row = conn.execute("SELECT content_hash FROM reviews WHERE id = ? AND retired IS NULL", (review.id,)).fetchone()
        if row is not None and row[0] == digest:
            return ReviewPut(review.id, "unchanged")
        generation = self.archive.log_change(conn, review.id, "review_put")
        conn.execute("UPDATE reviews SET retired = ? WHERE id = ? AND retired IS NULL", (generation, review.id))
        r = review.rating
        conn.execute(
            "INSERT INTO reviews (id, claim, match_text, verdict, rating_text, rating_value, best_rating, "
            "worst_rating, reviewed_by, reviewed_at, url, title, claimant, claim_where, claim_date, note, evidence, "
            "vector, content_hash, added) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                review.id, review.claim, review.match_text, r.verdict, r.text, r.value, r.best, r.worst,
                review.reviewed_by, review.reviewed_at, review.url, review.title, review.claimant,
                review.claim_where, review.claim_date, review.note,
                json.dumps([e.sentence_id for e in review.evidence]),
                np.ascontiguousarray(vector, dtype=np.float32).tobytes(), digest, generation,
            ),
        )  # fmt: skip
        return ReviewPut(review.id, "created" if row is None else "updated")

    def delete_review(self, review_id: str) -> int | None:
        """Delete a live review; the new generation, or None if there was no such review."""
        with self.archive.write_transaction() as conn:
            if conn.execute("SELECT 1 FROM reviews WHERE id = ? AND retired IS NULL", (review_id,)).fetchone() is None:
                return None
            generation = self.archive.log_change(conn, review_id, "review_delete")
            conn.execute("UPDATE reviews SET retired = ? WHERE id = ? AND retired IS NULL", (generation, review_id))
        return generation

    def mark_not_same_claim(self, review_id: str, claim: str, marked_by: str) -> NotSameClaimMark | None:
        """An editor's mark: this review is not the same claim as `claim`. The pairing is never
        shown again (matching.match_reviews), and `evaluate.py --reviews` counts it as a labelled
        negative. None if there is no such live review."""
        key = claim_key(claim)
        with self.archive.write_transaction() as conn:
            if conn.execute("SELECT 1 FROM reviews WHERE id = ? AND retired IS NULL", (review_id,)).fetchone() is None:
                return None
            known = "SELECT 1 FROM review_marks WHERE review_id = ? AND claim = ?"
            if conn.execute(known, (review_id, key)).fetchone() is not None:
                return NotSameClaimMark(review_id, key, marked_by, self.archive.generation(), created=False)
            generation = self.archive.log_change(conn, review_id, "review_mark")
            conn.execute(
                "INSERT INTO review_marks (review_id, claim, marked_by, marked_at, added) VALUES (?,?,?,?,?)",
                (review_id, key, marked_by, datetime.now(UTC).isoformat(timespec="seconds"), generation),
            )
        return NotSameClaimMark(review_id, key, marked_by, generation, created=True)

    # ---- reads ----------------------------------------------------------------------------

    def marked_pairs(self, claims: Sequence[str]) -> set[tuple[str, str]]:
        """The (claim key, review id) pairs an editor marked "not the same claim", for these claims."""
        keys = sorted({claim_key(c) for c in claims})
        if not keys:
            return set()
        rows = self.archive.connection.execute(
            f"SELECT claim, review_id FROM review_marks WHERE claim IN ({','.join('?' * len(keys))})", keys
        ).fetchall()
        return {(claim, review_id) for claim, review_id in rows}

    def marks(self) -> list[tuple[str, str, str]]:
        """Every mark: (review id, claim key, marked by), oldest first."""
        rows = self.archive.connection.execute(
            "SELECT review_id, claim, marked_by FROM review_marks ORDER BY added, review_id"
        ).fetchall()
        return [tuple(r) for r in rows]

    def missing_sentences(self, ids: Sequence[int]) -> list[int]:
        """Of these sentence ids, those that are not live sentences of the archive now."""
        if not ids:
            return []
        rows = self.archive.connection.execute(
            f"SELECT id FROM sentences WHERE retired IS NULL AND id IN ({','.join('?' * len(ids))})",
            [int(i) for i in ids],
        )
        live = {r[0] for r in rows}
        return [i for i in ids if i not in live]

    def get(self, review_id: str) -> Review | None:
        row = self.archive.connection.execute(
            f"SELECT {_COLUMNS} FROM reviews WHERE id = ? AND retired IS NULL", (review_id,)
        ).fetchone()
        return self._reviews([row])[0] if row else None

    def by_seq(self, seqs: Sequence[int]) -> dict[int, Review]:
        """Reviews by row (live or recently replaced: a request keeps the generation it started with)."""
        if not seqs:
            return {}
        rows = self.archive.connection.execute(
            f"SELECT {_COLUMNS} FROM reviews WHERE seq IN ({','.join('?' * len(seqs))})", [int(s) for s in seqs]
        ).fetchall()
        return dict(zip((r[0] for r in rows), self._reviews(rows, check_evidence=False), strict=True))

    def list_reviews(
        self, limit: int = 50, cursor: str | None = None, verdict: str | None = None, reviewed_by: str | None = None
    ) -> tuple[list[Review], str | None]:
        """Live reviews, newest reviewed first (then by id), and the next page's cursor (None at the end)."""
        where, params = ["retired IS NULL"], {"limit": limit + 1}
        if verdict:
            where.append("verdict = :verdict")
            params["verdict"] = verdict
        if reviewed_by:
            where.append("reviewed_by = :by")
            params["by"] = reviewed_by
        if cursor:
            key, last_id = decode_cursor(cursor)
            where.append("(reviewed_at < :key OR (reviewed_at = :key AND id > :last))")
            params.update(key=key, last=last_id)
        rows = self.archive.connection.execute(
            f"SELECT {_COLUMNS} FROM reviews WHERE {' AND '.join(where)} ORDER BY reviewed_at DESC, id LIMIT :limit",
            params,
        ).fetchall()
        items = self._reviews(rows[:limit])
        more = len(rows) > limit
        return items, encode_cursor(items[-1].reviewed_at, items[-1].id) if more else None

    def known_vectors(self, review_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors of these live reviews by the text they were made from."""
        found: dict[str, np.ndarray] = {}
        conn = self.archive.connection
        for start in range(0, len(review_ids), 500):  # SQLite's bound on parameters
            chunk = list(review_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT match_text, vector FROM reviews WHERE retired IS NULL AND id IN ({marks})", chunk
            )
            found.update((text, np.frombuffer(vector, dtype=np.float32)) for text, vector in rows)
        return found

    def live_count(self) -> int:
        return self.archive.connection.execute("SELECT count(*) FROM reviews WHERE retired IS NULL").fetchone()[0]

    def rows(self, generation: int, added_after: int = 0) -> ReviewRows:
        """Rows live at `generation` added after `added_after`, in seq order, with their vectors."""
        rows = self.archive.connection.execute(
            f"SELECT seq, match_text, vector FROM reviews WHERE {_LIVE} AND added > :after ORDER BY seq",
            {"g": generation, "after": added_after},
        ).fetchall()
        dimension = (self.archive.model() or ("", 0))[1]
        vectors = (
            np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), dimension)
            if rows
            else np.zeros((0, dimension), dtype=np.float32)
        )
        return ReviewRows(np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows], vectors)

    def retired_seqs(self, added_up_to: int, retired_after: int, retired_up_to: int) -> np.ndarray:
        """Rows that existed at `added_up_to` and were retired in (retired_after, retired_up_to]."""
        rows = self.archive.connection.execute(
            "SELECT seq FROM reviews WHERE added <= ? AND retired > ? AND retired <= ?",
            (added_up_to, retired_after, retired_up_to),
        ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def _reviews(self, rows: Sequence[tuple], check_evidence: bool = True) -> list[Review]:
        evidence_ids = {int(i) for row in rows for i in json.loads(row[16])}
        sentences = self._sentence_states(sorted(evidence_ids)) if check_evidence else {}
        reviews = []
        for row in rows:
            (_, rid, claim, verdict, text, value, best, worst, by, at, url, title) = row[:12]
            claimant, where, when, note, evidence, added = row[12:]
            ids = [int(i) for i in json.loads(evidence)]
            refs = tuple(
                EvidenceRef(i, *sentences[i]) if i in sentences else EvidenceRef(i, not check_evidence) for i in ids
            )
            reviews.append(
                Review(
                    rid, claim, Rating(verdict, text, value, best, worst), by, at, url, title, claimant, where, when,
                    note, refs, added,
                )
            )  # fmt: skip
        return reviews

    def _sentence_states(self, ids: Sequence[int]) -> dict[int, tuple[bool, str, str]]:
        """(valid, article id, text) of each stored sentence: valid while its article revision is live."""
        if not ids:
            return {}
        rows = self.archive.connection.execute(
            f"SELECT id, retired IS NULL, article_id, text FROM sentences WHERE id IN ({','.join('?' * len(ids))})",
            list(ids),
        )
        return {sid: (bool(live), article_id, text) for sid, live, article_id, text in rows}


ENCODE_CHUNK = 256  # texts per encoder call while writing (the progress bar moves per chunk)


def write_reviews(
    store: ReviewStore,
    embedder: Embedder,
    reviews: Sequence[Review],
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> tuple[int, list[ReviewPut]]:
    """Embed what each review is matched on (each distinct text once, none already stored, outside
    any lock) and store them all in one transaction; returns (generation, per-review result)."""
    vectors = store.known_vectors([r.id for r in reviews])  # a re-import embeds nothing
    texts = sorted({r.match_text for r in reviews} - vectors.keys(), key=len)
    if on_total:
        on_total(len(texts))
    for start in range(0, len(texts), ENCODE_CHUNK):
        chunk = texts[start : start + ENCODE_CHUNK]
        vectors.update(zip(chunk, embedder.encode(chunk), strict=True))
        if progress:
            progress(len(chunk))
    return store.put_reviews([(r, vectors[r.match_text]) for r in reviews], model=embedder.name)


class EvidenceMissing(ReviewError):
    """Evidence ids that are not live sentences of the archive."""

    def __init__(self, missing: list[int]):
        super().__init__(f"not live sentences of the archive: {', '.join(map(str, missing))}")
        self.missing = missing


def record_review(
    store: ReviewStore, embedder: Embedder, fields: dict, reviewed_by: str, review_id: str | None = None
) -> tuple[int, ReviewPut, Review]:
    """Record one review from an editor (`fields` as `build_review` takes them; `reviewed_at`
    defaults to today), or replace the review `review_id`. `ReviewError` if it is not a review,
    `EvidenceMissing` if an evidence id is not a live sentence. Returns (generation, result, review as stored)."""
    fields = {k: v for k, v in fields.items() if v is not None}
    fields.setdefault("reviewed_at", datetime.now(UTC).date().isoformat())
    review = build_review(fields.pop("claim"), reviewed_by=reviewed_by, **fields)
    if review_id is not None:
        review = dataclasses.replace(review, id=review_id)
    missing = store.missing_sentences([e.sentence_id for e in review.evidence])
    if missing:
        raise EvidenceMissing(missing)
    generation, [put] = write_reviews(store, embedder, [review])
    return generation, put, store.get(review.id) or review
