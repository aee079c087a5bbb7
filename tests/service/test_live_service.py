"""A live index under real gunicorn with 2 workers: visibility across workers, rebuilds and
SIGHUP without restart, concurrent writers, and durability through kill -9."""

import contextlib
import json
import os
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from service.processes import get_json, post_json, running_gunicorn, wait_until_ready, worker_pids
from tests.conftest import SAMPLE_ARTICLES, run_build_index

pytestmark = pytest.mark.slow

WRITE_KEY = "live-test-write-key-0123456789"
AUTH = {"Authorization": f"Bearer {WRITE_KEY}"}
ENV = {"API_KEYS": f"tests:write:{WRITE_KEY}"}

KHARKIV = {
    "id": "kharkiv-drones",
    "title": "Drones hit Kharkiv",
    "published": "2025-03-01",
    "text": "Russia launched 412 drones at Kharkiv overnight, the mayor said.",
}
CLAIM = "Russia launched 412 drones at Kharkiv"


@pytest.fixture(scope="module")
def live(tmp_path_factory, sample_index_dir):
    """(base url, master process, index dir, access log) of a 2-worker service on a private index copy."""
    root = tmp_path_factory.mktemp("live")
    index_dir = root / "index"
    shutil.copytree(sample_index_dir, index_dir)
    log = root / "access.log"
    with running_gunicorn(index_dir, workers=2, log_path=log, **ENV) as (base, proc):
        yield base, proc, index_dir, log


def verify_with_id(base: str, claim: str) -> tuple[str, dict]:
    request_id = uuid.uuid4().hex
    status, body = post_json(f"{base}/v1/verify", {"claim": claim}, headers={"X-Request-ID": request_id})
    assert status == 200, body
    return request_id, body


def pids_of(log: Path, request_ids: set[str]) -> set[int]:
    """Which worker answered each request, from the JSON access log."""
    pids = set()
    for line in log.read_text().splitlines():
        if line.startswith("{") and (entry := json.loads(line)).get("request_id") in request_ids:
            pids.add(entry["pid"])
    return pids


def test_a_write_is_visible_to_every_worker_on_the_next_request(live):
    base, _, _, log = live
    status, written = post_json(f"{base}/v1/articles", KHARKIV, headers=AUTH)
    assert status == 201
    seen: set[str] = set()
    # Keep asking until both workers have answered (connections are spread by the kernel).
    for _ in range(200):
        request_id, body = verify_with_id(base, CLAIM)
        seen.add(request_id)
        assert body["evidence"][0]["article"]["id"] == "kharkiv-drones", "a worker answered from stale state"
        assert body["index"]["generation"] >= written["generation"]
        if len(seen) >= 10 and len(pids_of(log, seen)) == 2:
            break
    assert len(pids_of(log, seen)) == 2


REVIEW = {
    "claim": "Russia launched 900 drones at Lviv in one night",
    "verdict": "contradicted",
    "rating": "False",
    "url": "https://checks.example/lviv-900",
}


def test_a_review_is_matched_by_every_worker_on_the_next_request_and_is_on_disk(live, tmp_path):
    base, _, index_dir, log = live
    status, written = post_json(f"{base}/v1/reviews", REVIEW, headers=AUTH)
    assert status == 201, written
    seen: set[str] = set()
    for _ in range(200):
        request_id, body = verify_with_id(base, "Russia fired 900 drones at Lviv overnight")
        seen.add(request_id)
        assert body["reviews"] and body["reviews"][0]["id"] == written["review"]["id"], "a worker missed the review"
        if len(seen) >= 10 and len(pids_of(log, seen)) == 2:
            break
    assert len(pids_of(log, seen)) == 2
    # On disk when the 201 returned: a copy of the directory taken now (the WAL included) holds it.
    copy = tmp_path / "copy"
    shutil.copytree(index_dir, copy)
    with running_gunicorn(copy, workers=1, **ENV) as (copied, _):
        assert get_json(f"{copied}/v1/reviews/{written['review']['id']}")[0] == 200


def test_a_rebuild_against_the_live_directory_is_picked_up_without_restart(live, tmp_path):
    base, _, index_dir, _ = live
    old = get_json(f"{base}/v1/index")[1]
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"id": "odesa", "title": "Odesa port", "text": "Drones struck the port of Odesa."}))
    # Claims keep flowing while the rebuild runs; none may fail.
    failures: list[int] = []
    stop = threading.Event()

    def keep_verifying() -> None:
        while not stop.is_set():
            status, _ = post_json(f"{base}/v1/verify/batch", {"claims": ["Russia launched 133 drones"] * 16})
            if status != 200:
                failures.append(status)

    traffic = threading.Thread(target=keep_verifying)
    traffic.start()
    try:
        done = run_build_index(index_dir, feed, timeout=300)
    finally:
        stop.set()
        traffic.join()
    assert done.returncode == 0, done.stderr
    assert failures == []
    for _ in range(10):  # whichever worker answers
        stats = get_json(f"{base}/v1/index")[1]
        assert stats["version"] != old["version"] and stats["pending_sentences"] == 0
        assert stats["articles"] == old["articles"] + 1  # the HTTP-posted articles are kept too


