"""Two worker processes sharing one memory-mapped FAISS index, against each reading its own copy.

    .venv/bin/python benchmarks/faiss_mmap.py                  # 50k exact (IDMap2,Flat) and 1M IVF-Flat
    .venv/bin/python benchmarks/faiss_mmap.py --sizes 100k     # quick

For each size the index is built with `index.ann` (the spec `choose_index_spec` picks) on the
synthetic clustered vectors of benchmarks/faiss_scale.py and written once (cached in
--workdir). Then, per mode, two separate worker processes (as gunicorn's workers, which
load after the fork) read that same file, `index.ann.read_vector_index(path, mmap=...)`:

- loaded: `faiss.read_index` copies the whole index into each process's heap;
- mmap: `IO_FLAG_MMAP_IFC` maps the vectors from the file; both processes share the
  page cache, and only the id maps are private.

Each worker first runs one query that scans every vector (nprobe = nlist), so every page
of the index is resident (the worst case for the mapped RSS), then times
--queries single queries (one FAISS thread, 50 deep) and reports. While both are alive
the parent reads /proc/<pid>/smaps_rollup of each: RSS, PSS (shared pages divided among
the processes that map them), anonymous and file-backed parts. A third process that
only imports faiss and numpy gives the interpreter's own share.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from faiss_scale import ClusteredVectors, human, largest_prefix, parse_size  # noqa: E402

from index import ann  # noqa: E402

FIELDS = ("Rss", "Pss", "Pss_Anon", "Pss_File", "Shared_Clean", "Private_Clean", "Private_Dirty", "Anonymous")


def smaps_rollup(pid: int) -> dict[str, float]:
    """MB per field of /proc/<pid>/smaps_rollup."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        if key in FIELDS:
            out[key] = int(rest.split()[0]) / 1024
    return out


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
        for report in reports:
            report |= smaps_rollup(report["pid"])
    finally:
        for p in procs:
            p.communicate("exit\n", timeout=60)
    return reports


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
        del index
    return path, spec, build_s


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        path, mode, queries, seed = sys.argv[2:6]
        worker(path, mode, int(queries), int(seed))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="50k,1M")
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default="var/bench/faiss")
    args = p.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)

    baseline = run_pair(Path("-"), "baseline", args, 1)[0]
    lines = [
        f"faiss {faiss.__version__}; 2 workers per mode, alive at the same time; every page of the index touched; "
        f"{args.queries} single queries each (1 FAISS thread, k=50); MB from /proc/<pid>/smaps_rollup",
        "",
        "| index | file MB | mode | worker | read s | RSS | PSS | PSS anon | PSS file | shared clean | p50 ms "
        "| CPU p50 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| (python + faiss, no index) | | | 1 | | {baseline['Rss']:,.0f} | {baseline['Pss']:,.0f} | "
        f"{baseline['Pss_Anon']:,.0f} | {baseline['Pss_File']:,.0f} | {baseline['Shared_Clean']:,.0f} | | |",
    ]
    totals = []
    for n in [parse_size(s) for s in args.sizes.split(",")]:
        path, spec, build_s = index_file(n, args)
        size_mb = path.stat().st_size / 2**20
        print(f"{human(n)} {spec}: {path} ({size_mb:,.0f} MB, built in {build_s:.0f}s)", file=sys.stderr)
        for mode in ("loaded", "mmap"):
            reports = run_pair(path, mode, args, 2)
            for i, r in enumerate(reports, 1):
                lines.append(
                    f"| {human(n)} {spec} | {size_mb:,.0f} | {mode} | {i} | {r['read_s']:.2f} | {r['Rss']:,.0f} | "
                    f"{r['Pss']:,.0f} | {r['Pss_Anon']:,.0f} | {r['Pss_File']:,.0f} | {r['Shared_Clean']:,.0f} | "
                    f"{r['p50_ms']:.2f} | {r['cpu_p50_ms']:.2f} |"
                )
            rss = sum(r["Rss"] for r in reports)
            pss = sum(r["Pss"] for r in reports)
            totals.append(f"- {human(n)} {spec}, {mode}: RSS sum {rss:,.0f} MB, PSS sum {pss:,.0f} MB")
    command = ".venv/bin/python " + " ".join(sys.argv)
    print(f"`{command}`\n")
    print("\n".join(lines))
    print("\nBoth workers together (PSS counts a shared page once across them):\n" + "\n".join(totals))


if __name__ == "__main__":
    main()
