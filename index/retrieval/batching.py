"""Running the model inputs of concurrent requests together, one model call at a time.

A gunicorn worker serves several requests at once on its threads, and each one needs its
claim embedded. One model call on 8 short texts costs about 80% of 8 calls on one text
each (BENCHMARKS.md, "Serving"), and the model runs one call at a time per worker anyway
(one runtime thread per worker, so workers don't fight over the cores). So callers queue,
and whoever finds the model idle runs it for everybody queued. There is no timer: a lone
request never waits for company, and under load every call carries what arrived while
the previous one ran. The same queue serves the embedder (texts) and the NLI judge
((sentence, claim) pairs): `CallBatcher` is the queue, `BatchingEmbedder` the embedder on it.

A call carries at most `max_batch_texts` texts. A bigger request (an article write of
thousands of sentences) goes in parts, and after each part it goes back to the end of the
queue: claims that arrived meanwhile go first, in a call of their own, so a write delays
a claim by at most one part (64 sentences, about a quarter of a second), not by the
whole write (seconds).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.common.observe import observer
from index.retrieval.embedder import Embedder

# Texts per model call at most (a request with more goes in parts, taking turns with others).
MAX_BATCH_TEXTS = 64


@dataclass(eq=False)
class _Job:
    items: list[Any]
    taken: int = 0  # items handed to model calls so far (they go in order)
    parts: list[np.ndarray] = field(default_factory=list)
    rows: np.ndarray | None = None
    error: BaseException | None = None
    done: bool = False

    def result(self) -> np.ndarray:
        if self.error is not None:
            raise self.error
        return self.rows


@dataclass(frozen=True)
class BatchingStats:
    calls: int  # model calls made
    jobs: int  # run() calls served
    texts: int  # items (texts or pairs) through the model


class CallBatcher:
    """Makes `call(items) -> one row per item` safe to use from many threads, batching their items."""

    def __init__(self, call: Callable[[list[Any]], np.ndarray], max_batch: int = MAX_BATCH_TEXTS, name: str = "model"):
        self.call = call
        self.max_batch = max_batch
        self.name = name  # as the observer reports its calls ("embedder", "judge")
        self._changed = threading.Condition()
        self._queue: deque[_Job] = deque()
        self._running = False
        self._calls = self._jobs = self._items = 0

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the model alone (no call runs meanwhile), e.g. to use its tokenizer."""
        with self._changed:
            while self._running:
                self._changed.wait()
            self._running = True
        try:
            yield
        finally:
            with self._changed:
                self._running = False
                self._changed.notify_all()

    def run(self, items: Sequence[Any]) -> np.ndarray:
        job = _Job(list(items))
        with self._changed:
            self._queue.append(job)
        # Jobs run in arrival order; a caller may run a call or two for others before its own.
        while True:
            with self._changed:
                while self._running and not job.done:
                    self._changed.wait()
                if job.done:
                    return job.result()
                batch = self._take()
                self._running = True
            self._run(batch)

    def stats(self) -> BatchingStats:
        with self._changed:
            return BatchingStats(self._calls, self._jobs, self._items)

    def _take(self) -> list[tuple[_Job, int, int]]:
        """(job, first, last) item ranges from the oldest queued jobs, up to `max_batch` items."""
        batch = []
        room = self.max_batch
        while self._queue and room:
            if batch and len(self._queue[0].items) - self._queue[0].taken > room:
                break  # a part of a large request rides alone, so the claims before it stay quick
            job = self._queue.popleft()
            count = min(len(job.items) - job.taken, room)
            batch.append((job, job.taken, job.taken + count))
            job.taken += count
            room -= count
        return batch

    def _run(self, batch: list[tuple[_Job, int, int]]) -> None:
        rows, error = None, None
        items = [item for job, first, last in batch for item in job.items[first:last]]
        started = time.perf_counter()
        try:
            rows = self.call(items)
            observer().model_call(self.name, len(items), time.perf_counter() - started)
        except BaseException as exc:  # every caller in the batch gets the error, and the queue moves on
            error = exc
        finally:
            with self._changed:
                row = 0
                for job, first, last in batch:
                    if error is not None:
                        job.error = error
                        job.done = True
                        self._jobs += 1
                        continue
                    job.parts.append(rows[row : row + last - first])
                    row += last - first
                    if last == len(job.items):
                        job.rows = job.parts[0] if len(job.parts) == 1 else np.concatenate(job.parts)
                        job.done = True
                        self._jobs += 1
                    else:
                        self._queue.append(job)  # the rest after whoever is waiting now
                self._calls += 1
                self._items += row
                self._running = False
                self._changed.notify_all()


class BatchingEmbedder(Embedder):
    """An `Embedder` whose `encode` is safe to call from many threads and batches their texts.

    Everything else (name, dimension, token counts) is the wrapped embedder's.
    """

    def __init__(self, embedder: Embedder, max_batch_texts: int = MAX_BATCH_TEXTS):
        self.inner = embedder
        self.name = embedder.name
        self.backend = embedder.backend
        self.batch_size = embedder.batch_size
        self.max_batch_texts = max_batch_texts
        self.batcher = CallBatcher(embedder.encode, max_batch_texts, name="embedder")

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        # Not beside a model call: a transformers tokenizer is shared state ("Already borrowed").
        with self.batcher.exclusive():
            return self.inner.token_counts(texts)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.batcher.run(texts)

    def stats(self) -> BatchingStats:
        return self.batcher.stats()
