"""FAISS alone at scale: build time, memory, single-query latency and recall@10 per index type.

    .venv/bin/python benchmarks/faiss_scale.py --sizes 100k      # quick: about two minutes
    .venv/bin/python benchmarks/faiss_scale.py --sizes 100k,1M,5M --json var/bench/faiss_scale.json
    .venv/bin/python benchmarks/faiss_scale.py --threshold-sizes 10k,25k,50k,100k,200k   # where exact search stops

BENCHMARKS.md's run skips HNSW and IVF-PQ at 5M (`--hnsw-max-size`, `--pq-max-size`). The past-RAM
layout (IVF-PQ96 re-ranked on full vectors) against IVF-Flat, served cold from the mapped file and in a
memory cgroup of a quarter of IVF-Flat's file (BENCHMARKS.md, "Vector index past RAM"; the cap needs
root and the cgroup v1 memory controller):

    .venv/bin/python benchmarks/faiss_scale.py --sizes 1M,5M --types ivf --ivf flat,pqr96 --nprobe 64,128 \
        --k-factor 1,2,4 --served-queries 100 --memory-cap 0.25

Vectors: seeded synthetic clustered 384-d float32, L2-normalised (`ClusteredVectors`); smaller sizes
are prefixes of larger ones, and queries are fresh draws from the same mixture, never rows of the data.
`--vectors FILE.npy --query-vectors FILE.npy` measures real embeddings instead.

Per index type and search parameter: build seconds (train + add; the IVF variants of one size share
one k-means and one assignment, each counting them in full); the index file's MB and the anonymous RSS
a fresh process gains reading it normally ("loaded") or with IO_FLAG_MMAP_IFC ("mmap"); one query per
call on `--search-threads` (1) FAISS threads, `--k` (50) deep, wall p50/p95/p99 and CPU p50 over
`--latency-queries` × `--repeats` (medians of the repeats); recall@10 against exact search.
Builds use `--build-threads` (2).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median

import faiss
import numpy as np
from harness import command, contention, human, log, machine, parse_size, percentile, sizes, table, write_json

from index.retrieval.ann import REFINE_K_FACTOR, default_nprobe, nlist_for  # the service's own rules, not copies

DIMENSION = 384
CHUNK = 100_000  # vectors generated / added per step, so memory stays flat


def _unit(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(np.float32)


class ClusteredVectors:
    """A fixed mixture of topics; every draw is deterministic given (seed, stream).

    64 super-topics (random unit directions); 4096 topics, each its super-topic's direction
    (weight 2) plus a random direction (weight 1), so topics of one super-topic overlap;
    topic popularity is Zipf-like (weight 1/rank^0.7). A point is its topic centre plus a
    displacement of norm ~0.9 in a 32-d subspace of its super-topic plus isotropic noise of
    norm ~0.5, then normalised: the nearest neighbour of a query has cosine ~0.66, the 10th
    ~0.59, two random points ~0.0.
    """

    def __init__(self, seed: int = 0, d: int = DIMENSION, n_super: int = 64, n_topics: int = 4096, rank: int = 32):
        rng = np.random.default_rng([seed, 0])
        self.seed, self.d, self.rank = seed, d, rank
        self.super_dirs = _unit(rng.standard_normal((n_super, d)))
        self.super_of = rng.integers(n_super, size=n_topics)
        self.topics = _unit(2.0 * self.super_dirs[self.super_of] + _unit(rng.standard_normal((n_topics, d))))
        self.basis = (rng.standard_normal((n_super, rank, d)) / math.sqrt(rank * d)).astype(np.float32)
        weights = 1.0 / np.arange(1, n_topics + 1) ** 0.7
        self.weights = weights / weights.sum()
        self.low, self.iso = 0.9, 0.5

    def draw(self, n: int, stream: tuple[int, ...]) -> np.ndarray:
        rng = np.random.default_rng([self.seed, *stream])
        labels = rng.choice(len(self.weights), size=n, p=self.weights)
        x = self.topics[labels]
        z = rng.standard_normal((n, self.rank), dtype=np.float32)
        supers = self.super_of[labels]
        for s in np.unique(supers):
            rows = supers == s
            x[rows] += self.low * (z[rows] @ self.basis[s])
        x += (self.iso / math.sqrt(self.d)) * rng.standard_normal((n, self.d), dtype=np.float32)
        return _unit(x)

    def chunk(self, i: int, n: int = CHUNK) -> np.ndarray:
        return self.draw(n, (1, i))

    def queries(self, n: int) -> np.ndarray:
        return self.draw(n, (2,))


def data_file(workdir: Path, seed: int, n: int) -> np.ndarray:
    """The first n vectors of the seeded stream, as a read-only memory map (generated once, reused)."""
    path = workdir / f"clustered-seed{seed}-d{DIMENSION}-{n}.f32"
    if not path.exists():
        gen, tmp, started = ClusteredVectors(seed), path.with_suffix(".tmp"), time.perf_counter()
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, DIMENSION))
        for i in range(math.ceil(n / CHUNK)):
            rows = min(CHUNK, n - i * CHUNK)
            out[i * CHUNK : i * CHUNK + rows] = gen.chunk(i)[:rows]
        out.flush()
        del out
        os.replace(tmp, path)
        log(f"generated {human(n)} vectors in {time.perf_counter() - started:.0f}s -> {path}")
    return np.load(path, mmap_mode="r")


def largest_prefix(workdir: Path, seed: int, n: int) -> np.ndarray:
    """Reuse a larger generated file when there is one (smaller sizes are its prefixes)."""
    for path in sorted(workdir.glob(f"clustered-seed{seed}-d{DIMENSION}-*.f32")):
        if int(path.stem.rsplit("-", 1)[1]) >= n:
            return np.load(path, mmap_mode="r")[:n]
    return data_file(workdir, seed, n)


# Run in a fresh interpreter: the benchmark's own heap keeps freed pages, so in-process deltas lie.
_LOAD = """
import sys, faiss
def anon():
    return next(int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("RssAnon:"))
