"""Soak test: real gunicorn on loopback, many concurrent clients mixing reads and writes.

    .venv/bin/python benchmarks/soak.py --duration 300 --clients 32

Each client keeps one HTTP/1.1 connection and loops: 70% single verify, 20% batch of 8
claims, 10% article writes (create, replace or delete among 40 ids). Worker RSS is sampled
every 5 s. Prints a markdown table; with --check, exits 1 on any error or if RSS grew by
more than --max-growth-mb after the warm-up.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import ROOT, percentile  # first: the path and offline flags

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

    def request(self, conn, method: str, path: str, body: object | None, headers: dict) -> int:
        data = None if body is None else json.dumps(body)
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        response.read()
        return response.status

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        auth = {"Authorization": f"Bearer {KEY}"}
        while time.monotonic() < self.deadline:
            roll = self.rng.random()
            if roll < 0.7:
                op, method, path, body, ok = "verify", "POST", "/v1/verify", {"claim": self.rng.choice(CLAIMS)}, 200
            elif roll < 0.9:
                op, method, path = "batch", "POST", "/v1/verify/batch"
                body, ok = {"claims": self.rng.sample(CLAIMS, 8)}, 200
            else:
                article_id = f"soak-{self.rng.randrange(40)}"
                if self.rng.random() < 0.25:
                    op, method, path, body, ok = "delete", "DELETE", f"/v1/articles/{article_id}", None, (204, 404)
                else:
                    figure = self.rng.randrange(1000)
                    text = (
                        f"Officials said {figure} drones were launched overnight. "
                        f"Air defences shot down {figure // 2} of them, the report added."
                    )
                    op, method, path, ok = "write", "POST", "/v1/articles", 201
                    body = {"id": article_id, "title": f"Soak {article_id}", "text": text}
            started = time.perf_counter()
            try:
                status = self.request(conn, method, path, body, auth if op in ("write", "delete") else {})
                error = None if status in (ok if isinstance(ok, tuple) else (ok,)) else f"HTTP {status}"
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

    from index.builder import build_index
    from index.embedder import load_embedder

    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        build_index([ROOT / "data" / "articles"], index_dir, load_embedder())
        env = {"API_KEYS": f"soak:write:{KEY}", "LOG_LEVEL": "WARNING"}
        with running_gunicorn(index_dir, workers=args.workers, log_path=Path(tmp) / "access.log", **env) as (
            base,
            proc,
        ):
            port = int(base.rsplit(":", 1)[1])
            results: list[tuple[str, float, str | None]] = []
            deadline = time.monotonic() + args.duration
            clients = [Client(port, deadline, seed, results) for seed in range(args.clients)]
            for c in clients:
                c.start()
            samples: list[tuple[float, float]] = []  # (seconds in, total worker RSS MB)
            started = time.monotonic()
            while time.monotonic() < deadline:
                samples.append((time.monotonic() - started, sum(memory_mb(p)[0] for p in worker_pids(proc.pid))))
                time.sleep(5)
            for c in clients:
                c.join()
            samples.append((time.monotonic() - started, sum(memory_mb(p)[0] for p in worker_pids(proc.pid))))
        shutil.rmtree(index_dir, ignore_errors=True)

    errors = [r for r in results if r[2]]
    baseline = next((mb for at, mb in samples if at >= args.warmup), samples[0][1])
    peak, final = max(mb for _, mb in samples), samples[-1][1]
    growth = peak - baseline
    print(
        f"soak: {args.duration:.0f} s, {args.clients} clients, {args.workers} workers, "
        f"{len(results)} requests ({len(results) / args.duration:.1f}/s), {len(errors)} errors"
    )
    print("\n| operation | requests | errors | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|")
    for op in ("verify", "batch", "write", "delete", "all"):
        rows = [r for r in results if op in ("all", r[0])]
        if not rows:
            continue
        ms = [r[1] * 1000 for r in rows]
        print(
            f"| {op} | {len(rows)} | {sum(1 for r in rows if r[2])} | {percentile(ms, 50):.1f} | "
            f"{percentile(ms, 95):.1f} | {percentile(ms, 99):.1f} |"
        )
    print(
        f"\nworker RSS (both workers): {baseline:.0f} MB after {args.warmup:.0f} s warm-up, "
        f"peak {peak:.0f} MB, final {final:.0f} MB: growth {growth:+.0f} MB (bound {args.max_growth_mb:.0f} MB)"
    )
    if errors:
        kinds: dict[str, int] = {}
        for op, _, error in errors:
            kinds[f"{op}: {error}"] = kinds.get(f"{op}: {error}", 0) + 1
        print("errors:", kinds)
    if args.check and (errors or growth > args.max_growth_mb):
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
