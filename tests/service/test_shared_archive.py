"""Several hosts, one archive: three instances, each with its own INDEX_DIR as separate hosts
would have, sharing a real PostgreSQL (ARCHIVE_URL). Writes through any host reach every
host; faults (PostgreSQL stopped mid-writes, kill -9 of an instance) lose nothing acknowledged;
the connection string's password appears nowhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest

from index.storage.archive import Archive
from index.storage.postgres import PostgresArchive, copy_from_sqlite
from service.postgres_server import init
from service.processes import ROOT, free_port, get_json, post_json, running_gunicorn

pytestmark = pytest.mark.model

WRITE_KEY = "shared-archive-write-key-0123456789"
WRITER = {"Authorization": f"Bearer {WRITE_KEY}"}
SPREAD_S = 2.0  # a write through one host is answered by every host within this


def hosts_of(url: str, sample_index_dir: Path, tmp_path: Path, count: int) -> list[Path]:
    """The sample archive moved into the shared archive, and `count` hosts' replicas built from
    its stored vectors (scripts/build_index.py --from-archive: nothing is embedded)."""
    source = Archive.open(sample_index_dir)
    copy_from_sqlite(source.connection, PostgresArchive(url), "sample")
    dirs = []
    for i in range(count):
        out = tmp_path / f"host-{i + 1}"
        run = subprocess.run(
            [sys.executable, "scripts/build_index.py", "--from-archive", url, "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert "nothing is embedded" in run.stdout or "nothing embedded" in run.stdout
        dirs.append(out)
    return dirs


def start_hosts(stack: ExitStack, dirs: list[Path], url: str, onnx_dir: Path, tmp_path: Path) -> list[tuple]:
    """One gunicorn instance (1 worker) per host directory; [(base url, process, log path)]."""
    running = []
    for i, index_dir in enumerate(dirs):
        log = tmp_path / f"host-{i + 1}.log"
        base, proc = stack.enter_context(
            running_gunicorn(
                index_dir, workers=1, log_path=log, ARCHIVE_URL=url, ONNX_DIR=str(onnx_dir),
                API_KEYS=f"desk:write:{WRITE_KEY}", ARCHIVE_POLL_SECONDS="5",
            )
        )  # fmt: skip
        running.append((base, proc, log))
    return running


def evidence_ids(base: str, claim: str) -> set[str]:
    status, body = post_json(base + "/v1/verify", {"claim": claim})
    assert status == 200, body
    return {e["article"]["id"] for e in body["evidence"]}


def until(check, timeout: float) -> float:
    """Seconds until `check()` is true; fails after `timeout`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"not within {timeout}s"
        time.sleep(0.05)
    return time.monotonic() - started


HARBOUR = {
    "id": "shared-harbour",
    "title": "Harbour reopens",
    "text": "The harbour of Berdyansk reopened to grain ships after 212 days of closure. "
    "Port officials said 14 vessels were waiting offshore.",
}


