"""BM25 at scale, both engines: Tantivy (index/retrieval/lexical.py) against bm25s (the engine it replaced).

    .venv/bin/python benchmarks/lexical_scale.py --sizes 100k,1M,5M,10M
    .venv/bin/python benchmarks/lexical_scale.py --sizes 5M --engines tantivy --pss   # two workers' shared pages

Sentences: `synthetic_corpus` wire-copy sentences (seeded; smaller sizes are prefixes of
larger ones). Claims: `make_claims` over the same sentences. Per engine and size, in a fresh
process each (so memory is that engine's alone):
  build: the index written to disk, as a snapshot is (`build_s`, bytes a sentence on disk);
  search: the index loaded as a worker loads it (memory-mapped), 20 claims to warm the pages,
  then every claim one search 50 deep on one thread (`p50_ms`, `p95_ms`), and the process's
  memory after: resident private (anonymous) and file-backed pages, bytes a sentence.
Both engines' top 50 are compared claim by claim (`top50_overlap`: the share of bm25s's top
50 that Tantivy also returns; scores differ: Tantivy's BM25 has k1 1.2 and keeps (k1 + 1)).
`--pss`: two processes search the same Tantivy index at once; the proportional set size of
its mapped files in each, against their resident size (PSS = RSS / 2: the page cache holds
one copy for both, as for FAISS in BENCHMARKS.md "Vector index past RAM").

One JSON line per engine and size (`engine`, `sentences`, `build_s`, `p50_ms`, `p95_ms`, …),
then a Markdown table; the CPU and its flags first.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from harness import command, contention, log, machine, one_worker_threads, percentile, sizes, table

one_worker_threads()

import numpy as np
from synthetic_corpus import _articles, make_claims

K = 50  # index.verify.CANDIDATES
WARM = 20


class Bm25sBaseline:
    """The lexical leg before issue 38, kept here as the baseline: bm25s scores every sentence
    into an array as long as the archive (`get_scores`), and the top k are chosen from it."""

    def __init__(self, retriever):
        self.retriever = retriever

    @classmethod
    def build(cls, texts: list[str], directory: Path) -> None:
        import bm25s

        from index.retrieval.lexical import tokenize

        retriever = bm25s.BM25()
        retriever.index([tokenize(t) or ["_"] for t in texts], show_progress=False)
        retriever.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> Bm25sBaseline:
        import bm25s

        return cls(bm25s.BM25.load(str(directory), mmap=True, show_progress=False))

    def search(self, query: str, k: int) -> list[int]:
        from index.retrieval.lexical import tokenize

        scores = self.retriever.get_scores(tokenize(query) or ["_"])
        positions = np.flatnonzero(scores > 0)
        if len(positions) > k:
            positions = positions[np.argpartition(-scores[positions], k - 1)[:k]]
        return positions[np.lexsort((positions, -scores[positions]))].tolist()


class TantivyEngine:
    common_share: float | None = None

    def __init__(self, index):
        self.index = index
        index.common_share = self.common_share

    @classmethod
    def build(cls, texts: list[str], directory: Path) -> None:
        from index.retrieval.lexical import LexicalIndex

        LexicalIndex.build(texts, directory=directory)

    @classmethod
    def load(cls, directory: Path) -> TantivyEngine:
        from index.retrieval.lexical import LexicalIndex

        return cls(LexicalIndex.load(directory))

    def search(self, query: str, k: int) -> list[int]:
        return [sid for sid, _ in self.index.search([query], k)[0]]  # ids are positions here


ENGINES = {"tantivy": TantivyEngine, "bm25s": Bm25sBaseline}


def engine_of(name: str):
    """`tantivy`, `bm25s`, or `tantivy-common0.01`: Tantivy with words in over 1% of the
    sentences scoring only beside a rarer one (LexicalIndex.common_share)."""
    if name.startswith("tantivy-common"):
        return type(name, (TantivyEngine,), {"common_share": float(name.removeprefix("tantivy-common"))})
    return ENGINES[name]


def texts_for(seed: int, n: int) -> list[str]:
    return [sentence for _, body in _articles(seed, None, n) for sentence in body][:n]


def _memory() -> dict[str, int]:
    status = Path("/proc/self/status").read_text()
    return {key: int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) * 1024 for key in ("RssAnon", "RssFile")}


def _build(engine: str, seed: int, n: int, directory: str, out) -> None:
    texts = texts_for(seed, n)
    started = time.perf_counter()
    engine_of(engine).build(texts, Path(directory))
    out.put(time.perf_counter() - started)


def _search(engine: str, seed: int, n: int, directory: str, claims: list[str], out, barrier=None) -> None:
    before = _memory()
    index = engine_of(engine).load(Path(directory))
    for claim in claims[:WARM]:  # the mapped pages a search touches
        index.search(claim, K)
    if barrier is not None:
        barrier.wait()
    times, tops = [], []
    for claim in claims:
        started = time.perf_counter()
        found = index.search(claim, K)
        times.append((time.perf_counter() - started) * 1000)
        tops.append(found)
    after = _memory()
    mapped = {}
    if barrier is not None:  # both alive and done: each one's share of the pages both map
        barrier.wait()
        mapped = _mapped(directory)
        barrier.wait()
    out.put({"times": times, "tops": tops, "anon": after["RssAnon"] - before["RssAnon"],
             "file": after["RssFile"] - before["RssFile"], **mapped})  # fmt: skip


def _mapped(directory: str) -> dict[str, int]:
    """Rss and Pss of this process's mappings of files under `directory`."""
    rss = pss = 0
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            inside = len(fields) >= 6 and fields[5].startswith(directory)
        elif inside and fields[0] == "Rss:":
            rss += int(fields[1]) * 1024
        elif inside and fields[0] == "Pss:":
            pss += int(fields[1]) * 1024
    return {"mapped_rss": rss, "mapped_pss": pss}


