"""Clients for benchmarks/serving_load.py (run by it, through locust; not by hand).

Each client sends its next claim as soon as the previous answer arrives, over one keep-alive
connection; with BENCH_RATE, after a random think time (exponential, mean 1/BENCH_RATE s), so
requests arrive at random moments, as editors' do (locust's `constant_throughput` puts every client
on the same beat: bursts). Every request's exact time is logged (locust's statistics round them).

    BENCH_TARGET   ours: POST /v1/verify {"claim", "top_k": 5}; txtai and peer-judged: GET /search?query=…&limit=5
    BENCH_CLAIMS   JSON file with a list of claims (each client walks it from its own offset)
    BENCH_LOG      where to write one line per request: start time, milliseconds, ok (1/0), status
    BENCH_CLOSE    1: send `Connection: close` (a new connection per request) instead of keeping it alive
    BENCH_RATE     mean think time 1/BENCH_RATE seconds per client; unset: no pause
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, constant, events, task

TARGET = os.environ.get("BENCH_TARGET", "ours")
HEADERS = {"Connection": "close"} if os.environ.get("BENCH_CLOSE") == "1" else {}
CLAIMS: list[str] = json.loads(Path(os.environ["BENCH_CLAIMS"]).read_text("utf-8"))
_records: list[tuple[float, float, int, int]] = []
_users = itertools.count()


@events.request.add_listener
def _record(response_time, exception=None, start_time=None, response=None, **_):
    status = getattr(response, "status_code", 0) or 0
    _records.append((start_time or 0.0, response_time, int(exception is None), status))


@events.test_stop.add_listener
def _write(**_):
    with open(os.environ["BENCH_LOG"], "w", encoding="utf-8") as fh:
        fh.writelines(f"{start:.6f} {ms:.3f} {ok} {status}\n" for start, ms, ok, status in _records)


RATE = float(os.environ.get("BENCH_RATE") or 0)


class Client(FastHttpUser):
    wait_time = (lambda _user: random.expovariate(RATE)) if RATE else constant(0)  # the think time
    # One connection per client, kept alive; no connection pool beyond it.
    concurrency = 1

    def on_start(self) -> None:
        offset = random.Random(next(_users)).randrange(len(CLAIMS))
        self.claims = itertools.islice(itertools.cycle(CLAIMS), offset, None)

    @task
    def verify(self) -> None:
        claim = next(self.claims)
        if TARGET not in ("txtai", "peer-judged"):  # ours, or a --variant of ours
            with self.client.post(
                "/v1/verify", json={"claim": claim, "top_k": 5}, headers=HEADERS, name="verify", catch_response=True
            ) as response:
                if response.status_code == 200 and "verdict" not in (response.json() or {}):
                    response.failure("no verdict in the answer")
        else:
            with self.client.get(
                "/search", params={"query": claim, "limit": 5}, headers=HEADERS, name="search", catch_response=True
            ) as response:
                if response.status_code == 200 and not isinstance(response.json(), list):
                    response.failure("no result list in the answer")
