"""The real server: gunicorn with the project's config, as `make serve` runs it."""

import json
import os
import runpy
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.processes import ROOT, get_json, gunicorn_command, post_json, raw_request

pytestmark = pytest.mark.slow


def test_gunicorn_answers_the_sample_claim(server):
    base, _ = server
    status, body = post_json(base + "/v1/verify", {"claim": "Russia launched 133 drones"})
    assert status == 200
    assert body["verdict"] == "supported"
    assert "launched 133 drones" in body["evidence"][0]["text"]
    assert body["evidence"][0]["score"] > 0.7


def test_gunicorn_errors_are_json(server):
    base, _ = server
    status, body = post_json(base + "/v1/verify", {"claim": ""})
    assert status == 422 and body["code"] == "validation_error"
    assert get_json(base + "/healthz") == (200, {"status": "ok"})


def test_two_workers_serve(server):
    _, proc = server
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) == 2


def test_concurrent_requests_share_model_calls_in_a_worker(server):
    """Claims arriving while a worker's model is busy go into its next call together."""
    base, _ = server
    claims = ["Russia launched 133 drones", "Vance met Zelensky in Munich", "peace talks", "Ukraine and minerals"]

    def verify(i: int) -> int:
        return post_json(base + "/v1/verify", {"claim": claims[i % len(claims)]})[0]

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(verify, range(320))) == {200}
    # Each answer comes from whichever worker took the connection: ask a few times to hear from both.
    seen = {(e["model_calls"], e["requests"]) for e in (get_json(base + "/v1/index")[1]["encoder"] for _ in range(20))}
    assert any(requests > calls for calls, requests in seen), seen


def test_config_caps_threads_and_loads_after_fork(monkeypatch):
    """Thread caps are in the environment before any worker imports torch; nothing is preloaded."""
    caps = {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "MODEL_THREADS", "TORCH_THREADS"}
    environ = {k: v for k, v in os.environ.items() if k not in caps}
    environ.pop("WEB_CONCURRENCY", None)
    monkeypatch.setattr(os, "environ", environ)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["preload_app"] is False
    assert config["workers"] == os.cpu_count()
    assert os.environ["OMP_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == os.environ["MODEL_THREADS"] == "1"


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"GET /v1/articles?cursor=" + b"x" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n", 431, "header_too_large"),
        (b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n", 431, None),
        (b"NOT A REQUEST LINE\r\n\r\n", 400, "bad_request"),
    ],
)
def test_gunicorns_own_errors_have_the_api_shape(server, raw, status, code):
    """Requests gunicorn refuses before the app sees them (its limits, a malformed line)."""
    base, _ = server
    got, headers, body = raw_request(int(base.rsplit(":", 1)[1]), raw)
    assert got == status
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    assert set(error) == {"code", "message", "errors"} and error["code"] == (code or error["code"])


def test_a_bad_setting_stops_the_server_with_one_line(tmp_path):
    """A short API key: gunicorn exits non-zero at once, naming the setting, no worker tracebacks."""
    env = {**os.environ, "API_KEYS": "editor:read:short", "PORT": "0", "INDEX_DIR": str(tmp_path)}
    done = subprocess.run(
        gunicorn_command(),
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "claimcheck: invalid configuration: API_KEYS entry 1 (editor): the key must have at least" in done.stderr
    assert "Traceback" not in done.stderr and "Worker failed to boot" not in done.stderr
