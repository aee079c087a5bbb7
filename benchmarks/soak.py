"""Soak test: real gunicorn on loopback, many concurrent clients mixing reads and writes.

    .venv/bin/python benchmarks/soak.py --duration 300 --clients 32

Each client keeps one HTTP/1.1 connection and loops: 70% single verify, 20% batch of 8
claims, 10% article writes (create, replace or delete among 40 ids; two clients replacing one
article at once: one wins, the other's 409 is the answer, not an error). Worker RSS is sampled
every 5 s. Prints a markdown table; with --check, exits 1 on any error or if RSS grew by
more than --max-growth-mb after the warm-up.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from harness import SAMPLE_ARTICLES, percentile, table  # first: the path and offline flags

KEY = "soak-write-key-0123456789"
CLAIMS = [
    "Russia launched 133 drones",
    "Russia launched 500 drones",
    "Vance met Zelensky in Munich",
    "The Chernobyl plant was hit by a drone",
    "Radiation levels at Chernobyl were normal",
    "Trump agreed to start peace talks with Putin",
    "Hegseth said Ukraine would not join NATO",
    "Zelensky said Putin is preparing for peace",
]


class Client(threading.Thread):
    def __init__(self, port: int, deadline: float, seed: int, results: list):
        super().__init__(daemon=True)
        self.port, self.deadline, self.rng, self.results = port, deadline, random.Random(seed), results

    def next_request(self) -> tuple[str, str, str, dict | None, tuple[int, ...]]:
        """(operation, method, path, body, the statuses that are right)."""
        rng, roll = self.rng, self.rng.random()
        if roll < 0.7:
            return "verify", "POST", "/v1/verify", {"claim": rng.choice(CLAIMS)}, (200,)
        if roll < 0.9:
            return "batch", "POST", "/v1/verify/batch", {"claims": rng.sample(CLAIMS, 8)}, (200,)
        article_id = f"soak-{rng.randrange(40)}"
        if rng.random() < 0.25:
            return "delete", "DELETE", f"/v1/articles/{article_id}", None, (204, 404)
        figure = rng.randrange(1000)
        text = (
            f"Officials said {figure} drones were launched overnight. "
            f"Air defences shot down {figure // 2} of them, the report added."
        )
        record = {"id": article_id, "title": f"Soak {article_id}", "text": text}
        return "write", "POST", "/v1/articles", record, (201, 409)

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while time.monotonic() < self.deadline:
            op, method, path, body, ok = self.next_request()
            headers = {"Content-Type": "application/json"}
            headers |= {"Authorization": f"Bearer {KEY}"} if op in ("write", "delete") else {}
            started = time.perf_counter()
            try:
                conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
                response = conn.getresponse()
                response.read()
                error = None if response.status in ok else f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                error = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.results.append((op, time.perf_counter() - started, error))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=30, help="seconds before the RSS baseline")
    parser.add_argument("--max-growth-mb", type=float, default=100)
    parser.add_argument("--check", action="store_true", help="exit 1 on errors or RSS growth over the bound")
    args = parser.parse_args(argv)

    from harness import memory_mb, running_gunicorn, worker_pids

    from index.ingestion.builder import build_index
    from index.retrieval.embedder import load_embedder

    results: list[tuple[str, float, str | None]] = []
    samples: list[tuple[float, float]] = []  # (seconds in, total worker RSS MB)
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        build_index([SAMPLE_ARTICLES], index_dir, load_embedder())
        env = {"API_KEYS": f"soak:write:{KEY}", "LOG_LEVEL": "WARNING"}
        with running_gunicorn(index_dir, args.workers, Path(tmp) / "access.log", **env) as (base, proc):
            deadline = time.monotonic() + args.duration
            clients = [Client(int(base.rsplit(":", 1)[1]), deadline, seed, results) for seed in range(args.clients)]
            for c in clients:
                c.start()
            started = time.monotonic()

            def sample() -> None:
                samples.append((time.monotonic() - started, sum(memory_mb(p)[0] for p in worker_pids(proc.pid))))

            while time.monotonic() < deadline:
                sample()
                time.sleep(5)
            for c in clients:
                c.join()
            sample()
        shutil.rmtree(index_dir, ignore_errors=True)

    errors = [r for r in results if r[2]]
    baseline = next((mb for at, mb in samples if at >= args.warmup), samples[0][1])
    peak, final = max(mb for _, mb in samples), samples[-1][1]
    growth = peak - baseline
    print(
        f"soak: {args.duration:.0f} s, {args.clients} clients, {args.workers} workers, "
        f"{len(results)} requests ({len(results) / args.duration:.1f}/s), {len(errors)} errors"
    )
    rows = []
    for op in ("verify", "batch", "write", "delete", "all"):
        if ms := [r[1] * 1000 for r in results if op in ("all", r[0])]:
            errs = sum(1 for r in results if op in ("all", r[0]) and r[2])
            rows.append([op, len(ms), errs, *(f"{percentile(ms, q):.1f}" for q in (50, 95, 99))])
    print("\n" + table("operation | requests | errors | p50 ms | p95 ms | p99 ms", rows))
    print(
        f"\nworker RSS (both workers): {baseline:.0f} MB after {args.warmup:.0f} s warm-up, "
        f"peak {peak:.0f} MB, final {final:.0f} MB: growth {growth:+.0f} MB (bound {args.max_growth_mb:.0f} MB)"
    )
    if errors:
        print("errors:", dict(Counter(f"{op}: {error}" for op, _, error in errors)))
    return 1 if args.check and (errors or growth > args.max_growth_mb) else 0


if __name__ == "__main__":
    sys.exit(main())
