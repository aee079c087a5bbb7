"""Concurrent requests share model calls: `BatchingEmbedder` queues their texts while the model runs."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.retrieval.batching import BatchingEmbedder
from index.retrieval.embedder import Embedder


class GatedEmbedder(Embedder):
    """A stand-in model: each text's vector is its length in one column; the first call
    waits for `release`, so tests can queue callers behind it deterministically."""

    name = "gated"
    backend = "test"
    batch_size = 64

    def __init__(self, fail_on: str | None = None):
        self.calls: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.active = 0
        self.overlapped = False
        self.fail_on = fail_on

    @property
    def dimension(self) -> int:
        return 4

    @property
    def max_tokens(self) -> int:
        return 8

    def _enter(self) -> None:
        self.active += 1
        self.overlapped |= self.active > 1

    def encode(self, texts):
        self._enter()
        try:
            self.calls.append(list(texts))
            self.started.set()
            self.release.wait(5)
            if self.fail_on in texts:
                raise RuntimeError(f"cannot encode {self.fail_on!r}")
            out = np.zeros((len(texts), 4), dtype=np.float32)
            out[:, 0] = [len(t) for t in texts]
            return out
        finally:
            self.active -= 1

    def token_counts(self, texts):
        self._enter()
        try:
            return [len(t.split()) + 2 for t in texts]
        finally:
            self.active -= 1


def _queue_behind_first_call(batcher: BatchingEmbedder, model: GatedEmbedder, first: list[str], later: list[list[str]]):
    """Start `first`, wait until the model is running it, then start `later` (which must queue)."""
    pool = ThreadPoolExecutor(len(later) + 1)
    futures = [pool.submit(batcher.encode, first)]
    assert model.started.wait(5)
    futures += [pool.submit(batcher.encode, texts) for texts in later]
    while sum(len(j.items) for j in batcher.batcher._queue) < sum(len(t) for t in later):
        threading.Event().wait(0.001)  # until every later caller has queued
    model.release.set()
    pool.shutdown(wait=True)
    return futures


def test_a_lone_caller_runs_at_once_in_one_call():
    model = GatedEmbedder()
    model.release.set()
    vectors = BatchingEmbedder(model).encode(["one", "three"])
    assert model.calls == [["one", "three"]]
    assert vectors[:, 0].tolist() == [3, 5]


def test_callers_queued_behind_a_running_call_share_the_next_call():
    model = GatedEmbedder()
    batcher = BatchingEmbedder(model)
    later = [["a"], ["bb", "ccc"], ["dddd"]]
    futures = _queue_behind_first_call(batcher, model, ["first"], later)
    assert len(model.calls) == 2, model.calls
    assert model.calls[1] == ["a", "bb", "ccc", "dddd"]
    # Each caller gets its own rows back, in its own order.
    assert [f.result()[:, 0].tolist() for f in futures] == [[5], [1], [2, 3], [4]]
    stats = batcher.stats()
    assert (stats.calls, stats.jobs, stats.texts) == (2, 4, 5)
    assert stats.jobs / stats.calls == 2


def test_a_call_carries_at_most_max_batch_texts_and_bigger_requests_go_in_parts():
    model = GatedEmbedder()
    batcher = BatchingEmbedder(model, max_batch_texts=3)
    futures = _queue_behind_first_call(batcher, model, ["first"], [["a", "b"], ["c", "d"], ["e", "f", "g", "h"]])
    # Whole requests share a call; one too big for the room left goes in the next call, in parts.
    assert model.calls == [["first"], ["a", "b"], ["c", "d"], ["e", "f", "g"], ["h"]]
    assert [f.result()[:, 0].tolist() for f in futures] == [[5], [1, 1], [1, 1], [1, 1, 1, 1]]
    assert batcher.stats().jobs == 4


def test_the_rest_of_a_large_request_goes_back_in_line_after_each_part():
    model = GatedEmbedder()
    batcher = BatchingEmbedder(model, max_batch_texts=3)
    futures = _queue_behind_first_call(batcher, model, ["first"], [list("abcdefg"), ["x"]])
    assert model.calls == [["first"], ["a", "b", "c"], ["x"], ["d", "e", "f"], ["g"]]
    assert futures[1].result().shape == (7, 4)


def test_a_claim_arriving_during_a_large_write_waits_for_one_part_not_the_whole_write():
    model = GatedEmbedder()
    batcher = BatchingEmbedder(model, max_batch_texts=4)
    sentences = [f"sentence {i}" for i in range(10)]
    futures = _queue_behind_first_call(batcher, model, sentences, [["a claim"]])
    assert model.calls[0] == sentences[:4]
    assert model.calls[1] == ["a claim"]  # alone: not slowed by the write's next part
    assert model.calls[2:] == [sentences[4:8], sentences[8:]]
    assert futures[1].result()[:, 0].tolist() == [7]
    assert futures[0].result()[:, 0].tolist() == [len(s) for s in sentences]  # in order, all of them


def test_nothing_to_encode_needs_no_model_call():
    model = GatedEmbedder()
    assert BatchingEmbedder(model).encode([]).shape == (0, 4)
    assert model.calls == []


def test_an_error_reaches_every_caller_of_that_call_and_the_next_call_still_runs():
    model = GatedEmbedder(fail_on="bad")
    batcher = BatchingEmbedder(model)
    futures = _queue_behind_first_call(batcher, model, ["first"], [["bad"], ["fine"]])
    assert futures[0].result()[:, 0].tolist() == [5]
    for failed in futures[1:]:
        with pytest.raises(RuntimeError, match="cannot encode 'bad'"):
            failed.result()
    assert batcher.encode(["again"])[:, 0].tolist() == [5]
    assert not batcher.batcher._running


def test_never_two_model_calls_or_a_tokenizer_call_at_once():
    model = GatedEmbedder()
    model.release.set()
    batcher = BatchingEmbedder(model)
    long_text = "word " * 20  # longer than max_tokens characters, so it is tokenized

    def work(i: int):
        batcher.encode([f"claim {i}"])
        return batcher.truncated([long_text])

    with ThreadPoolExecutor(8) as pool:
        flags = list(pool.map(work, range(200)))
    assert flags == [[True]] * 200
    assert not model.overlapped
    assert batcher.stats().jobs == 200


def test_the_wrapper_reports_the_wrapped_models_identity():
    model = GatedEmbedder()
    batcher = BatchingEmbedder(model)
    assert (batcher.name, batcher.backend, batcher.dimension, batcher.max_tokens) == ("gated", "test", 4, 8)


def test_real_model_concurrent_claims_get_the_vectors_they_get_alone(embedder):
    """Batching pads claims to the longest in the call; the attention mask keeps the vectors the same."""
    claims = [
        "Russia launched 133 drones",
        "Vance met Zelensky in Munich on Friday to talk about a lasting peace in Ukraine",
        "peace",
        "The United States wants a deal on minerals",
    ] * 4
    alone = np.vstack([embedder.encode([c]) for c in claims])
    batcher = BatchingEmbedder(embedder)
    with ThreadPoolExecutor(8) as pool:
        together = np.vstack(list(pool.map(lambda c: batcher.encode([c]), claims)))
    assert np.min(np.sum(alone * together, axis=1)) > 0.9999


def test_concurrent_verifications_match_sequential_ones(verifier):
    claims = ["Russia launched 133 drones", "Vance met Zelensky in Munich", "Ukraine signed a minerals deal"] * 4
    sequential = [verifier.verify_claim(c) for c in claims]
    with ThreadPoolExecutor(6) as pool:
        concurrent = list(pool.map(verifier.verify_claim, claims))
    for one, other in zip(sequential, concurrent, strict=True):
        assert (one.verdict, [e.start for e in one.evidence]) == (other.verdict, [e.start for e in other.evidence])
        assert [e.score for e in one.evidence] == pytest.approx([e.score for e in other.evidence], abs=1e-4)
