"""GET /metrics: what it counts, who may read it, and sums over a real gunicorn's workers."""

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from index.common.observe import STEPS
from service import create_app
from service.config import Settings
from service.processes import get_json, post_json, running_gunicorn


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def total(found: dict, name: str, **labels: str) -> float:
    """The sum over every label set that includes `labels`."""
    return sum(v for (n, ls), v in found.items() if n == name and set(labels.items()) <= set(ls))


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(response.get_data(as_text=True))


def test_metrics_without_an_engine_say_not_ready():
    app = create_app(Settings(index_dir="/nonexistent"), load_engine=False)
    found = scrape(app.test_client())
    assert value(found, "claimcheck_ready") == 0.0
    assert not any(name.startswith("claimcheck_index_info") for name, _ in found)


def test_metrics_need_a_key_when_reads_do():
    key = "reader:read:" + "r" * 20
    app = create_app(
        Settings(index_dir="/nonexistent", api_keys=(key,), require_auth_for_reads=True), load_engine=False
    )
    client = app.test_client()
    response = client.get("/metrics")
    assert response.status_code == 401 and response.get_json()["code"] == "unauthorized"
    assert client.get("/metrics", headers={"Authorization": "Bearer " + "r" * 20}).status_code == 200


@pytest.mark.model
def test_a_claim_is_counted_with_its_steps_model_calls_and_verdict(client, verifier):
    verifier.nli.cache.clear()  # other tests asked this claim: its readings would come from the cache
    before = scrape(client)
    assert client.post("/v1/verify", json={"claim": "Russia launched 133 drones"}).status_code == 200
    assert client.post("/v1/verify", json={"claim": ""}).status_code == 422
    assert client.get("/no/such/path").status_code == 404
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = {"route": "/v1/verify", "method": "POST"}
    assert grew("claimcheck_http_requests_total", **route, status="200") == 1
    assert grew("claimcheck_http_requests_total", **route, status="422") == 1
    assert grew("claimcheck_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert grew("claimcheck_http_request_duration_seconds_count", route="/v1/verify") == 2
    assert grew("claimcheck_verdicts_total", verdict="supported") == 1
    for step in STEPS:
        assert grew("claimcheck_step_seconds_count", step=step) >= 1, step
    for model in ("embedder", "judge"):
        assert grew("claimcheck_model_calls_total", model=model) >= 1, model
        assert grew("claimcheck_model_call_items_sum", model=model) >= 1, model
    assert value(after, "claimcheck_ready") == 1.0
    info = [labels for (name, labels), v in after.items() if name == "claimcheck_index_info"]
    assert len(info) == 1 and dict(info[0])["judge"] == "nli-minilm-l6"
    assert value(after, "claimcheck_index_sentences") > 0
    assert value(after, "claimcheck_index_articles") >= 1


@pytest.mark.model
def test_article_writes_are_counted_by_outcome(tmp_path, writable_index_dir, verifier):
    from index.verify import ClaimVerifier, load_index

    own = ClaimVerifier(verifier.embedder, load_index(writable_index_dir), nli=None, degraded_reason="test")
    client = create_app(Settings(index_dir=str(writable_index_dir), api_keys=("w:write:" + "w" * 20,)), verifier=own)
    client = client.test_client()
    auth = {"Authorization": "Bearer " + "w" * 20}
    before = scrape(client)
    article = {"id": "metrics-1", "title": "Counted", "text": "The council approved the budget on Monday."}
    assert client.post("/v1/articles", json=article, headers=auth).status_code == 201
    assert client.post("/v1/articles", json=article, headers=auth).status_code == 201
    assert client.delete("/v1/articles/metrics-1", headers=auth).status_code == 204
    after = scrape(client)
    for outcome in ("created", "unchanged", "deleted"):
        grown = value(after, "claimcheck_article_writes_total", outcome=outcome)
        assert grown - value(before, "claimcheck_article_writes_total", outcome=outcome) == 1, outcome


@pytest.mark.slow
@pytest.mark.model
def test_gunicorn_workers_are_summed_and_each_request_counted_once(tmp_path, onnx_dir, sample_index_dir):
    """N claims through 2 workers: /metrics, answered by either worker, counts each exactly once;
    a previous run's files in the directory are cleared at start."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale")
    log = tmp_path / "access.log"
    batch = 40
    with running_gunicorn(sample_index_dir, workers=2, log_path=log, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as (
        base,
        _,
    ):
        assert not (metrics_dir / "counter_999999.db").exists()
        claims = ["Russia launched 133 drones", "Vance met Zelensky in Munich", "peace talks", "Ukraine and minerals"]

        def verify(i: int) -> int:
            return post_json(base + "/v1/verify", {"claim": claims[i % len(claims)]})[0]

        n = 0
        with ThreadPoolExecutor(8) as pool:
            # The kernel may hand one worker every connection of a batch (seen in CI under load):
            # more batches until both have served, so that the sum across workers is what is tested.
            for _ in range(10):
                assert set(pool.map(verify, range(n, n + batch))) == {200}
                n += batch
                time.sleep(0.2)  # the access-log lines of the batch, written as each request ends
                if len(_served_by(log)) == 2:
                    break
        readings = [_scrape_url(base + "/metrics") for _ in range(6)]
        assert get_json(base + "/healthz")[0] == 200
    served_by = _served_by(log)
    assert len(served_by) == 2, f"one worker took all {n} requests ({served_by}); the sum is not tested"
    for found in readings:  # whichever worker answered the scrape
        assert value(found, "claimcheck_http_requests_total", route="/v1/verify", method="POST", status="200") == n
        assert total(found, "claimcheck_verdicts_total") == n
        for step in ("encode", "checks", "judge"):  # one reading of each step per request
            assert value(found, "claimcheck_step_seconds_count", step=step) == n, step


def _served_by(log: Path) -> set[int]:
    """The pids of the workers that answered /v1/verify, from the JSON access log."""
    lines = (ln for ln in log.read_text().splitlines() if ln.startswith("{"))
    return {line["pid"] for line in map(json.loads, lines) if line.get("path") == "/v1/verify"}


def _scrape_url(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return samples(response.read().decode())


def test_gunicorn_makes_and_removes_its_own_metrics_directory(monkeypatch):
    """Without PROMETHEUS_MULTIPROC_DIR the master makes one before forking and removes it at exit;
    one given by the operator is emptied at start and kept."""
    import runpy

    from service.processes import ROOT

    environ = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    monkeypatch.setattr(os, "environ", environ)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config["on_starting"](None)
    made = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert made.is_dir()
    config["on_exit"](None)
    assert not made.exists()


def test_an_operators_metrics_directory_is_emptied_and_kept(monkeypatch, tmp_path):
    import runpy

    from service.processes import ROOT

    (tmp_path / "counter_1.db").write_bytes(b"old run")
    (tmp_path / "notes.txt").write_text("not ours")
    environ = {k: v for k, v in os.environ.items() if k != "CLAIMCHECK_OWNED_METRICS_DIR"}
    environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    monkeypatch.setattr(os, "environ", environ)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config["on_starting"](None)
    config["on_exit"](None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_failing_observer_never_fails_the_engine(caplog):
    """Watching must not break serving: an observer that raises is logged and the work goes on."""
    from index.common.observe import Observer, set_observer, timed
    from index.retrieval.batching import CallBatcher

    class Broken(Observer):
        def step(self, name, seconds):
            raise RuntimeError("metrics disk full")

        def model_call(self, model, items, seconds):
            raise RuntimeError("metrics disk full")

    previous = set_observer(Broken())
    try:
        with timed("encode"):
            pass  # the step's end reports to the broken observer: no exception may come out
        batcher = CallBatcher(lambda items: np.array([[len(x)] for x in items]), name="embedder")
        assert batcher.run(["ab", "c"]).tolist() == [[2], [1]]
    finally:
        set_observer(previous)
    failures = [r for r in caplog.records if r.exc_info and "metrics disk full" in str(r.exc_info[1])]
    assert len(failures) == 2  # the step and the model call, each logged
