"""The HTTP API through Flask's test client: every success and every error status."""

import shutil
import time

import pytest

from index.storage import layout
from service import create_app
from service.config import Settings

SAMPLE_CLAIM = "Russia launched 133 drones"


def test_verify_returns_verdict_evidence_and_provenance(client):
    response = client.post("/v1/verify", json={"claim": SAMPLE_CLAIM})
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == [
        "claim", "already_checked", "review_verdict", "verdict", "confidence", "decided_by", "evidence", "warnings",
        "index", "reviews", "took_ms",
    ]  # fmt: skip
    assert (body["already_checked"], body["review_verdict"], body["reviews"]) == (False, None, [])
    assert body["verdict"] == "supported"
    assert len(body["evidence"]) == 5
    best = body["evidence"][0]
    assert "launched 133 drones" in best["text"]
    assert best["score"] > 0.7
    assert best["article"] == {
        "id": best["article"]["id"],
        "title": "Vance Tells Zelensky U.S. Wants 'Lasting' Peace",
        "url": "https://www.themoscowtimes.com/2025/02/14/vance-tells-zelensky-us-wants-lasting-peace-a88025",
        "published": "2025-02-14",
    }
    assert set(best["context"]) == {"before", "after"}
    assert best["stance"] == "supports" and body["decided_by"] == 0
    assert {
        "kind": "quantity_match",
        "claim": "133",
        "evidence": "133",
        "message": "the source also says 133 drones",
    } in (best["reasons"])
    # The id a review cites: the archive's own sentence, the one at these offsets of the article.
    article = client.get(f"/v1/articles/{best['article']['id']}").get_json()
    [stored] = [s for s in article["sentences"] if s["id"] == best["sentence_id"]]
    assert (stored["start"], stored["end"], stored["text"]) == (best["start"], best["end"], best["text"])


def test_a_changed_figure_is_contradicted_with_the_reason(client):
    body = client.post("/v1/verify", json={"claim": "Russia launched 500 drones"}).get_json()
    assert body["verdict"] == "contradicted"
    decisive = body["evidence"][body["decided_by"]]
    assert decisive["stance"] == "contradicts"
    assert {
        "kind": "quantity_mismatch",
        "claim": "500",
        "evidence": "133",
        "message": "the claim says 500 drones; the source says 133 drones",
    } in decisive["reasons"]
    assert body["index"]["sentences"] == 28 and body["index"]["articles"] == 1


def test_verify_options(client):
    body = client.post("/v1/verify", json={"claim": SAMPLE_CLAIM, "top_k": 2, "min_score": 0.6}).get_json()
    assert len(body["evidence"]) == 1


def test_batch(client):
    response = client.post("/v1/verify/batch", json={"claims": [SAMPLE_CLAIM, "Bananas are yellow"], "top_k": 1})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["claim"] for r in results] == [SAMPLE_CLAIM, "Bananas are yellow"]
    assert [r["verdict"] for r in results] == ["supported", "not_found"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "claim"),
        ({"claim": ""}, "claim"),
        ({"claim": "   \n"}, "claim"),
        ({"claim": 133}, "claim"),
        ({"claim": None}, "claim"),
        ({"claim": "x" * 1001}, "claim"),
        ({"claim": SAMPLE_CLAIM, "colour": "red"}, "colour"),
        ({"claim": SAMPLE_CLAIM, "top_k": 0}, "top_k"),
        ({"claim": SAMPLE_CLAIM, "top_k": 51}, "top_k"),
        ({"claim": SAMPLE_CLAIM, "top_k": "5"}, "top_k"),
        ({"claim": SAMPLE_CLAIM, "top_k": 2.5}, "top_k"),
        ({"claim": SAMPLE_CLAIM, "min_score": 2}, "min_score"),
        ([SAMPLE_CLAIM], "_schema"),
    ],
)
def test_invalid_verify_bodies_get_422_with_the_field(client, body, field):
    response = client.post("/v1/verify", json=body)
    assert response.status_code == 422
    error = response.get_json()
    assert error["code"] == "validation_error"
    assert field in error["errors"]
    assert error["message"]


@pytest.mark.parametrize(
    "body",
    [{"claims": []}, {"claims": ["ok", ""]}, {"claims": ["x"] * 65}, {"claims": "one claim"}, {"claim": "x"}],
)
def test_invalid_batch_bodies_get_422(client, body):
    response = client.post("/v1/verify/batch", json=body)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