def test_concurrent_writers_of_one_article_end_in_one_version(live):
    base, _, _, _ = live
    versions = {
        "a": "Version A says 100 drones were launched. It has a second sentence.",
        "b": "Version B says 200 drones were launched.",
    }

    statuses: list[int] = []

    def write(text: str) -> None:
        for _ in range(6):
            status, _ = post_json(f"{base}/v1/articles", {**KHARKIV, "id": "contested", "text": text}, headers=AUTH)
            statuses.append(status)  # asserted below: an assert in a thread fails nothing

    threads = [threading.Thread(target=write, args=(text,)) for text in versions.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # A write that another one overtook while it embedded is refused (409), never mixed in; each
    # refusal is owed to a distinct acknowledged write of the other writer.
    assert len(statuses) == 12 and set(statuses) <= {201, 409}
    assert statuses.count(201) >= statuses.count(409)
    article = get_json(f"{base}/v1/articles/contested")[1]
    assert article["body"] in versions.values()
    assert " ".join(s["text"] for s in article["sentences"]) == article["body"]
    evidence = post_json(f"{base}/v1/verify", {"claim": "drones were launched", "article_ids": ["contested"]})[1]
    assert {e["text"] for e in evidence["evidence"]} == {s["text"] for s in article["sentences"]}


def test_sighup_reloads_every_worker_and_the_service_keeps_answering(live):
    base, proc, _, _ = live
    before = worker_pids(proc.pid)
    os.kill(proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 120
    while worker_pids(proc.pid) & before or len(worker_pids(proc.pid)) < 2:
        assert time.monotonic() < deadline, "workers were not replaced"
        time.sleep(0.2)
    wait_until_ready(base, proc)
    assert post_json(f"{base}/v1/verify", {"claim": CLAIM})[0] == 200


def test_writes_that_returned_201_survive_kill_9_of_the_whole_service(tmp_path, sample_index_dir):
    index_dir = tmp_path / "index"
    shutil.copytree(sample_index_dir, index_dir)
    with running_gunicorn(index_dir, workers=2, **ENV) as (base, proc):
        review_status, review = post_json(f"{base}/v1/reviews", REVIEW, headers=AUTH)
        status, written = post_json(f"{base}/v1/articles", KHARKIV, headers=AUTH)
        os.killpg(proc.pid, signal.SIGKILL)  # the instant after the 201: master and workers
        proc.wait()
    assert (review_status, status) == (201, 201)
    with running_gunicorn(index_dir, workers=1, **ENV) as (base, _):
        assert get_json(f"{base}/v1/articles/kharkiv-drones")[0] == 200
        assert get_json(f"{base}/v1/reviews/{review['review']['id']}")[0] == 200
        body = post_json(f"{base}/v1/verify", {"claim": CLAIM})[1]
        assert body["evidence"][0]["article"]["id"] == "kharkiv-drones"
        assert body["index"]["generation"] == written["generation"]


def test_kill_9_during_a_write_leaves_the_previous_state(tmp_path, sample_index_dir):
    """The service dies while a 100-article write is being embedded or committed: after a restart
    the archive holds all of it or none of it, and the index loads."""
    index_dir = tmp_path / "index"
    shutil.copytree(sample_index_dir, index_dir)
    batch = [
        {"id": f"bulk-{i}", "title": f"Bulk {i}", "text": " ".join(f"Line {j} of report {i}." for j in range(30))}
        for i in range(100)
    ]
    with running_gunicorn(index_dir, workers=1, **ENV) as (base, proc):

        def write() -> None:
            with contextlib.suppress(OSError):  # the server dies under it
                post_json(f"{base}/v1/articles", batch, headers=AUTH)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        time.sleep(1.5)  # embedding 3000 sentences takes several seconds
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    with running_gunicorn(index_dir, workers=1, **ENV) as (base, _):
        listed = get_json(f"{base}/v1/articles?limit=200")[1]["articles"]
        bulk = [a for a in listed if a["id"].startswith("bulk-")]
        assert len(bulk) in (0, 100)
        assert all(a["sentence_count"] == 30 for a in bulk)


def test_rebuilding_from_the_sample_corpus_does_not_drop_posted_articles(live):
    base, _, index_dir, _ = live
    done = run_build_index(index_dir, SAMPLE_ARTICLES, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "0 sentences embedded, 1 articles unchanged" in done.stdout
    assert get_json(f"{base}/v1/articles/kharkiv-drones")[0] == 200
