"""The real server: gunicorn with the project's config, as `make serve` runs it."""

import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def server(sample_index_dir):
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "INDEX_DIR": str(sample_index_dir), "WEB_CONCURRENCY": "2"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "service.wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                # Both workers must be ready; each answers /readyz independently.
                if all(_get(base + "/readyz")[0] == 200 for _ in range(6)):
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "gunicorn did not become ready"
            time.sleep(0.5)
        yield base, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_gunicorn_answers_the_sample_claim(server):
    base, _ = server
    status, body = _post(base + "/v1/verify", {"claim": "Russia launched 133 drones"})
    assert status == 200
    assert body["verdict"] == "supported"
    assert "launched 133 drones" in body["evidence"][0]["text"]
    assert body["evidence"][0]["score"] > 0.7


def test_gunicorn_errors_are_json(server):
    base, _ = server
    status, body = _post(base + "/v1/verify", {"claim": ""})
    assert status == 422 and body["code"] == "validation_error"
    assert _get(base + "/healthz") == (200, {"status": "ok"})


def test_two_workers_serve(server):
    _, proc = server
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) == 2


def test_config_caps_threads_and_loads_after_fork(monkeypatch):
    """Thread caps are in the environment before any worker imports torch; nothing is preloaded."""
    environ = {k: v for k, v in os.environ.items() if k not in {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "TORCH_THREADS"}}
    environ.pop("WEB_CONCURRENCY", None)
    monkeypatch.setattr(os, "environ", environ)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["preload_app"] is False
    assert config["workers"] == os.cpu_count()
    assert os.environ["OMP_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == os.environ["TORCH_THREADS"] == "1"