def test_a_write_through_any_host_is_answered_by_every_host(tmp_path, onnx_dir, sample_index_dir, archive_url):
    dirs = hosts_of(archive_url, sample_index_dir, tmp_path, 3)
    secret = psycopg.conninfo.conninfo_to_dict(archive_url)["password"]
    with ExitStack() as stack:
        (h1, _, log1), (h2, p2, log2), (h3, _, log3) = start_hosts(stack, dirs, archive_url, onnx_dir, tmp_path)
        claim = "Berdyansk harbour reopened after 212 days"
        assert HARBOUR["id"] not in evidence_ids(h2, claim)
        # An article POSTed to host 1 is found by /v1/verify on hosts 2 and 3 within 2 s.
        status, body = post_json(h1 + "/v1/articles", HARBOUR, WRITER)
        assert status == 201, body
        assert HARBOUR["id"] in evidence_ids(h1, claim)  # the writer at once
        delays = [until(lambda h=h: HARBOUR["id"] in evidence_ids(h, claim), SPREAD_S) for h in (h2, h3)]
        # A review POSTed to host 3 is matched on host 1.
        review = {"claim": "The Berdyansk harbour stayed closed for 212 days", "verdict": "supported",
                  "rating": "True", "url": "https://checks.example/berdyansk"}  # fmt: skip
        status, body = post_json(h3 + "/v1/reviews", review, WRITER)
        assert status == 201, body
        review_id = body["review"]["id"]

        def matched_on_1() -> bool:
            _, result = post_json(h1 + "/v1/verify", {"claim": review["claim"]})
            return any(r["id"] == review_id for r in result["reviews"])

        delays.append(until(matched_on_1, SPREAD_S))
        # A DELETE on host 2 is gone everywhere within 2 s.
        status, _ = post_json(h2 + f"/v1/articles/{HARBOUR['id']}", None, WRITER, method="DELETE")
        assert status == 204
        delays += [until(lambda h=h: HARBOUR["id"] not in evidence_ids(h, claim), SPREAD_S) for h in (h1, h3)]
        # Every host reports the same generation, and how it follows the archive, never the password.
        stats = [get_json(h + "/v1/index")[1] for h in (h1, h2, h3)]
        assert len({s["generation"] for s in stats}) == 1
        assert all(s["archive"]["backend"] == "postgresql" and s["archive"]["following"] for s in stats)
        assert all(secret not in json.dumps(s) for s in stats)
        assert max(delays) < SPREAD_S

        # Two hosts writing the same article at once: one wins, the other gets 409; both logged.
        outcomes = []
        for round_ in range(8):
            barrier = threading.Barrier(2)
            statuses: dict[str, int] = {}

            def write(host: str, text: str, round_=round_, barrier=barrier, statuses=statuses) -> None:
                barrier.wait()
                record = {
                    "id": "contested",
                    "title": "Contested",
                    "text": f"{text} wrote this in round {round_}. " * 30,
                }
                statuses[host] = post_json(host + "/v1/articles", record, WRITER)[0]

            threads = [threading.Thread(target=write, args=(h, n)) for h, n in ((h1, "Host one"), (h2, "Host two"))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert set(statuses.values()) <= {201, 409}
            outcomes.append(sorted(statuses.values()))
        assert [201, 409] in outcomes, f"the writes never overlapped: {outcomes}"
        assert all(o in ([201, 201], [201, 409]) for o in outcomes)  # never both refused
        logs = log1.read_text() + log2.read_text()
        assert "write refused (409)" in logs and "'contested' updated at generation" in logs

        # kill -9 of an instance during writes: nothing it acknowledged is lost.
        acknowledged, stop = [], threading.Event()

        def keep_writing() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                record = {"id": f"burst-{n}", "title": "Burst", "text": f"Burst article {n} was written. It is short."}
                try:
                    status, _ = post_json(h2 + "/v1/articles", record, WRITER)
                except OSError:
                    return  # the host is gone
                if status == 201:
                    acknowledged.append(record["id"])

        writer = threading.Thread(target=keep_writing)
        writer.start()
        until(lambda: len(acknowledged) >= 3, 30)
        os.killpg(p2.pid, signal.SIGKILL)
        stop.set()
        writer.join(timeout=30)
        with psycopg.connect(archive_url) as conn:
            stored = {r[0] for r in conn.execute("SELECT id FROM articles WHERE deleted IS NULL")}
        assert set(acknowledged) <= stored
        generation = get_json(h1 + "/v1/index")[1]["generation"]
        until(lambda: get_json(h3 + "/v1/index")[1]["generation"] >= generation, 5)
        status, listing = get_json(h3 + "/v1/articles?limit=200")
        assert set(acknowledged) <= {a["id"] for a in listing["articles"]}
        # The password never appears in a log line.
        for log in (log1, log2, log3):
            assert secret not in log.read_text()


def test_postgres_stopped_mid_writes_loses_nothing_acknowledged(tmp_path, onnx_dir, sample_index_dir):
    """PostgreSQL stops while writes arrive: writes answer 503 with Retry-After, reads keep
    answering, /readyz says why; when it returns every acknowledged write is there."""
    parent = Path(tempfile.mkdtemp(prefix="claimcheck-pg-"))
    parent.chmod(0o755)
    server = init(parent / "data", free_port())
    try:
        url = server.create_database("outage")
        PostgresArchive(url).migrate()
        dirs = hosts_of(url, sample_index_dir, tmp_path, 2)
        with ExitStack() as stack:
            (h1, _, log1), (h2, _, _) = start_hosts(stack, dirs, url, onnx_dir, tmp_path)
            acknowledged, refused, reads, stop = [], [], [], threading.Event()

            def keep_writing() -> None:
                n = 0
                while not stop.is_set():
                    n += 1
                    record = {"id": f"outage-{n}", "title": "Outage", "text": f"Outage article {n} is here. Two."}
                    status, body = post_json(h1 + "/v1/articles", record, WRITER)
                    if status == 201:
                        acknowledged.append(record["id"])
                    else:
                        refused.append((status, body.get("code")))
                    time.sleep(0.05)

            def keep_reading() -> None:
                while not stop.is_set():
                    reads.append(post_json(h2 + "/v1/verify", {"claim": "Russia launched 133 drones"})[0])

            threads = [threading.Thread(target=keep_writing), threading.Thread(target=keep_reading)]
            for t in threads:
                t.start()
            until(lambda: len(acknowledged) >= 3, 30)
            server.stop("fast")
            until(lambda: len(refused) >= 3, 30)
            status, ready = get_json(h1 + "/readyz")
            assert status == 200 and "writes unavailable" in ready.get("archive", ""), ready
            down_reads = len(reads)
            time.sleep(1.0)
            assert len(reads) > down_reads  # reads answered throughout
            server.start()
            count = len(acknowledged)
            until(lambda: len(acknowledged) >= count + 3, 30)  # writes are taken again
            stop.set()
            for t in threads:
                t.join(timeout=30)
            assert set(reads) == {200}
            assert refused and {r for r in refused} == {(503, "archive_unavailable")}
            with psycopg.connect(url) as conn:
                stored = {r[0] for r in conn.execute("SELECT id FROM articles WHERE deleted IS NULL")}
            assert set(acknowledged) <= stored
            until(
                lambda: get_json(h2 + "/v1/index")[1]["generation"] >= get_json(h1 + "/v1/index")[1]["generation"], 10
            )
            status, listing = get_json(h2 + "/v1/articles?limit=200")
            assert set(acknowledged) <= {a["id"] for a in listing["articles"]}
            assert server.password not in log1.read_text()
    finally:
        if server.running():
            server.stop("immediate")


def test_a_schema_this_release_cannot_read_leaves_the_worker_not_ready(writable_index_dir, onnx_dir, postgres_server):
    from service import create_app
    from service.config import Settings

    url = postgres_server.create_database(f"unmigrated_{time.time_ns()}")
    settings = Settings(index_dir=str(writable_index_dir), archive_url=url, onnx_dir=str(onnx_dir))
    assert postgres_server.password not in repr(settings)
    client = create_app(settings).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    reason = response.get_json()["reason"]
    assert "schema version 0" in reason and "scripts/archive_schema.py --upgrade" in reason
    assert postgres_server.password not in reason
    assert client.post("/v1/verify", json={"claim": "Russia launched 133 drones"}).status_code == 503