flags = {"none": 0, "mmap_ifc": faiss.IO_FLAG_MMAP_IFC}[sys.argv[2]]
before = anon()
index = faiss.read_index(sys.argv[1], flags)
print(anon() - before)
"""


# The memory a served index really holds: a fresh process maps the file with its pages evicted
# from the page cache, runs the first half of the queries one at a time ("cold"), reports what
# became resident, then runs the other half ("next": fresh queries, whatever the first half left
# cached). Under a memory cap (a cgroup) the kernel keeps at most that much of the file cached, so
# "next" is the latency when the index does not fit.
_WORKING_SET = """
import json, os, statistics, sys, time
import faiss, numpy as np
path, queries, nprobe, k_factor, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
faiss.omp_set_num_threads(1)
fd = os.open(path, os.O_RDONLY)
os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)
def memory():  # MB: RssAnon and RssFile from status, Pss from smaps_rollup
    lines = [*open("/proc/self/status"), *open("/proc/self/smaps_rollup")]
    keys = ("RssAnon:", "RssFile:", "Pss:")
    return {ln.split(":")[0]: int(ln.split()[1]) / 1024 for ln in lines if ln.startswith(keys)}
def p50(xq):
    wall = []
    for q in xq:
        started = time.perf_counter()
        index.search(q[None], k, params=params)
        wall.append((time.perf_counter() - started) * 1000)
    return statistics.median(wall)