def _in_child(target, *args):
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=target, args=(*args, out))
    process.start()
    result = out.get()
    process.join()
    if process.exitcode:
        raise RuntimeError(f"{target.__name__} failed with {process.exitcode}")
    return result


def pss(engine: str, seed: int, n: int, directory: str, claims: list[str]) -> list[dict]:
    context = multiprocessing.get_context("spawn")
    out, barrier = context.Queue(), context.Barrier(2)
    workers = [context.Process(target=_search, args=(engine, seed, n, directory, claims, out, barrier)) for _ in "ab"]
    for w in workers:
        w.start()
    results = [out.get() for _ in workers]
    for w in workers:
        w.join()
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100k,1M", help="comma-separated sentence counts")
    p.add_argument("--engines", default="tantivy,bm25s", help="comma-separated: tantivy, bm25s")
    p.add_argument(
        "--common-share",
        default="",
        help="also Tantivy with words in over this share of sentences only scoring: 0.01,…",
    )
    p.add_argument("--claims", type=int, default=300)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--pss", action="store_true", help="two processes searching the Tantivy index at once")
    p.add_argument("--json", help="also write the rows to this file")
    a = p.parse_args()
    counts, engines = sizes(a.sizes), a.engines.split(",")
    started = time.perf_counter()
    print(f"{machine()}\n", flush=True)
    rows = []
    for n in counts:
        claims = make_claims(texts_for(a.seed, n), a.claims, seed=a.seed)
        tops: dict[str, list[list[int]]] = {}
        variants = [f"tantivy-common{v}" for v in a.common_share.split(",") if v]
        for engine in engines:
            work = Path(tempfile.mkdtemp(prefix=f"lexical-{engine}-"))
            try:
                build_s = _in_child(_build, engine, a.seed, n, str(work))
                disk = sum(f.stat().st_size for f in work.rglob("*") if f.is_file())
                for variant in variants if engine == "tantivy" else []:  # the same index, searched otherwise
                    found = _in_child(_search, variant, a.seed, n, str(work), claims)
                    tops[variant] = found["tops"]
                    times = found["times"]
                    row = {"engine": variant, "sentences": n, "build_s": round(build_s, 1),
                           "p50_ms": round(statistics.median(times), 3), "p95_ms": round(percentile(times, 95), 3),
                           "mean_ms": round(statistics.fmean(times), 3), "claims": len(claims)}  # fmt: skip
                    row["machine"] = machine()
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                found = _in_child(_search, engine, a.seed, n, str(work), claims)
                times, tops[engine] = found["times"], found["tops"]
                row = {
                    "engine": engine, "sentences": n, "build_s": round(build_s, 1),
                    "p50_ms": round(statistics.median(times), 3), "p95_ms": round(percentile(times, 95), 3),
                    "mean_ms": round(statistics.fmean(times), 3), "disk_bytes_a_sentence": round(disk / n, 1),
                    "private_memory_bytes_a_sentence": round(found["anon"] / n, 1),
                    "file_pages_bytes_a_sentence": round(found["file"] / n, 1), "claims": len(claims),
                }  # fmt: skip
                if a.pss and engine == "tantivy":
                    both = pss(engine, a.seed, n, str(work), claims)
                    row["two_workers_mapped_rss_mb"] = [round(r["mapped_rss"] / 2**20, 1) for r in both]
                    row["two_workers_mapped_pss_mb"] = [round(r["mapped_pss"] / 2**20, 1) for r in both]
                    row["two_workers_p50_ms"] = [round(statistics.median(r["times"]), 3) for r in both]
                if engine == "bm25s":  # each Tantivy row's agreement with bm25s, on the bm25s row
                    for other in [e for e in tops if e != "bm25s"]:
                        overlaps = [
                            len(set(t) & set(b)) / len(b) for t, b in zip(tops[other], tops["bm25s"], strict=True) if b
                        ]
                        row[f"top50_overlap_{other}"] = round(statistics.fmean(overlaps), 3)
                if engine == "tantivy":  # each variant's agreement with plain Tantivy, on its row
                    for variant in variants:
                        overlaps = [
                            len(set(v) & set(t)) / len(t)
                            for v, t in zip(tops[variant], tops["tantivy"], strict=True)
                            if t
                        ]
                        row[f"top50_overlap_{variant}"] = round(statistics.fmean(overlaps), 3)
                row["machine"] = machine()
                rows.append(row)
                print(json.dumps(row), flush=True)
            finally:
                shutil.rmtree(work)
        log(f"{n:,} done ({time.perf_counter() - started:.0f}s)")
    header = "engine | sentences | build s | disk B a sentence | private memory B a sentence | search p50 ms | p95 ms"
    print()
    print(table(header, [
        [r["engine"], f"{r['sentences']:,}", r["build_s"], r.get("disk_bytes_a_sentence", "–"),
         r.get("private_memory_bytes_a_sentence", "–"), r["p50_ms"], r["p95_ms"]] for r in rows
    ]))  # fmt: skip
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\n{command()} ({time.perf_counter() - started:.0f}s); at the end {contention()}")


if __name__ == "__main__":
    main()
