"""BM25 (index/retrieval/lexical.py) at scale: build time, size on disk, and one claim's search, per archive size.

    .venv/bin/python benchmarks/lexical_scale.py --sizes 100k,1M

Sentences: `synthetic_corpus` wire-copy sentences (seeded; smaller sizes are prefixes of
larger ones). Claims: `make_claims` over the same sentences. The index is built, saved and
loaded memory-mapped, as a worker loads a snapshot; each claim is one `search` call, 50
deep (`index.verify.CANDIDATES`), on one thread, as a worker searches. For the capacity
plan (docs/capacity.md): what one claim's BM25 search costs as the archive grows.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from harness import command, contention, log, machine, ms_each, one_worker_threads, percentile, seconds_of, sizes, table

one_worker_threads()

from synthetic_corpus import _articles, make_claims

from index.retrieval.lexical import LexicalIndex


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100k,1M", help="comma-separated sentence counts")
    p.add_argument("--claims", type=int, default=300)
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--seed", type=int, default=11)
    a = p.parse_args()
    counts = sizes(a.sizes)
    started = time.perf_counter()
    texts = [sentence for _, body in _articles(a.seed, None, max(counts)) for sentence in body]
    log(f"generated {len(texts):,} sentences in {time.perf_counter() - started:.0f}s")
    print(f"{machine()}\n")
    header = "sentences | build s | on disk MB | bytes a sentence | search p50 ms | p95 ms | mean ms"
    print(table(header, []), flush=True)
    for n in counts:
        claims = make_claims(texts[:n], a.claims, seed=a.seed)
        work = Path(tempfile.mkdtemp(prefix="lexical-"))
        try:
            build = seconds_of(lambda n=n, work=work: LexicalIndex.build(texts[:n]).save(work))
            size = sum(f.stat().st_size for f in work.rglob("*") if f.is_file())
            index = LexicalIndex.load(work)
            for claim in claims[:20]:  # warm-up: the mapped pages a search touches
                index.search([claim], a.k)
            times = ms_each(lambda claim, index=index: index.search([claim], a.k), claims)
            print(
                f"| {n:,} | {build:.1f} | {size / 2**20:,.0f} | {size / n:.0f} | {statistics.median(times):.2f} "
                f"| {percentile(times, 95):.2f} | {statistics.fmean(times):.2f} |",
                flush=True,
            )
        finally:
            shutil.rmtree(work)
    print(f"\n{command()} ({time.perf_counter() - started:.0f}s); at the end {contention()}")


if __name__ == "__main__":
    main()
