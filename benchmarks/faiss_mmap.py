"""Two worker processes sharing one memory-mapped FAISS index, against each reading its own copy.

    .venv/bin/python benchmarks/faiss_mmap.py                  # 50k exact (IDMap2,Flat) and 1M IVF-Flat
    .venv/bin/python benchmarks/faiss_mmap.py --sizes 100k     # quick
    .venv/bin/python benchmarks/faiss_mmap.py --matrix         # which index types / flags map, and what mutation does

Per size, `index.retrieval.ann` builds the index it would choose on faiss_scale.py's synthetic vectors, once
(cached in --workdir). Per mode, two worker processes read that file at once with
`index.retrieval.ann.read_vector_index(path, mmap=...)`: "loaded" copies it into each heap; "mmap"
(IO_FLAG_MMAP_IFC) maps the vectors, shared page cache. Each worker runs one query that scans
everything (every page resident: the mapped worst case), then times --queries single queries (one
FAISS thread, 50 deep); meanwhile the parent reads each one's /proc/<pid>/smaps_rollup (RSS, PSS,
anonymous and file-backed parts). A process with faiss and numpy alone gives the interpreter's share.

`--matrix`: for each index type (bare and inside IndexIDMap2) and read flag (none, IO_FLAG_MMAP,
IO_FLAG_MMAP_IFC), a fresh process reads a 100k-vector index: the anonymous RSS it gained, whether
its results equal a normal read's, and what remove_ids and add_with_ids do (each in a process of
its own, since FAISS may kill the process).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np
from faiss_scale import DIMENSION, ClusteredVectors, largest_prefix
from harness import command, human, log, sizes, table  # first: the path and offline flags

from index.retrieval import ann

FIELDS = ("Rss", "Pss", "Pss_Anon", "Pss_File", "Shared_Clean", "Private_Clean", "Private_Dirty", "Anonymous")


def smaps_rollup(pid: int) -> dict[str, float]:
    """MB per field of /proc/<pid>/smaps_rollup."""
    lines = (line.partition(":") for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
    return {key: int(rest.split()[0]) / 1024 for key, _, rest in lines if key in FIELDS}


def worker(path: str, mode: str, queries: int, seed: int) -> None:
    """Child: read the index, touch every page, time single queries, report, wait to be told to exit."""
    faiss.omp_set_num_threads(1)
    xq = ClusteredVectors(seed).queries(queries)
    report: dict = {"pid": os.getpid()}
    if mode != "baseline":
        started = time.perf_counter()
        index = ann.read_vector_index(path, mmap=mode == "mmap")
        report["read_s"] = time.perf_counter() - started
        inner = faiss.downcast_index(index)
        if isinstance(inner, faiss.IndexIVF):
            index.search(xq[:1], 50, params=faiss.SearchParametersIVF(nprobe=inner.nlist))  # every list
        else:
            index.search(xq[:1], 50)  # exact: every vector
        wall, cpu = [], []
        for i in range(queries):
            t0, c0 = time.perf_counter(), time.thread_time()
            index.search(xq[i : i + 1], 50)
            cpu.append((time.thread_time() - c0) * 1000)
            wall.append((time.perf_counter() - t0) * 1000)
        report |= {"p50_ms": statistics.median(wall), "cpu_p50_ms": statistics.median(cpu)}
    print(json.dumps(report), flush=True)
    sys.stdin.readline()  # stay alive (and mapped) until the parent has measured both


def run_pair(path: Path, mode: str, args: argparse.Namespace, count: int) -> list[dict]:
    """Start `count` workers at once, wait for their reports, measure them all, then let them go."""
    cmd = [sys.executable, __file__, "--worker", str(path), mode, str(args.queries), str(args.seed)]
    procs = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(count)]
    try:
        reports = [json.loads(p.stdout.readline()) for p in procs]
        return [report | smaps_rollup(report["pid"]) for report in reports]
    finally:
        for p in procs:
            p.communicate("exit\n", timeout=60)


def index_file(n: int, args: argparse.Namespace) -> tuple[Path, str, float]:
    spec = ann.choose_index_spec(n)
    path = Path(args.workdir) / f"ann-{spec.replace(',', '-')}-{human(n)}-seed{args.seed}.faiss"
    build_s = float("nan")
    if not path.exists():
        faiss.omp_set_num_threads(2)
        xb = largest_prefix(Path(args.workdir), args.seed, n)[:n]
        started = time.perf_counter()
        index = ann.build_vector_index(xb, np.arange(n, dtype=np.int64), spec)
        build_s = time.perf_counter() - started
        ann.write_vector_index(index, path)
    return path, spec, build_s


MATRIX_SPECS = ("Flat", "IDMap2,Flat", "HNSW32,Flat", "IDMap2,HNSW32,Flat", "IVF256,Flat", "IDMap2,IVF256,Flat")
READ_FLAGS = {"none": 0, "IO_FLAG_MMAP": faiss.IO_FLAG_MMAP, "IO_FLAG_MMAP_IFC": faiss.IO_FLAG_MMAP_IFC}


def probe(path: str, flag: str, action: str, workdir: str) -> None:
    """Child of --matrix: read with `flag`, then report memory and results, or try one mutation."""

    def anon() -> float:
        status = Path("/proc/self/status").read_text().splitlines()
        return next((int(ln.split()[1]) / 1024 for ln in status if ln.startswith("RssAnon:")), float("nan"))

    faiss.omp_set_num_threads(1)
    before = anon()
    index = faiss.read_index(path, READ_FLAGS[flag])
    gained = anon() - before
    ids = np.arange(0, 300, 3, dtype=np.int64)
    try:
        if action == "read":
            xq = ClusteredVectors(0).queries(100)
            same = np.array_equal(index.search(xq, 10)[1], faiss.read_index(path).search(xq, 10)[1])
            print(json.dumps({"anon_mb": gained, "same": bool(same)}))
        elif action == "remove":
            removed = index.remove_ids(ids)
            # Do the vectors left still answer with their own ids? (rows 400..499, ids = row numbers)
            xb = np.ascontiguousarray(largest_prefix(Path(workdir), 0, 500)[400:500])
            if isinstance(faiss.downcast_index(index), faiss.IndexIVF):
                faiss.downcast_index(index).nprobe = 256
            elif hasattr(index, "index") and isinstance(faiss.downcast_index(index.index), faiss.IndexIVF):
                faiss.downcast_index(index.index).nprobe = 256
            right = np.array_equal(index.search(xb, 1)[1][:, 0], np.arange(400, 500))
            print(json.dumps({"result": f"ok, {removed} removed; ids {'right' if right else 'WRONG'} after"}))
        else:
            index.add_with_ids(ClusteredVectors(0).queries(len(ids)), ids + 10**12)
            print(json.dumps({"result": "ok"}))
    except RuntimeError as exc:
        print(json.dumps({"result": "exception: " + str(exc).splitlines()[0].split(": ")[-1][:60]}))


def matrix(args: argparse.Namespace) -> None:
    n = 100_000
    xb = np.ascontiguousarray(largest_prefix(Path(args.workdir), args.seed, n)[:n])
    rows = []
    for spec in MATRIX_SPECS:
        faiss.omp_set_num_threads(2)
        index = faiss.index_factory(DIMENSION, spec, faiss.METRIC_INNER_PRODUCT)
        index.train(xb[:20_000])
        if spec.startswith(("IDMap2", "IVF")):
            index.add_with_ids(xb, np.arange(n, dtype=np.int64))
        else:
            index.add(xb)
        path = Path(args.workdir) / f"matrix-{spec.replace(',', '-')}.faiss"
        faiss.write_index(index, str(path))
        del index
        for flag in READ_FLAGS:
            row = {}
            for action in ("read", "remove", "add"):
                cmd = [sys.executable, __file__, "--probe", str(path), flag, action, args.workdir]
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                if out.returncode < 0:
                    row[action] = f"process killed ({signal.Signals(-out.returncode).name})"
                elif out.returncode != 0:
                    row[action] = f"process died (exit {out.returncode})"
                else:
                    row |= json.loads(out.stdout.strip().splitlines()[-1])
                    row.setdefault(action, row.pop("result", ""))
            name = spec + (" (native ids)" if spec.startswith("IVF") else "")
            anon = f"{row.get('anon_mb', float('nan')):,.0f}"
            rows.append([name, flag, anon, row.get("same"), row["remove"], row["add"]])
        path.unlink()
    print(f"`{command()}`\n")
    print(
        f"faiss {faiss.__version__}, {human(n)} vectors; anon MB = anonymous RSS a fresh process gains by reading "
        "the file (what is not shared); remove/add: what remove_ids / add_with_ids do after that read "
        "(and whether the vectors left still answer with their own ids)\n"
    )
    print(table("index | read flag | anon MB | results = normal read | remove_ids | add_with_ids", rows))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        path, mode, queries, seed = sys.argv[2:6]
        return worker(path, mode, int(queries), int(seed))
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        return probe(*sys.argv[2:6])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="50k,1M")
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default="var/bench/faiss")
    p.add_argument("--matrix", action="store_true", help="flags × index types support table instead")
    args = p.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    if args.matrix:
        return matrix(args)
    mb = ("Rss", "Pss", "Pss_Anon", "Pss_File", "Shared_Clean")
    base = run_pair(Path("-"), "baseline", args, 1)[0]
    rows, totals = [["(python + faiss, no index)", "", "", 1, "", *(f"{base[k]:,.0f}" for k in mb), "", ""]], []
    for n in sizes(args.sizes):
        path, spec, build_s = index_file(n, args)
        size_mb = path.stat().st_size / 2**20
        log(f"{human(n)} {spec}: {path} ({size_mb:,.0f} MB, built in {build_s:.0f}s)")
        for mode in ("loaded", "mmap"):
            reports = run_pair(path, mode, args, 2)
            for i, r in enumerate(reports, 1):
                rows.append([f"{human(n)} {spec}", f"{size_mb:,.0f}", mode, i, f"{r['read_s']:.2f}"])
                rows[-1] += [*(f"{r[k]:,.0f}" for k in mb), f"{r['p50_ms']:.2f}", f"{r['cpu_p50_ms']:.2f}"]
            rss, pss = sum(r["Rss"] for r in reports), sum(r["Pss"] for r in reports)
            totals.append(f"- {human(n)} {spec}, {mode}: RSS sum {rss:,.0f} MB, PSS sum {pss:,.0f} MB")
    print(f"`{command()}`\n")
    print(
        f"faiss {faiss.__version__}; 2 workers per mode, alive at the same time; every page of the index touched; "
        f"{args.queries} single queries each (1 FAISS thread, k=50); MB from /proc/<pid>/smaps_rollup\n"
    )
    header = "index | file MB | mode | worker | read s | RSS | PSS | PSS anon | PSS file | shared clean | p50 ms"
    print(table(header + " | CPU p50 ms", rows))
    print("\nBoth workers together (PSS counts a shared page once across them):\n" + "\n".join(totals))


if __name__ == "__main__":
    main()
