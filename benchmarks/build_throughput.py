"""End-to-end index build throughput beside the raw model encode on the same sentences.

    .venv/bin/python benchmarks/build_throughput.py                       # 20k sentences, 3 rounds
    .venv/bin/python benchmarks/build_throughput.py --sentences 5000 --rounds 5 --profile var/bench/build.prof
    .venv/bin/python benchmarks/build_throughput.py --sentences 20000 --rounds 3 --ray 1,2

Issue 6's bar: a build (parse, split, embed, SQLite, FAISS, BM25, snapshot) runs at ≥ 0.9×
the sentences/s of encoding the same texts with the model alone, on the same runtime
(`--backend`; torch's raw encode is `SentenceTransformer.encode`, ONNX's the session run,
tokenizer included). Both use one loaded model, the same batch size and the same texts (each
sentence once), in one process, the order rotating each round. Reported: wall-clock and CPU-time
(all threads) sentences/s, their medians, the ratio of medians and the median of per-round
ratios. `--cli` adds scripts/build_index.py in a new process to every round (model load
included; CPU time then counts the child's); `--profile` runs one more build under cProfile.

`--ray 1,2` adds the Ray build (index/ingestion/ray_build.py, the cluster extra) once per actor count: Ray
Data reads, splits and embeds on a local cluster of this machine's cores (cores ÷ actors CPUs and
model threads per actor), started once before the rounds; each build starts its actors and loads
their models. Issue 13's bar: Ray at 1 actor takes ≤ 1.15× the local build's wall time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from statistics import median

import synthetic_corpus
from harness import ROOT, rotated, table  # first: the path and offline flags

from index.documents.sentences import article_sentences
from index.ingestion.builder import build_index
from index.ingestion.ingest import read_articles
from index.retrieval.embedder import BACKENDS, DEFAULT_BACKEND, TEXTS_PER_RUN, default_onnx_dir, load_embedder


def _cpu() -> float:
    """CPU seconds of this process (all threads) and of its finished children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(fn: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds)."""
    wall, cpu = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - wall, _cpu() - cpu


def _in_scratch(work: Path, prefix: str, build: Callable[[Path], None]) -> None:
    """`build(out)` into a new folder under `work`, removed afterwards."""
    out = Path(tempfile.mkdtemp(prefix=prefix, dir=work))
    try:
        build(out)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build throughput versus raw encode, same run.")
    add = parser.add_argument
    add("--sentences", type=int, default=20_000)
    add("--seed", type=int, default=7)
    add("--rounds", type=int, default=3)
    add("--batch-size", type=int, default=TEXTS_PER_RUN, help=f"as scripts/build_index.py (default {TEXTS_PER_RUN})")
    add("--threads", type=int, default=None, help="runtime threads (default: the runtime's, as a build)")
    add("--backend", choices=BACKENDS, default=DEFAULT_BACKEND, help="embedding runtime, as a build")
    add("--work", default=str(ROOT / "var" / "bench"), help="corpus and scratch indexes go here")
    add("--cli", action="store_true", help="also time scripts/build_index.py in each round (model load included)")
    add("--profile", help="write a cProfile of one more build here and print the top entries")
    add("--ray", help="also build on a local Ray cluster with these actor counts (e.g. 1,2; the cluster extra)")
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
    threads = args.threads or "default"
    print(f"backend {args.backend}, threads {threads}, batch size {args.batch_size}, rounds {args.rounds}")

    def raw() -> None:
        if args.backend == "torch":
            embedder.model.encode(
                unique, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        else:
            embedder.encode(unique)  # OnnxEmbedder.encode is tokenizer + session.run + normalise

    embedder.encode(unique[:256])  # warm up

    def build(out: Path, **ray) -> None:
        report = build_index([corpus], out, embedder, **ray)
        assert report.embedded == n, (report.embedded, n)

    def cli(out: Path) -> None:
        """scripts/build_index.py in a new process: imports and model load included."""
        script = [sys.executable, str(ROOT / "scripts" / "build_index.py"), "--no-progress", "--backend", args.backend]
        script += ["--out", str(out), "--batch-size", str(args.batch_size), str(corpus)]
        subprocess.run(script, capture_output=True, text=True, check=True)

    contenders = {"build": lambda: _in_scratch(work, "build-", build), "encode": raw}
    labels = {"build": "build_index (in process)", "encode": f"raw encode ({args.backend})"}
    if args.cli:
        contenders["cli"] = lambda: _in_scratch(work, "cli-", cli)
        labels["cli"] = "scripts/build_index.py (new process, model load)"
    if args.ray:
        contenders.update(_ray_builds(args, stack, corpus, work, build, labels))
    rows = []
    for round_no in range(args.rounds):
        # Rotate the order each round, so drift in the machine's load hits every contender alike.
        names = rotated(list(contenders), round_no)
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
        return median(r[name][i] for r in rows)

    summary = []
    for name in contenders:
        wall_ratios = median(r["encode"][0] / r[name][0] for r in rows)
        # A Ray build's actors are the raylet's children, not ours: their CPU time is not counted.
        cpu = (
            "n/a | n/a" if name.startswith("ray") else f"{n / med(name, 1):.0f} | {med('encode', 1) / med(name, 1):.3f}"
        )
        wall = f"{n / med(name, 0):.0f} | {med('encode', 0) / med(name, 0):.3f} | {wall_ratios:.3f}"
        summary.append(f"{labels[name]} | {wall} | {cpu}")
    header = "what | sentences/s wall (median) | ÷ raw encode | median of round ratios | sentences/s CPU | ÷ raw"
    print("\n" + table(header, summary))
    if args.ray:
        ratios = {name: [r[name][0] / r["build"][0] for r in rows] for name in contenders if name.startswith("ray")}
        ray_rows = [[labels[k], f"{median(v):.3f}", ", ".join(f"{x:.3f}" for x in v)] for k, v in ratios.items()]
        print("\n" + table("what | wall ÷ local build (median of round ratios) | per round", ray_rows))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(_in_scratch, work, "build-", build)
        profiler.dump_stats(args.profile)
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(40)
        print(stream.getvalue())
    return 0


def _ray_builds(
    args: argparse.Namespace, stack: ExitStack, corpus: Path, work: Path, build: Callable[..., None], labels: dict
) -> dict:
    """One contender per actor count: `build` with Ray's split and encode, on a local cluster
    started here (closed with `stack`); the actors load the model as the build's embedder was loaded."""
    from index.ingestion import ray_build

    cores = os.cpu_count() or 1
    started = time.perf_counter()
    stack.enter_context(ray_build.ray_cluster("local", cpus=cores))
    print(f"Ray local cluster, {cores} CPUs, started in {time.perf_counter() - started:.1f}s (not in the rounds)")
    onnx_dir = str(Path(default_onnx_dir()).resolve())
    options = {"model_path": None, "backend": args.backend, "onnx_dir": onnx_dir, "batch_size": args.batch_size}
    contenders = {}
    for actors in (int(a) for a in args.ray.split(",")):
        ray = ray_build.RayBuild(options, actors=actors, actor_cpus=max(1, cores // actors))
        labels[f"ray-{actors}"] = f"Ray local, {actors} actor{'s' if actors > 1 else ''} × {ray.actor_cpus} CPUs"
        contenders[f"ray-{actors}"] = lambda ray=ray: _in_scratch(
            work, "ray-", lambda out: build(out, split=ray.split, encode=ray.encode)
        )
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
