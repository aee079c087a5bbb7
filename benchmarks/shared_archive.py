"""Several hosts, one archive, measured on `make cluster INSTANCES=3 ARCHIVE=postgres PORT=P`.

    make cluster INSTANCES=3 ARCHIVE=postgres PORT=8180 API_KEYS=bench:write:bench-write-key-0123456789 &
    .venv/bin/python benchmarks/shared_archive.py --port 8180 --key bench-write-key-0123456789

Spread: an article POSTed to instance 1 until /v1/verify on instances 2 and 3 finds it; a
review POSTed to instance 3 until instance 1 matches it; a DELETE on instance 2 until it is
gone from 1 and 3 (`--rounds` times; p50 and max). Outage (`--outage`): writes to instance 1
and reads from instance 2 while the cluster's PostgreSQL (var/postgres) is stopped for
`--down` seconds and started again: writes acknowledged, refused (and how), reads answered,
and whether every acknowledged write is in PostgreSQL and on instance 3 afterwards.
"""

from __future__ import annotations

import argparse
import threading
import time
import urllib.parse

import psycopg
from harness import machine, percentile

from service.postgres_server import init
from service.processes import ROOT, get_json, post_json


def evidence_ids(base: str, claim: str) -> set[str]:
    status, body = post_json(base + "/v1/verify", {"claim": claim})
    return {e["article"]["id"] for e in body.get("evidence", [])} if status == 200 else set()


def until(check, timeout: float = 30.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            return float("inf")
        time.sleep(0.02)
    return time.monotonic() - started


def spread(hosts: list[str], writer: dict, rounds: int) -> dict[str, list[float]]:
    h1, h2, h3 = hosts
    found, matched, gone = [], [], []
    for r in range(rounds):
        article = {
            "id": f"spread-{r}-{time.time_ns()}",
            "title": "Spread",
            "text": f"The ferry from Izmail carried {400 + r} passengers across the Danube on its round {r}. "
            "Officials said the crossing took three hours.",
        }
        claim = f"The Izmail ferry carried {400 + r} passengers across the Danube"
        assert post_json(h1 + "/v1/articles", article, writer)[0] == 201
        found.append(max(until(lambda h=h, a=article["id"], c=claim: a in evidence_ids(h, c)) for h in (h2, h3)))
        review = {"claim": f"A Danube ferry from Izmail carried {400 + r} passengers", "verdict": "supported"}
        status, body = post_json(h3 + "/v1/reviews", review, writer)
        assert status == 201, body
        rid = body["review"]["id"]

        def on_1(rid=rid, review=review) -> bool:
            status, result = post_json(h1 + "/v1/verify", {"claim": review["claim"]})
            return status == 200 and any(x["id"] == rid for x in result["reviews"])

        matched.append(until(on_1))
        assert post_json(h2 + f"/v1/articles/{article['id']}", None, writer, method="DELETE")[0] == 204
        gone.append(max(until(lambda h=h, a=article["id"], c=claim: a not in evidence_ids(h, c)) for h in (h1, h3)))
        post_json(h3 + f"/v1/reviews/{rid}", None, writer, method="DELETE")
    return {"article on 1 → found on 2 and 3": found, "review on 3 → matched on 1": matched,
            "delete on 2 → gone from 1 and 3": gone}  # fmt: skip


def outage(hosts: list[str], writer: dict, pg_port: int, down_s: float) -> dict:
    h1, h2, h3 = hosts
    server = init(ROOT / "var" / "postgres", pg_port)  # already running: just its handle
    acknowledged, refused, reads, stop = [], [], [], threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            record = {"id": f"outage-{time.time_ns()}", "title": "Outage", "text": f"Outage write {n}. It is here."}
            status, body = post_json(h1 + "/v1/articles", record, writer)
            if status == 201:
                acknowledged.append((record["id"], time.monotonic()))
            else:
                refused.append(f"{status} {body.get('code')}")
            time.sleep(0.05)

    def read() -> None:
        while not stop.is_set():
            reads.append(post_json(h2 + "/v1/verify", {"claim": "Russia launched 133 drones"})[0])

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for t in threads:
        t.start()
    time.sleep(2)
    server.stop("fast")
    stopped = time.monotonic()
    time.sleep(down_s)
    ready = get_json(h1 + "/readyz")
    server.start()
    back = time.monotonic()
    until(lambda: acknowledged and acknowledged[-1][1] > back, 60)
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join()
    url = server.url()
    ids = [i for i, _ in acknowledged]
    first_write_after = min(t for _, t in acknowledged if t > back) - back
    with psycopg.connect(url) as conn:
        stored = {r[0] for r in conn.execute("SELECT id FROM articles WHERE deleted IS NULL")}
    generation = get_json(h1 + "/v1/index")[1]["generation"]
    until(lambda: get_json(h3 + "/v1/index")[1]["generation"] >= generation)
    on_3: set[str] = set()
    cursor = ""
    while True:  # every page of instance 3's listing
        _, listing = get_json(h3 + f"/v1/articles?limit=100&cursor={urllib.parse.quote(cursor)}")
        on_3 |= {a["id"] for a in listing["articles"]}
        if not listing.get("next_cursor"):
            break
        cursor = listing["next_cursor"]
    return {
        "down_seconds": round(back - stopped, 1),
        "writes_acknowledged": len(ids),
        "writes_refused": {k: refused.count(k) for k in sorted(set(refused))},
        "acknowledged_lost_in_postgres": len(set(ids) - stored),
        "acknowledged_missing_on_instance_3": len(set(ids) - on_3),
        "reads": {str(k): reads.count(k) for k in sorted(set(reads))},
        "readyz_while_down": ready,
        "first_write_after_restart_s": round(first_write_after, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8180, help="the cluster's PORT (instances on PORT+1…PORT+3)")
    parser.add_argument("--key", required=True, help="a write key of API_KEYS")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--outage", action="store_true")
    parser.add_argument("--down", type=float, default=5.0)
    args = parser.parse_args()
    hosts = [f"http://127.0.0.1:{args.port + i}" for i in (1, 2, 3)]
    writer = {"Authorization": f"Bearer {args.key}"}
    print(machine())
    for name, delays in spread(hosts, writer, args.rounds).items():
        print(f"{name}: p50 {percentile(delays, 50) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms ({len(delays)})")
    if args.outage:
        print(outage(hosts, writer, args.port + 3 + 1, args.down))


if __name__ == "__main__":
    main()
