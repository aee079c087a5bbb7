"""How long a claim waits while its worker embeds a large article write.

    .venv/bin/python benchmarks/claims_during_writes.py                 # 100 articles of 20 sentences
    .venv/bin/python benchmarks/claims_during_writes.py --articles 20 --sentences 50

One process as a gunicorn worker (one runtime thread), on a private copy of the sample
index: one thread posts `--articles` new articles in one `put_articles` call (as one
`POST /v1/articles` with a list does) while another verifies a claim every 50 ms.
Reported: the write's seconds, and the claims' latency while the write was embedding,
against the same claims with no write (median, max). Twice, on fresh copies of the index:
as served (a write goes to the model in parts of ENCODE_BATCH_TEXTS=64, taking turns with
claims) and with the whole write in one model call (how it was before parts).
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from harness import SAMPLE_ARTICLES, ms_each, one_worker_threads, table  # first: the path and offline flags

one_worker_threads()  # a gunicorn worker's caps, before numpy, FAISS and torch load

from index.ingestion.builder import build_index
from index.retrieval.batching import MAX_BATCH_TEXTS
from index.retrieval.embedder import load_embedder
from index.verify import ClaimVerifier, load_index
from index.writer import ArticleWriter

CLAIMS = ["Russia launched 133 drones", "Vance met Zelensky in Munich", "the talks were about a lasting peace"]
WORDS = ["minister", "council", "budget", "harbour", "railway", "energy", "court", "tariff"]


def _articles(count: int, sentences: int) -> list[dict]:
    def text(a: int) -> str:
        return " ".join(
            f"Sentence {s} of report {a} says the {WORDS[(a + s) % len(WORDS)]} rose by {a * 7 + s} percent in May."
            for s in range(sentences)
        )

    return [
        {"id": f"bulk-{a}", "title": f"Report {a}", "text": text(a), "published": "2025-03-01"} for a in range(count)
    ]


def _claims_while(verifier: ClaimVerifier, work: Callable[[], object]) -> tuple[list[float], float]:
    """Claim latencies (ms), one claim every 50 ms while `work()` runs, and the seconds it ran."""
    latencies: list[float] = []
    stop = threading.Event()

    def claims() -> None:
        for claim in itertools.cycle(CLAIMS):
            if stop.is_set():
                break
            latencies.extend(ms_each(verifier.verify_claim, [claim]))
            time.sleep(0.05)

    reader = threading.Thread(target=claims)
    reader.start()
    time.sleep(0.2)
    started = time.perf_counter()
    try:
        work()
    finally:
        seconds = time.perf_counter() - started
        stop.set()
        reader.join()
    return latencies, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Claim latency during a large article write, one worker.")
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--sentences", type=int, default=20, help="sentences per article")
    args = parser.parse_args(argv)

    embedder = load_embedder(threads=1)
    records = _articles(args.articles, args.sentences)
    work = Path(tempfile.mkdtemp(prefix="claims-during-writes-"))
    rows = []
    try:
        build_index([SAMPLE_ARTICLES], work / "base", embedder)
        for name, batch_texts in (("in parts of 64 (as served)", MAX_BATCH_TEXTS), ("in one model call", 10**9)):
            shutil.copytree(work / "base", work / name)
            verifier = ClaimVerifier(embedder, load_index(work / name), encode_batch_texts=batch_texts)
            writer = ArticleWriter(verifier, snapshot_after=10**9)  # no background snapshot in the way
            for claim in CLAIMS:
                verifier.verify_claim(claim)  # warm up
            quiet, _ = _claims_while(verifier, lambda: time.sleep(3))
            during, seconds = _claims_while(verifier, lambda w=writer: w.put_articles(records))
            rows.append(
                f"{name} | {seconds:.1f} | {statistics.median(quiet):.1f} / {max(quiet):.1f} | "
                f"{len(during)}, {statistics.median(during):.1f} / {max(during):.1f}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"write: {args.articles} articles, {args.articles * args.sentences} sentences, one put_articles call")
    header = "the write goes to the model | write s | claims, no write: median / max ms | during: n, median / max ms"
    print(table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