def test_invalid_json_is_400(client):
    response = client.post("/v1/verify", data='{"claim": ', content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {
        "code": "invalid_json",
        "message": "The request body is not valid JSON.",
        "errors": {},
    }


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_non_json_content_type_is_415(client, content_type):
    response = client.post("/v1/verify", data='{"claim": "x"}', content_type=content_type)
    assert response.status_code == 415
    assert response.get_json()["code"] == "unsupported_media_type"


def test_body_over_the_size_limit_is_413(client):
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    response = client.post("/v1/verify", data="x" * (limit + 1), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"


def test_unknown_route_and_wrong_method_are_json(client):
    assert client.get("/v1/nothing").get_json()["code"] == "not_found"
    response = client.get("/v1/verify")
    assert response.status_code == 405
    assert response.get_json()["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_unexpected_errors_are_json_500_without_internals(app, monkeypatch):
    verifier = app.extensions["verifier"].verifier
    monkeypatch.setattr(verifier, "verify_claims", lambda *a, **k: 1 / 0)
    response = app.test_client().post("/v1/verify", json={"claim": SAMPLE_CLAIM})
    assert response.status_code == 500
    body = response.get_json()
    assert body["code"] == "internal_error"
    assert "ZeroDivisionError" not in response.get_data(as_text=True)
    assert "/" not in body["message"].replace("/readyz", "")


def test_debug_stays_off_even_if_the_environment_asks_for_it(monkeypatch, verifier, sample_index_dir):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app(Settings(index_dir=str(sample_index_dir)), verifier=verifier)
    assert app.debug is False


def test_health_ready_and_index(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}
    stats = client.get("/v1/index").get_json()
    assert (stats["articles"], stats["sentences"], stats["model"], stats["dimension"]) == (
        1,
        28,
        "all-MiniLM-L6-v2",
        384,
    )


def test_index_stats_count_the_workers_encodes(client):
    before = client.get("/v1/index").get_json()["encoder"]
    assert client.post("/v1/verify/batch", json={"claims": ["Russia launched 133 drones", "peace"]}).status_code == 200
    after = client.get("/v1/index").get_json()["encoder"]
    assert after["backend"] == "onnx"
    assert (after["model_calls"], after["requests"], after["texts"]) == (
        before["model_calls"] + 1,
        before["requests"] + 1,
        before["texts"] + 2,
    )


def test_not_ready_when_the_index_is_missing(tmp_path, onnx_dir):
    app = create_app(Settings(index_dir=str(tmp_path / "nowhere"), load_in_background=False))
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "no index at" in ready.get_json()["reason"]
    response = client.post("/v1/verify", json={"claim": SAMPLE_CLAIM})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["code"] == "not_ready"
    assert client.get("/v1/index").status_code == 503


def test_openapi_is_served(client):
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    assert b"/v1/verify/batch" in response.data


def test_background_loading_turns_ready(sample_index_dir):
    app = create_app(Settings(index_dir=str(sample_index_dir), load_in_background=True))
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # answers while the model loads
    deadline = time.monotonic() + 120
    while (ready := client.get("/readyz")).status_code != 200:
        assert ready.get_json()["reason"] == "loading the model and index"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert client.post("/v1/verify", json={"claim": SAMPLE_CLAIM}).get_json()["verdict"] == "supported"


def _truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("vectors.faiss", lambda data: b"not a faiss index"),
        ("vectors.faiss", _truncate),
        ("lexical/meta.json", lambda data: data[:-8] + b"\x01" * 8),  # Tantivy's segment list
        ("archive.sqlite", lambda data: b"\0" * 100),
        ("archive.sqlite", _truncate),
    ],
)
def test_a_corrupt_index_file_keeps_the_service_not_ready_and_names_the_file(
    tmp_path, sample_index_dir, caplog, name, damage
):
    copy = tmp_path / "index"
    shutil.copytree(sample_index_dir, copy)
    path = copy / name if name == "archive.sqlite" else layout.current_version_dir(copy) / name
    path.write_bytes(damage(path.read_bytes()))
    client = create_app(Settings(index_dir=str(copy), load_in_background=False)).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert str(path) in ready.get_json()["reason"]
    assert any(str(path) in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    assert client.post("/v1/verify", json={"claim": SAMPLE_CLAIM}).status_code == 503


def test_every_response_carries_a_request_id(client):
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz").headers["X-Request-ID"] != generated
    echoed = client.post("/v1/verify", json={"claim": ""}, headers={"X-Request-ID": "cms-42.a"})
    assert echoed.headers["X-Request-ID"] == "cms-42.a"
    unsafe = client.get("/healthz", headers={"X-Request-ID": "x\\ny" * 100})
    assert unsafe.headers["X-Request-ID"] != "x\\ny" * 100


def test_the_access_log_is_one_json_line_with_the_request_id(client):
    import json as _json
    import logging

    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(handler.format(record))
    access = logging.getLogger("service.access")
    access.addHandler(handler)
    try:
        client.post("/v1/verify", json={"claim": SAMPLE_CLAIM}, headers={"X-Request-ID": "trace-1"})
    finally:
        access.removeHandler(handler)
    (line,) = lines
    entry = _json.loads(line)
    assert (entry["request_id"], entry["method"], entry["path"], entry["status"]) == (
        "trace-1",
        "POST",
        "/v1/verify",
        200,
    )
    assert entry["ms"] > 0


def test_a_missing_model_directory_keeps_the_service_not_ready_with_a_clear_reason(sample_index_dir):
    app = create_app(Settings(index_dir=str(sample_index_dir), embedding_model="/nonexistent/model"))
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["reason"] == ("FileNotFoundError: embedding model directory not found: /nonexistent/model")
    assert app.debug is False