xq = np.load(queries)
before = memory()
index = faiss.read_index(path, faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
ivf = faiss.SearchParametersIVF(nprobe=nprobe)
params = faiss.IndexRefineSearchParameters(k_factor=k_factor, base_index_params=ivf) if k_factor else ivf
half = len(xq) // 2
cold = p50(xq[:half])
after = memory()
steady = p50(xq[half:])
print(json.dumps({"cold_p50_ms": cold, "steady_p50_ms": steady, **{key: after[key] - before[key] for key in after}}))
"""
_CGROUP = Path("/sys/fs/cgroup/memory")  # cgroup v1 memory controller (needs root)


def working_set(path: Path, xq: np.ndarray, nprobe: int, k_factor: float, k: int, cap_mb: float = 0) -> dict:
    """Cold and steady p50 and the RSS (anonymous, file-backed) and PSS gained serving `xq` from the
    mapped file; with `cap_mb`, in a memory cgroup of that size (page cache included)."""
    queries = path.with_suffix(".queries.npy")
    np.save(queries, xq)
    group = _CGROUP / f"faiss-scale-{os.getpid()}" if cap_mb else None
    try:
        if group is not None:
            group.mkdir()
            (group / "memory.limit_in_bytes").write_text(str(int(cap_mb * 2**20)))
        enter = None if group is None else lambda: (group / "cgroup.procs").write_text(str(os.getpid()))
        command = [sys.executable, "-c", _WORKING_SET, str(path), str(queries), str(nprobe), str(k_factor), str(k)]
        out = subprocess.run(command, check=True, capture_output=True, text=True, preexec_fn=enter)
    finally:
        queries.unlink()
        if group is not None:
            group.rmdir()
    return json.loads(out.stdout)


def loaded_anon_mb(path: Path, flag: str) -> float:
    """Anonymous RSS a fresh process gains by reading the index (mmap_ifc: file pages are shared, not counted)."""
    out = subprocess.run([sys.executable, "-c", _LOAD, str(path), flag], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def chunks(xb: np.ndarray):
    for first in range(0, len(xb), CHUNK):
        yield first, np.ascontiguousarray(xb[first : first + CHUNK])


def recall_at_10(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f[:10]) & set(e[:10])) / 10 for f, e in zip(found, exact, strict=True)]))


@dataclass
class Row:
    size: int
    index: str
    param: str = ""
    build_s: float | None = None
    build_detail: str = ""
    file_mb: float | None = None
    load_mb: float | None = None  # anonymous RSS growth of a fresh process reading the file normally
    mmap_mb: float | None = None  # ... and reading it with IO_FLAG_MMAP_IFC (the rest is shared page cache)
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    cpu_p50_ms: float | None = None
    p50_spread: float | None = None  # (max - min) / median of the repeats' p50s
    latency_queries: int = 0
    recall10: float | None = None
    # Serving from the memory-mapped file, cold: RSS gained (anonymous + file pages), PSS, p50.
    served_queries: int = 0
    served_rss_mb: float | None = None
    served_pss_mb: float | None = None
    cold_p50_ms: float | None = None
    steady_p50_ms: float | None = None
    capped_mb: float | None = None  # the same, in a memory cgroup of this size (--memory-cap)
    capped_p50_ms: float | None = None


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.workdir = Path(args.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.rows: list[Row] = []
        self.ivf_flat_file_mb: dict[int, float] = {}

    # -- measuring ---------------------------------------------------------------------------------
    def latency(self, index: faiss.Index, xq: np.ndarray, params=None) -> dict:
        """One query per call: wall p50/p95/p99 and CPU-time p50 (ms), spread of wall p50 over repeats, queries.

        CPU time (this thread's, FAISS running on one thread) is what the search costs even when
        other processes share the cores; wall time is what a caller waits.
        """
        a = self.args
        faiss.omp_set_num_threads(a.search_threads)
        k = min(a.k, index.ntotal)
        for i in range(min(20, len(xq))):  # warm-up
            index.search(xq[i : i + 1], k, params=params)
        repeats, n = [], a.latency_queries
        for _ in range(a.repeats):
            wall, cpu, started = [], [], time.perf_counter()
            for i in range(n):
                t0, c0 = time.perf_counter(), time.thread_time()
                index.search(xq[i : i + 1], k, params=params)
                cpu.append((time.thread_time() - c0) * 1000)
                wall.append((time.perf_counter() - t0) * 1000)
                if time.perf_counter() - started > a.latency_budget_s and len(wall) >= 20:
                    break
            n = len(wall)  # later repeats time the same queries
            repeats.append((median(wall), percentile(wall, 95), percentile(wall, 99), median(cpu)))
        p50s, p95s, p99s, cpu50s = zip(*repeats, strict=True)
        spread = (max(p50s) - min(p50s)) / median(p50s) if len(p50s) > 1 else 0.0
        p50, p95, p99, cpu50 = median(p50s), median(p95s), median(p99s), median(cpu50s)
        return dict(p50_ms=p50, p95_ms=p95, p99_ms=p99, cpu_p50_ms=cpu50, p50_spread=spread, latency_queries=n)

    def batch_search(self, index: faiss.Index, xq: np.ndarray, params=None) -> np.ndarray:
        faiss.omp_set_num_threads(self.args.build_threads)
        return index.search(xq, min(self.args.k, index.ntotal), params=params)[1]

    def measured(self, row: Row, index: faiss.Index, xq: np.ndarray, exact: np.ndarray | None, params=None) -> Row:
        for key, value in self.latency(index, xq[: self.args.latency_queries], params).items():
            setattr(row, key, value)
        if exact is not None:
            row.recall10 = recall_at_10(self.batch_search(index, xq, params), exact)
        self.rows.append(row)
        log("| " + " | ".join(cells(row, self.args.recall_target)) + " |")
        return row

    def write(self, index: faiss.Index, name: str) -> Path:
        path = self.workdir / f"{name}.faiss"
        faiss.write_index(index, str(path))
        return path

    def record_memory(
        self, path: Path, rows: list[Row], served: list[tuple[Row, int, float]] = (), xq: np.ndarray | None = None
    ) -> None:
        """File MB, and the anonymous RSS a fresh process gains reading it normally / memory-mapped;
        for each (row, nprobe, k_factor) in `served`, what serving `--served-queries` queries holds.

        Called once the benchmark has dropped its own copy, so two copies of a 5M index never coexist.
        """
        gc.collect()
        a, size = self.args, path.stat().st_size / 2**20
        for row, nprobe, k_factor in served:
            queries = xq[: 2 * a.served_queries]
            ws = working_set(path, queries, nprobe, k_factor, a.k)
            row.served_queries, row.served_pss_mb = len(queries) // 2, ws["Pss"]
            row.cold_p50_ms, row.steady_p50_ms = ws["cold_p50_ms"], ws["steady_p50_ms"]
            row.served_rss_mb = ws["RssAnon"] + ws["RssFile"]
            log(f"   {row.index} {row.param}: serving {len(queries)} queries from the mapped file: {ws}")
            if a.memory_cap:
                row.capped_mb = a.memory_cap * self.ivf_flat_file_mb.get(row.size, size)
                ws = working_set(path, queries, nprobe, k_factor, a.k, row.capped_mb)
                row.capped_p50_ms = ws["steady_p50_ms"]
                log(f"   ... capped at {row.capped_mb:,.0f} MB: {ws}")
        if rows[0].index.startswith("IVF") and rows[0].index.endswith(",Flat"):
            self.ivf_flat_file_mb[rows[0].size] = size  # what --memory-cap is a fraction of
        load, mmap = (loaded_anon_mb(path, flag) for flag in ("none", "mmap_ifc"))
        if not a.keep_indexes:
            path.unlink()
        for row in rows:
            row.file_mb, row.load_mb, row.mmap_mb = size, load, mmap
        log(f"   {rows[0].index}: file {size:,.0f} MB, loaded +{load:,.0f} MB, mmap +{mmap:,.0f} MB")

    # -- index types -------------------------------------------------------------------------------
    def flat(self, xb: np.ndarray, xq: np.ndarray) -> np.ndarray:
        """Exact search: the reference for recall (its batch results are the ground truth)."""
        faiss.omp_set_num_threads(self.args.build_threads)
        started = time.perf_counter()
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIMENSION))
        for first, x in chunks(xb):
            index.add_with_ids(x, np.arange(first, first + len(x), dtype=np.int64))
        row = Row(len(xb), "Flat (IDMap2)", "exact", time.perf_counter() - started, "add", recall10=1.0)
        path, exact = self.write(index, f"flat-{human(len(xb))}"), self.batch_search(index, xq)
        self.measured(row, index, xq, None)
        del index
        self.record_memory(path, [row])
        return exact

    def hnsw(self, xb: np.ndarray, xq: np.ndarray, exact: np.ndarray) -> None:
        n, a = len(xb), self.args
        faiss.omp_set_num_threads(a.build_threads)
        started = time.perf_counter()
        index = faiss.IndexHNSWFlat(DIMENSION, a.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = a.ef_construction
        for _, x in chunks(xb):
            index.add(x)
        build = time.perf_counter() - started
        path, rows = self.write(index, f"hnsw-{human(n)}"), []
        for ef in a.ef_search:
            row = Row(n, f"HNSW{a.hnsw_m},Flat", f"efSearch={ef}", build, f"efConstruction={a.ef_construction}")
            rows.append(self.measured(row, index, xq, exact, faiss.SearchParametersHNSW(efSearch=ef)))
        del index
        self.record_memory(path, rows)

    def ivf_family(self, xb: np.ndarray, xq: np.ndarray, exact: np.ndarray) -> None:
        n, a = len(xb), self.args
        nlist = a.nlist or nlist_for(n)
        faiss.omp_set_num_threads(a.build_threads)
        # Train the coarse quantizer once (k-means on a seeded sample), assign every vector once.
        train_n = min(n, a.train_per_list * nlist)
        sample = np.ascontiguousarray(xb[np.sort(np.random.default_rng(a.seed + 7).choice(n, train_n, replace=False))])
        started = time.perf_counter()
        base = faiss.index_factory(DIMENSION, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
        base.train(sample)
        kmeans_s = time.perf_counter() - started
        centroids = base.quantizer.reconstruct_n(0, nlist)
        del base
        started = time.perf_counter()
        quantizer = faiss.IndexFlatIP(DIMENSION)
        quantizer.add(centroids)
        assign = np.empty(n, dtype=np.int64)
        for first, x in chunks(xb):
            assign[first : first + len(x)] = quantizer.search(x, 1)[1][:, 0]
        assign_s = time.perf_counter() - started
        lists = np.bincount(assign, minlength=nlist)
        balance = f"lists {lists.min()}..{lists.max()} (mean {n / nlist:.0f})"
        for kind in a.ivf:
            if kind == "pq" and n > a.pq_max_size:
                continue
            # pqr<m>: IVF-PQ<m> whose candidates are re-ranked on the full vectors (IndexRefineFlat).
            refined = kind.startswith("pqr")
            codec = {"flat": "Flat", "sq8": "SQ8", "pq": f"PQ{a.pq_m}"}.get(kind) or f"PQ{kind[3:]}"
            faiss.omp_set_num_threads(a.build_threads)
            ivf = faiss.index_factory(DIMENSION, f"IVF{nlist},{codec}", faiss.METRIC_INNER_PRODUCT)
            ivf.quantizer.add(centroids)  # trained: train() below only trains the codec (SQ/PQ)
            # The factory turns on polysemous training (Hamming-distance filtering, not used by
            # inner-product search); it took 85 s of the 87 s build at 20k vectors.
            if codec.startswith("PQ"):
                ivf.do_polysemous_training = False
            started = time.perf_counter()
            ivf.train(sample)
            codec_s = time.perf_counter() - started
            if refined:  # the ids are row numbers here, as under index/retrieval/ann.py's IDMap
                index = faiss.IndexRefineFlat(ivf)
            else:  # native 64-bit ids in the lists; a hashtable direct map for reconstruct(id) and remove_ids
                index = ivf
                ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # as index/retrieval/ann.py builds it
            started = time.perf_counter()
            for first, x in chunks(xb):
                ids, lists = np.arange(first, first + len(x), dtype=np.int64), assign[first : first + len(x)]
                ivf.add_core(len(x), faiss.swig_ptr(x), faiss.swig_ptr(ids), faiss.swig_ptr(lists))
                if refined:
                    index.refine_index.add(x)
            index.ntotal = ivf.ntotal
            add_s = time.perf_counter() - started
            detail = (
                f"k-means {kmeans_s:.1f}s on {human(train_n)} + assign {assign_s:.1f}s"
                + (f" + train {codec} {codec_s:.1f}s" if codec != "Flat" else "")
                + f" + add {add_s:.1f}s; {balance}"
            )
            name = f"IVF{nlist},{codec}" + (",RFlat" if refined else "")
            rows, served = [], []
            settings = [(default_nprobe(nlist), kf) for kf in a.k_factor] if refined else [(p, 0.0) for p in a.nprobe]
            for nprobe, k_factor in settings:  # with a refine step: every --k-factor at the service's nprobe
                # Past the first nprobe that meets the bar, one more value is enough to show the trend.
                if nprobe > nlist or (not refined and sum(r.recall10 >= a.recall_target for r in rows) >= 2):
                    continue
                params = faiss.SearchParametersIVF(nprobe=nprobe)
                param = f"nprobe={nprobe}" + (f", k_factor={k_factor:g}" if refined else "")
                if refined:
                    params = faiss.IndexRefineSearchParameters(k_factor=k_factor, base_index_params=params)
                row = Row(n, name, param, kmeans_s + assign_s + codec_s + add_s, detail)
                rows.append(self.measured(row, index, xq, exact, params))
                if nprobe == default_nprobe(nlist) and (not refined or k_factor == REFINE_K_FACTOR):
                    served.append((row, nprobe, k_factor))
            path = self.write(index, f"ivf{nlist}-{kind}-{human(n)}")
            del index, ivf
            self.record_memory(path, rows, served if a.served_queries else [], xq)

    def run(self, sizes: list[int], xq: np.ndarray, vectors: np.ndarray | None) -> None:
        a = self.args
        for n in sizes:
            xb = vectors[:n] if vectors is not None else largest_prefix(self.workdir, a.seed, max(sizes))[:n]
            log(f"== {human(n)} vectors")
            exact = self.flat(xb, xq)
            if "hnsw" in a.types and n <= a.hnsw_max_size:
                self.hnsw(xb, xq, exact)
            if "ivf" in a.types:
                self.ivf_family(xb, xq, exact)


def _fmt(v, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def cells(r: Row, target: float = 0.95) -> list[str]:
    recall = _fmt(r.recall10, ".3f")
    if r.recall10 is not None and r.recall10 >= target and not r.index.startswith("Flat"):
        recall += " ✓"
    mb = [_fmt(v, ",.0f") for v in (r.file_mb, r.load_mb, r.mmap_mb)]
    ms = [_fmt(v, ".2f") for v in (r.p50_ms, r.p95_ms, r.p99_ms, r.cpu_p50_ms)]
    return [human(r.size), r.index, r.param, _fmt(r.build_s, ".1f"), *mb, *ms, recall]


def markdown(rows: list[Row], target: float) -> str:
    """One table; ✓ marks settings meeting the recall target; the last column is Flat's p50 / this p50."""
    flat = {r.size: r.p50_ms for r in rows if r.index.startswith("Flat")}
    return table(
        "vectors | index | search | build s | file MB | RSS MB loaded | RSS MB mmap | p50 ms | p95 ms | p99 ms "
        "| CPU p50 ms | recall@10 | Flat p50 / p50",
        ([*cells(r, target), "1×" if r.index.startswith("Flat") else f"{flat[r.size] / r.p50_ms:.0f}×"] for r in rows),
    )


def served_table(rows: list[Row]) -> str:
    """What each index holds while serving from its memory-mapped file, starting cold."""
    return table(
        "vectors | index | search | queries a pass | RSS MB after the first (anon + file) | PSS MB | first pass "
        "(cold) p50 ms | next pass p50 ms | memory cap MB | next pass p50 ms under the cap",
        (
            f"{human(r.size)} | {r.index} | {r.param} | {r.served_queries} | {r.served_rss_mb:,.0f} | "
            f"{r.served_pss_mb:,.0f} | {r.cold_p50_ms:.2f} | {r.steady_p50_ms:.2f} | {_fmt(r.capped_mb, ',.0f')} | "
            f"{_fmt(r.capped_p50_ms, '.2f')}"
            for r in rows
            if r.served_queries
        ),
    )


def build_details(rows: list[Row]) -> str:
    first: dict[tuple[int, str], Row] = {}  # the first row of each index
    for r in rows:
        if r.build_detail:
            first.setdefault((r.size, r.index), r)
    return "\n".join(f"- {human(r.size)} {r.index}: {r.build_s:.1f}s ({r.build_detail})" for r in first.values())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = p.add_argument
    add("--sizes", default="100k", help="comma-separated, e.g. 100k,1M,5M")
    add("--threshold-sizes", default="", help="instead of --sizes: Flat vs IVF-Flat, e.g. 10k,50k,200k")
    add("--types", default="flat,hnsw,ivf", help="flat is always run (it is the reference)")
    add("--ivf", default="flat,sq8,pq", help="IVF codecs: flat, sq8, pq, pqr<m> (PQ<m> + refine on full vectors)")
    add("--k-factor", default="1,2,4,8", help="pqr: candidates re-ranked, as a multiple of k")
    serve = "also serve this many queries cold from the mapped file at the service's settings, then as many fresh "
    add("--served-queries", type=int, default=0, help=serve + "ones; report RSS/PSS and both passes' p50")
    cap = "with --served-queries: serve again in a memory cgroup of this fraction of IVF-Flat's file (e.g. 0.25; "
    add("--memory-cap", type=float, default=0.0, help=cap + "needs root and the cgroup v1 memory controller)")
    add("--hnsw-max-size", type=parse_size, default=parse_size("1M"), help="skip HNSW above this size")
    add("--pq-max-size", type=parse_size, default=parse_size("1M"), help="skip IVF-PQ above this size")
    add("--hnsw-m", type=int, default=32)
    add("--ef-construction", type=int, default=40)
    add("--ef-search", default="64,128,256")
    add("--nlist", type=int, default=0, help="default: about 4*sqrt(n), a power of two")
    add("--nprobe", default="1,2,4,8,16,32,64,128,256")
    add("--train-per-list", type=int, default=40, help="k-means sample: this many vectors per list")
    add("--pq-m", type=int, default=48)
    add("--queries", type=int, default=1000, help="queries for recall")
    add("--latency-queries", type=int, default=300)
    add("--latency-budget-s", type=float, default=20.0, help="stop timing a setting after this (≥20 q)")
    add("--repeats", type=int, default=3)
    add("--k", type=int, default=50, help="search depth (the service searches 50 deep)")
    add("--recall-target", type=float, default=0.95)
    add("--search-threads", type=int, default=1)
    add("--build-threads", type=int, default=2)
    add("--seed", type=int, default=0)
    add("--workdir", default="var/bench/faiss", help="generated data and (with --keep-indexes) indexes")
    add("--keep-indexes", action="store_true")
    add("--vectors", help="real embeddings (.npy, float32, normalised) instead of synthetic ones")
    add("--query-vectors", help="with --vectors: query embeddings (.npy)")
    add("--json", help="also write the rows here")
    a = p.parse_args()
    a.types, a.ivf = a.types.split(","), a.ivf.split(",")
    if a.threshold_sizes:  # Flat against IVF-Flat (at the nprobe that meets the recall target) at small sizes
        a.types, a.ivf = ["flat", "ivf"], ["flat"]
    a.ef_search, a.nprobe = [int(v) for v in a.ef_search.split(",")], [int(v) for v in a.nprobe.split(",")]
    a.k_factor = [float(v) for v in a.k_factor.split(",")]
    vectors = np.load(a.vectors, mmap_mode="r") if a.vectors else None
    if a.vectors:
        xq = np.ascontiguousarray(np.load(a.query_vectors)[: a.queries], dtype=np.float32)
    else:
        xq = ClusteredVectors(a.seed).queries(a.queries)
    started, bench = time.perf_counter(), Bench(a)
    header = f"{machine()}; faiss {faiss.__version__}, numpy {np.__version__}"
    bench.run(sizes(a.threshold_sizes or a.sizes), xq, vectors)
    print(f"\n`{command()}` ({time.perf_counter() - started:.0f}s)\n")
    print(f"{header}; at the end {contention()}")
    print(
        f"build threads {a.build_threads}, search threads {a.search_threads}, one query per call, k={a.k}, "
        f"{a.queries} queries for recall, {a.latency_queries} timed x {a.repeats} repeats "
        f"(medians of the repeats; at most {a.latency_budget_s:.0f}s per setting)\n"
    )
    print(markdown(bench.rows, a.recall_target))
    if a.served_queries:
        print("\nServing from the memory-mapped file, page cache evicted first:\n" + served_table(bench.rows))
    print("\nBuild time breakdown:\n" + build_details(bench.rows))
    if noisy := [r for r in bench.rows if r.p50_spread and r.p50_spread > 0.2]:
        print(
            "\nNoisy latency (p50 differs by >20% between repeats): "
            + ", ".join(f"{human(r.size)} {r.index} {r.param} ({r.p50_spread:.0%})" for r in noisy)
        )
    if a.json:
        write_json(a.json, {"command": command(), "machine": header, "rows": [asdict(r) for r in bench.rows]})


if __name__ == "__main__":
    main()
