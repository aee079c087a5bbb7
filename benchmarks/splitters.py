"""Sentence splitter throughput on the sample corpus (why the index uses nupunkt).

    make .venv/.test && .venv/bin/python benchmarks/splitters.py   # pysbd is in requirements-test.lock

Both splitters run on the same text in the same process; the ratio is the figure to compare.
"""

from __future__ import annotations

import argparse
import statistics
import time

import harness  # first: the path and offline flags
import nupunkt
import pysbd

from index.ingestion.ingest import read_articles


def _median_seconds(fn, text: str, repeats: int = 5) -> float:
    """Median over runs; each run gets a slightly different text so no result cache can help."""
    fn("Warm up. The model loads here.")
    times = []
    for i in range(repeats):
        variant = f"Run {i}. {text}"
        started = time.perf_counter()
        fn(variant)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20, help="the sample article repeated this many times")
    parser.add_argument("--repeats", type=int, default=5, help="runs per splitter (median reported)")
    args = parser.parse_args()
    article = read_articles([harness.ROOT / "data" / "articles"]).articles[0]
    text = "\n\n".join(b.text for b in article.evidence_blocks) * args.copies
    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    t_nupunkt = _median_seconds(nupunkt.sent_spans_with_text, text, repeats=args.repeats)
    t_pysbd = _median_seconds(segmenter.segment, text, repeats=max(1, args.repeats * 3 // 5))
    print(f"text: {len(text):,} characters")
    print(f"nupunkt: {len(text) / t_nupunkt / 1e6:.2f}M chars/s")
    print(f"pysbd:   {len(text) / t_pysbd / 1e3:.0f}k chars/s")
    print(f"nupunkt is {t_pysbd / t_nupunkt:.0f}x faster")


if __name__ == "__main__":
    main()
