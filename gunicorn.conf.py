"""gunicorn settings, sized for this 2-core machine; every value can be overridden from the environment.

The model and index are loaded inside each worker after the fork (no `preload_app`):
torch and FAISS thread pools created before a fork can deadlock the children.
"""

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gunicorn import util
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import ThreadWorker

_cores = multiprocessing.cpu_count()

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# One worker per core, each with one torch/FAISS thread: the cores are shared, not oversubscribed.
workers = int(os.environ.get("WEB_CONCURRENCY", str(_cores)))
# Threads per worker: slow clients and cheap endpoints (/healthz) don't wait on an encode, and
# requests in progress together share model calls (index/retrieval/batching.py). 8 rather than 4: at 32
# clients a call then carries 3.4 claims instead of 1.6, +10% requests/s (BENCHMARKS.md, "Serving").
threads = int(os.environ.get("THREADS", "8"))
# Seconds a client has to send a whole request (headers and body) once it starts.
request_read_timeout = float(os.environ.get("REQUEST_READ_TIMEOUT", "30"))
preload_app = False
timeout = int(os.environ.get("WORKER_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("KEEPALIVE", "5"))
# Bounds on the request line and headers, so a client cannot make a worker buffer megabytes of them.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# The app writes its own JSON access log line per request, with the request id.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Set in the master's environment so every worker inherits them before it imports torch.
# MODEL_THREADS (TORCH_THREADS is its old name) caps every runtime's threads in a worker.
_model_threads = os.environ.get("MODEL_THREADS") or os.environ.get("TORCH_THREADS") or "1"
os.environ["MODEL_THREADS"] = _model_threads
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, _model_threads)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


# Prometheus multiprocess mode (service/metrics.py): each worker writes its figures to files in
# this directory and a scrape of /metrics, answered by any worker, sums them all.
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
_OWNED_METRICS_DIR = "CLAIMCHECK_OWNED_METRICS_DIR"  # made by on_starting, so removed by on_exit


def on_starting(server):
    """In the master, before any worker exists: the settings checked (a bad one stops the
    server with one line naming it, not every worker with a traceback), and the metrics
    directory made or emptied (a previous run's files would be added into this run's figures)."""
    check = subprocess.run(
        [sys.executable, "-m", "service.config"], cwd=Path(__file__).resolve().parent, capture_output=True, text=True
    )
    if check.returncode:
        lines = check.stderr.strip().splitlines()
        raise SystemExit(lines[-1] if lines else f"claimcheck: the settings check failed ({check.returncode})")
    directory = os.environ.get(METRICS_DIR_ENV)
    if not directory:
        directory = tempfile.mkdtemp(prefix="claimcheck-metrics-")
        os.environ[METRICS_DIR_ENV] = os.environ[_OWNED_METRICS_DIR] = directory
    Path(directory).mkdir(parents=True, exist_ok=True)
    for stale in Path(directory).glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    """A worker is gone: its counts stay in the sums, its live gauges go (prometheus-client's rule)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    owned = os.environ.get(_OWNED_METRICS_DIR)
    if owned:
        shutil.rmtree(owned, ignore_errors=True)


# gunicorn answers a request it cannot parse (a request line over limit_request_line: 414,
# headers over their limits: 431, a malformed line: 400) itself, before the app sees it, with
# an HTML page. Its one writer of those pages is replaced so they carry the API's JSON shape.
_SERVER_ERROR_CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long", 417: "expectation_failed",
                       431: "header_too_large", 500: "internal_error", 501: "not_implemented"}  # fmt: skip


def _json_error(sock, status_int, reason, mesg):
    code = _SERVER_ERROR_CODES.get(status_int, "http_error")
    message = (mesg or reason)[:200]
    body = json.dumps({"code": code, "message": message, "errors": {}}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


util.write_error = _json_error


class _DeadlineSocket:
    """A client socket whose reads share one deadline, so a client trickling a byte at a time
    (slowloris) holds a thread for `request_read_timeout` seconds at most, not indefinitely."""

    def __init__(self, sock):
        self._sock = sock
        self.deadline = float("inf")

    def recv(self, size, *flags):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise NoMoreData(b"")  # gunicorn closes the connection quietly
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size, *flags)
        except TimeoutError:
            raise NoMoreData(b"") from None
        finally:
            self._sock.settimeout(None)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class DeadlineThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, with a deadline on reading each request."""

    def handle(self, conn):
        if not isinstance(conn.sock, _DeadlineSocket):
            conn.sock = _DeadlineSocket(conn.sock)
        # Starts when the request's first bytes are there (idle keep-alive time does not count).
        conn.sock.deadline = time.monotonic() + request_read_timeout
        return super().handle(conn)


worker_class = DeadlineThreadWorker
