"""End-to-end index build throughput beside raw `SentenceTransformer.encode` on the same sentences.

    .venv/bin/python benchmarks/build_throughput.py                       # 20k sentences, 3 rounds
    .venv/bin/python benchmarks/build_throughput.py --sentences 5000 --rounds 5 --profile var/bench/build.prof

Issue 6's bar: a build (parse, split, embed, SQLite, FAISS, BM25, snapshot) runs at ≥ 0.9×
the sentences/s of encoding the same texts with the model alone. Both use one loaded
model, the same batch size and the same texts (every sentence the build embeds, each
once: the synthetic corpus has no repeated sentence), in the same process, alternating
which goes first each round so drift in the machine's load hits both alike. Reported:
wall-clock and CPU-time (process_time: all threads) sentences/s, their medians, and the
ratio of medians and the median of per-round ratios. `--profile` runs one more build
under cProfile and prints where the time goes outside the model.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import synthetic_corpus  # noqa: E402 (benchmarks/ is the script's directory)

from index.builder import build_index  # noqa: E402
from index.embedder import load_embedder  # noqa: E402
from index.ingest import read_articles  # noqa: E402
from index.sentences import article_sentences  # noqa: E402


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build throughput versus raw encode, same run.")
    parser.add_argument("--sentences", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64, help="as scripts/build_index.py (default 64)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, as a build)")
    parser.add_argument("--work", default=str(ROOT / "var" / "bench"), help="corpus and scratch indexes go here")
    parser.add_argument("--cli", action="store_true", help="also time scripts/build_index.py once, model load included")
    parser.add_argument("--profile", help="write a cProfile of one more build here and print the top entries")
    args = parser.parse_args(argv)

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / f"corpus-{args.sentences // 1000}k-s{args.seed}.jsonl"
    if not corpus.exists():
        synthetic_corpus.write_jsonl(corpus, synthetic_corpus.generate(seed=args.seed, sentences=args.sentences))
    ingest = read_articles([corpus])
    texts = [s.text for a in ingest.articles for s in article_sentences(a)]
    unique = list(dict.fromkeys(texts))
    n = len(unique)

    embedder = load_embedder(batch_size=args.batch_size, threads=args.threads)
    import torch

    print(f"corpus: {corpus.name}, {len(ingest.articles)} articles, {len(texts)} sentences ({n} unique)")
    print(f"torch threads {torch.get_num_threads()}, batch size {args.batch_size}, rounds {args.rounds}")
    embedder.model.encode(unique[:256], batch_size=args.batch_size, show_progress_bar=False)  # warm up

    def raw() -> None:
        model = embedder.model
        model.encode(unique, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False)

    def build() -> None:
        out = Path(tempfile.mkdtemp(prefix="build-", dir=work))
        try:
            report = build_index([corpus], out, embedder)
            assert report.embedded == n, (report.embedded, n)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    rows = []
    for round_no in range(args.rounds):
        order = (("build", build), ("encode", raw)) if round_no % 2 == 0 else (("encode", raw), ("build", build))
        times = {}
        for name, fn in order:
            times[name] = _timed(fn)
        rows.append(times)
        b, e = times["build"], times["encode"]
        print(
            f"round {round_no + 1} ({order[0][0]} first): build {n / b[0]:.0f}/s wall, {n / b[1]:.0f}/s CPU; "
            f"encode {n / e[0]:.0f}/s wall, {n / e[1]:.0f}/s CPU; ratio {e[0] / b[0]:.3f} wall, {e[1] / b[1]:.3f} CPU"
        )

    def med(name: str, i: int) -> float:
        return statistics.median(r[name][i] for r in rows)

    print()
    print("| measure | build (sentences/s) | raw encode (sentences/s) | build ÷ encode | median of round ratios |")
    print("|---|---|---|---|---|")
    for i, label in ((0, "wall clock"), (1, "CPU time")):
        ratios = statistics.median(r["encode"][i] / r["build"][i] for r in rows)
        print(
            f"| {label} | {n / med('build', i):.0f} | {n / med('encode', i):.0f} | "
            f"{med('encode', i) / med('build', i):.3f} | {ratios:.3f} |"
        )

    if args.cli:
        out = Path(tempfile.mkdtemp(prefix="cli-", dir=work))
        try:
            started = time.perf_counter()
            script = [sys.executable, str(ROOT / "scripts" / "build_index.py"), "--no-progress"]
            done = subprocess.run(
                [*script, "--out", str(out), "--batch-size", str(args.batch_size), str(corpus)],
                capture_output=True,
                text=True,
                check=True,
            )
            seconds = time.perf_counter() - started
        finally:
            shutil.rmtree(out, ignore_errors=True)
        print(f"\nscripts/build_index.py (model load included): {seconds:.1f}s, {n / seconds:.0f} sentences/s")
        print(done.stdout.strip())

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(build)
        profiler.dump_stats(args.profile)
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream).sort_stats("cumulative")
        stats.print_stats(40)
        print(stream.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
