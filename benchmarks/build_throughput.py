"""End-to-end index build throughput beside the raw model encode on the same sentences.

    .venv/bin/python benchmarks/build_throughput.py                       # 20k sentences, 3 rounds
    .venv/bin/python benchmarks/build_throughput.py --sentences 5000 --rounds 5 --profile var/bench/build.prof

Issue 6's bar: a build (parse, split, embed, SQLite, FAISS, BM25, snapshot) runs at ≥ 0.9×
the sentences/s of encoding the same texts with the model alone, on the same runtime
(`--backend`: ONNX Runtime by default, as a build; torch's raw encode is
`SentenceTransformer.encode`, ONNX's is the session run, tokenizer included, with no
storage around it). Both use one loaded model, the same batch size and the same texts
(every sentence the build embeds, each once: the synthetic corpus has no repeated
sentence), in the same process, alternating which goes first each round so drift in the
machine's load hits both alike. Reported:
wall-clock and CPU-time (process_time: all threads) sentences/s, their medians, and the
ratio of medians and the median of per-round ratios. `--cli` adds scripts/build_index.py
in a new process to every round (imports and model load included; CPU time then counts
the child's). `--profile` runs one more build under cProfile and prints where the time
goes outside the model.

`--ray 1,2` adds the Ray build (index/ray_build.py, the cluster extra) to every round, once
per actor count: the same build_index with Ray Data reading, splitting and embedding on a
local cluster of this machine's cores, each actor reserving cores ÷ actors CPUs (and running
its model on as many threads). The cluster is started once, before the rounds, like the
cluster `--ray ADDRESS` reaches; each build starts its actors and loads their models, as a
build does. Issue 13's bar: Ray at 1 actor takes ≤ 1.15× the local build's wall time.

    .venv/bin/python benchmarks/build_throughput.py --sentences 20000 --rounds 3 --ray 1,2
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from harness import ROOT  # first: the path and offline flags

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import synthetic_corpus

from index.builder import build_index
from index.embedder import BACKENDS, DEFAULT_BACKEND, Embedder, default_onnx_dir, load_embedder
from index.ingest import read_articles
from index.sentences import article_sentences


def _cpu() -> float:
    """CPU seconds of this process (all threads) and of its finished children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds)."""
    wall, cpu = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - wall, _cpu() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build throughput versus raw encode, same run.")
    parser.add_argument("--sentences", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64, help="as scripts/build_index.py (default 64)")
    parser.add_argument(
        "--threads", type=int, default=None, help="runtime threads (default: the runtime's, as a build)"
    )
    parser.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND, help="embedding runtime, as a build")
    parser.add_argument("--work", default=str(ROOT / "var" / "bench"), help="corpus and scratch indexes go here")
    parser.add_argument(
        "--cli", action="store_true", help="also time scripts/build_index.py in each round (model load included)"
    )
    parser.add_argument("--profile", help="write a cProfile of one more build here and print the top entries")
    parser.add_argument(
        "--ray", help="also build on a local Ray cluster with these actor counts (e.g. 1,2; the cluster extra)"
    )
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        return _run(args, stack)


def _run(args: argparse.Namespace, stack: ExitStack) -> int:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / f"corpus-{args.sentences // 1000}k-s{args.seed}.jsonl"
    if not corpus.exists():
        synthetic_corpus.write_jsonl(corpus, synthetic_corpus.generate(seed=args.seed, sentences=args.sentences))
    ingest = read_articles([corpus])
    texts = [s.text for a in ingest.articles for s in article_sentences(a)]
    unique = list(dict.fromkeys(texts))
    n = len(unique)

    embedder = load_embedder(batch_size=args.batch_size, threads=args.threads, backend=args.backend)
    print(f"corpus: {corpus.name}, {len(ingest.articles)} articles, {len(texts)} sentences ({n} unique)")
    print(
        f"backend {args.backend}, threads {args.threads or 'default'}, "
        f"batch size {args.batch_size}, rounds {args.rounds}"
    )

    if args.backend == "torch":

        def raw() -> None:
            embedder.model.encode(
                unique, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
    else:

        def raw() -> None:
            embedder.encode(unique)  # OnnxEmbedder.encode is tokenizer + session.run + normalise

    embedder.encode(unique[:256])  # warm up

    def build() -> None:
        out = Path(tempfile.mkdtemp(prefix="build-", dir=work))
        try:
            report = build_index([corpus], out, embedder)
            assert report.embedded == n, (report.embedded, n)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def cli() -> None:
        """scripts/build_index.py in a new process: imports and model load included."""
        out = Path(tempfile.mkdtemp(prefix="cli-", dir=work))
        try:
            script = [
                sys.executable,
                str(ROOT / "scripts" / "build_index.py"),
                "--no-progress",
                "--backend",
                args.backend,
            ]
            subprocess.run(
                [*script, "--out", str(out), "--batch-size", str(args.batch_size), str(corpus)],
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            shutil.rmtree(out, ignore_errors=True)

    contenders = {"build": build, "encode": raw}
    if args.cli:
        contenders["cli"] = cli
    labels = {
        "build": "build_index (in process)",
        "cli": "scripts/build_index.py (new process, model load)",
        "encode": f"raw encode ({args.backend})",
    }
    if args.ray:
        contenders.update(_ray_builds(args, stack, embedder, corpus, work, n, labels))
    rows = []
    for round_no in range(args.rounds):
        # Rotate the order each round, so drift in the machine's load hits every contender alike.
        names = list(contenders)
        names = names[round_no % len(names) :] + names[: round_no % len(names)]
        times = {name: _timed(contenders[name]) for name in names}
        rows.append(times)
        print(
            f"round {round_no + 1} ({' → '.join(names)}): "
            + "; ".join(
                f"{name} {n / w:.0f}/s wall, "
                + (f"{w / times['build'][0]:.3f}× build's time" if name.startswith("ray") else f"{n / c:.0f}/s CPU")
                for name, (w, c) in times.items()
            )
            + f"; build ÷ encode {times['encode'][0] / times['build'][0]:.3f} wall",
            flush=True,
        )

    def med(name: str, i: int) -> float:
        return statistics.median(r[name][i] for r in rows)

    print()
    print("| what | sentences/s wall (median) | ÷ raw encode | median of round ratios | sentences/s CPU | ÷ raw |")
    print("|---|---|---|---|---|---|")
    for name in contenders:
        wall_ratios = statistics.median(r["encode"][0] / r[name][0] for r in rows)
        # A Ray build's actors are the raylet's children, not ours: their CPU time is not counted.
        cpu = (
            "n/a | n/a" if name.startswith("ray") else f"{n / med(name, 1):.0f} | {med('encode', 1) / med(name, 1):.3f}"
        )
        print(
            f"| {labels[name]} | {n / med(name, 0):.0f} | "
            f"{med('encode', 0) / med(name, 0):.3f} | {wall_ratios:.3f} | {cpu} |"
        )
    if args.ray:
        print("\n| what | wall ÷ local build (median of round ratios) | per round |")
        print("|---|---|---|")
        for name in (c for c in contenders if c.startswith("ray")):
            ratios = [r[name][0] / r["build"][0] for r in rows]
            per_round = ", ".join(f"{x:.3f}" for x in ratios)
            print(f"| {labels[name]} | {statistics.median(ratios):.3f} | {per_round} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(build)
        profiler.dump_stats(args.profile)
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream).sort_stats("cumulative")
        stats.print_stats(40)
        print(stream.getvalue())
    return 0


def _ray_builds(
    args: argparse.Namespace, stack: ExitStack, embedder: Embedder, corpus: Path, work: Path, n: int, labels: dict
) -> dict:
    """One contender per actor count: build_index with Ray's split and encode, on a local cluster
    started here (closed with `stack`); the actors load the model as `embedder` was loaded."""
    from index import ray_build

    cores = os.cpu_count() or 1
    started = time.perf_counter()
    stack.enter_context(ray_build.ray_cluster("local", cpus=cores))
    print(f"Ray local cluster, {cores} CPUs, started in {time.perf_counter() - started:.1f}s (not in the rounds)")
    options = {
        "model_path": None,
        "backend": args.backend,
        "onnx_dir": str(Path(default_onnx_dir()).resolve()),
        "batch_size": args.batch_size,
    }
    contenders = {}
    for actors in (int(a) for a in args.ray.split(",")):
        ray = ray_build.RayBuild(options, actors=actors, actor_cpus=max(1, cores // actors))
        name = f"ray-{actors}"
        labels[name] = f"Ray local, {actors} actor{'s' if actors > 1 else ''} × {ray.actor_cpus} CPUs"

        def build(ray: ray_build.RayBuild = ray) -> None:
            out = Path(tempfile.mkdtemp(prefix="ray-", dir=work))
            try:
                report = build_index([corpus], out, embedder, split=ray.split, encode=ray.encode)
                assert report.embedded == n, (report.embedded, n)
            finally:
                shutil.rmtree(out, ignore_errors=True)

        contenders[name] = build
    # Ray Data's first pipeline in a driver starts its own helpers; a build on a running cluster
    # has them already.
    started = time.perf_counter()
    ray_build.RayBuild(options).split([corpus])
    print(
        f"first Ray Data pipeline (read and split the corpus) {time.perf_counter() - started:.1f}s (not in the rounds)"
    )
    return contenders


if __name__ == "__main__":
    sys.exit(main())
