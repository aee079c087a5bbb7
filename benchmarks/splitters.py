"""Sentence splitter throughput on the sample corpus (why the index uses nupunkt).

    make .venv/.test && .venv/bin/python benchmarks/splitters.py   # pysbd is in requirements-test.lock

Both splitters run on the same text in the same process; the ratio is the figure to compare.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nupunkt
import pysbd

from index.ingest import read_articles


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
    article = read_articles([Path(__file__).resolve().parent.parent / "data" / "articles"]).articles[0]
    text = "\n\n".join(b.text for b in article.evidence_blocks) * 20
    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    t_nupunkt = _median_seconds(nupunkt.sent_spans_with_text, text)
    t_pysbd = _median_seconds(segmenter.segment, text, repeats=3)
    print(f"text: {len(text):,} characters")
    print(f"nupunkt: {len(text) / t_nupunkt / 1e6:.2f}M chars/s")
    print(f"pysbd:   {len(text) / t_pysbd / 1e3:.0f}k chars/s")
    print(f"nupunkt is {t_pysbd / t_nupunkt:.0f}x faster")


if __name__ == "__main__":
    main()
