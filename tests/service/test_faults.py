"""Faults under real gunicorn: slow clients, a worker killed mid-load, a disk that refuses writes."""

import http.client
import os
import resource
import signal
import socket
import statistics
import threading
import time
import urllib.error

import pytest

from index.verify import load_index
from service.processes import post_json, running_gunicorn, wait_until_ready, worker_pids
from tests.conftest import SAMPLE_ARTICLES, run_build_index

pytestmark = pytest.mark.slow

CLAIM = {"claim": "Russia launched 133 drones"}


def _trickle(base: str, seconds: float, outcome: list) -> None:
    """Send one request a byte at a time over `seconds` (slowloris)."""
    body = b'{"claim": "Russia launched 133 drones"}'
    request = (
        b"POST /v1/verify HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    host, port = base.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port))) as sock:
            for byte in request:
                sock.sendall(bytes([byte]))
                time.sleep(seconds / len(request))
            outcome.append("answered")
    except OSError:
        outcome.append("cut off")


def test_slow_clients_do_not_stop_the_service_answering_others(sample_index_dir):
    """Twelve clients each trickle a request over 60 s: more than the 8 threads of 2 workers × 4.
    The read deadline cuts them off, and everyone else keeps getting answers."""
    with running_gunicorn(sample_index_dir, workers=2, THREADS="4", REQUEST_READ_TIMEOUT="5") as (base, _):
        outcomes: list[str] = []
        slow = [threading.Thread(target=_trickle, args=(base, 60, outcomes)) for _ in range(12)]
        for t in slow:
            t.start()
        started = time.monotonic()
        latencies = []
        while time.monotonic() - started < 60:
            t0 = time.monotonic()
            status, _ = post_json(f"{base}/v1/verify", CLAIM)
            assert status == 200
            latencies.append((t0 - started, time.monotonic() - t0))
            time.sleep(0.25)
        for t in slow:
            t.join()
    assert outcomes == ["cut off"] * 12
    # Past the first deadline, the slow clients hold nothing.
    later = [seconds for at, seconds in latencies if at > 12]
    assert len(later) > 50 and statistics.median(later) < 0.5 and max(later) < 5


def test_a_worker_killed_under_load_is_replaced_and_only_its_requests_fail(sample_index_dir):
    with running_gunicorn(sample_index_dir, workers=2, THREADS="4") as (base, proc):
        outcomes: list[object] = []
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    outcomes.append((sent, post_json(f"{base}/v1/verify", CLAIM)[0]))
                except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                    outcomes.append((sent, type(exc).__name__))  # the connection broke mid-request

        clients = [threading.Thread(target=client) for _ in range(8)]
        for t in clients:
            t.start()
        time.sleep(4)
        victim = sorted(worker_pids(proc.pid))[0]
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        time.sleep(8)
        stop.set()
        for t in clients:
            t.join()
        replaced = worker_pids(proc.pid)
        wait_until_ready(base, proc)
    assert victim not in replaced and len(replaced) == 2
    failed = [(sent, o) for sent, o in outcomes if o != 200]
    # Only connections the killed worker held (running on its threads or accepted into its queue;
    # at most one per client) fail, as broken connections, never as an HTTP error; none sent later.
    assert len(failed) <= 8 and all(isinstance(o, str) and sent < killed_at for sent, o in failed)
    assert sum(1 for _, o in outcomes if o == 200) > 50


def _no_bigger_files(limit_bytes: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return apply


def test_a_build_on_a_full_disk_fails_cleanly_and_the_old_index_stays(writable_index_dir, tmp_path):
    """The disk refuses to grow any file past 1 MB (RLIMIT_FSIZE: the same failed write a full
    disk gives) while the archive takes 3000 new sentences: one error line, nothing applied."""
    before = load_index(writable_index_dir).view()
    corpus = tmp_path / "big.jsonl"
    from tests.index.ingestion.test_build import _big_corpus

    _big_corpus(corpus)  # 3000 sentences: about 5 MB of vectors
    done = run_build_index(writable_index_dir, corpus, timeout=600, preexec_fn=_no_bigger_files(1024 * 1024))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in done.stderr
    after = load_index(writable_index_dir)
    after.archive.check()
    view = after.view()
    assert (view.version, view.generation, view.size) == (before.version, before.generation, before.size)
    ok = run_build_index(writable_index_dir, SAMPLE_ARTICLES, timeout=600)
    assert ok.returncode == 0, ok.stderr  # with space again, the next build succeeds and cleans up
    assert not list((writable_index_dir / "versions").glob(".building-*"))


def test_a_snapshot_that_cannot_be_written_leaves_the_live_one(writable_index_dir, monkeypatch):
    """The disk fills while the snapshot's files are written (after the archive committed)."""
    import errno

    import faiss

    from index.ingestion.builder import write_snapshot

    live = load_index(writable_index_dir)
    before = live.view()

    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_snapshot(writable_index_dir, live.archive)
    assert live.view().version == before.version
    assert load_index(writable_index_dir).view().size == before.size
    monkeypatch.undo()
    write_snapshot(writable_index_dir, live.archive)  # space again: the leftover is cleaned up
    assert not list((writable_index_dir / "versions").glob(".building-*"))
