"""Real server processes, shared by the tests and the benchmarks: start one on a free port,
wait until it is ready, stop it; plain HTTP calls; the workers a master forked and their
memory. Not used by the service itself."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 5) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def post_json(url: str, body: object, headers: dict | None = None, method: str = "POST") -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until_ready(
    base: str,
    proc: subprocess.Popen,
    checks: int = 6,
    timeout: float = 120,
    path: str = "/readyz",
    interval: float = 0.5,
) -> None:
    """Until `checks` calls of `path` in a row answer 200 (each worker answers for itself)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        with contextlib.suppress(urllib.error.URLError, OSError, ValueError):
            if all(get_json(base + path)[0] == 200 for _ in range(checks)):
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base}{path} not ready after {timeout:.0f} s")
        time.sleep(interval)


@contextlib.contextmanager
def running_server(
    command: list[str],
    env: dict[str, str],
    port: int,
    workers: int,
    log_path: Path | None = None,
    ready_path: str = "/readyz",
    timeout: float = 120,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`command` serving on `port`, in its own process group (so a test can kill -9 master and
    workers together); yields (base url, process) once every worker answers `ready_path`."""
    with open(log_path or os.devnull, "w") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, proc, checks=3 * workers, timeout=timeout, path=ready_path)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def gunicorn_command() -> list[str]:
    """How our service is started (as `make serve` does; run it from ROOT)."""
    return [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py", "service.wsgi:app"]


def running_gunicorn(index_dir: Path, workers: int = 2, log_path: Path | None = None, **env: str):
    """Our service (gunicorn.conf.py) serving `index_dir`; the JSON access log goes to `log_path`."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "INDEX_DIR": str(index_dir), "WEB_CONCURRENCY": str(workers), **env}
    return running_server(gunicorn_command(), env, port, workers, log_path)


def raw_request(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are to 127.0.0.1:`port` (urllib refuses malformed or oversized
    requests) and read until the server closes; (status, lower-cased headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def worker_pids(master: int) -> set[int]:
    """The processes `master` forked (gunicorn's or uvicorn's workers)."""
    try:
        return {int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()}
    except OSError:
        return set()


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) of a process in MB, from /proc; (0, 0) if it is gone."""
    try:
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
        )
    except OSError:
        return 0.0, 0.0
    return tuple(int(status.get(key, "0 kB").split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))
