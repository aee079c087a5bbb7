"""Input beyond what the schema describes: broken encodings, hostile JSON, odd text.

Each gets a clear 4xx in the JSON error shape, or a normal answer; never a 500.
"""

import gzip

import pytest

CLAIM = "Russia launched 133 drones"


def post_raw(client, body: bytes, **headers):
    return client.post("/v1/verify", data=body, content_type="application/json", headers=headers)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert set(body) == {"code", "message", "errors"} and body["code"] == code
    return body


def test_invalid_utf8_is_400(client):
    body = assert_error(post_raw(client, b'{"claim": "\xff\xfe drones"}'), 400, "invalid_json")
    assert "UTF-8" in body["message"]


def test_deeply_nested_json_is_400_not_a_crash(client):
    body = assert_error(post_raw(client, b"[" * 100_000 + b"]" * 100_000), 400, "invalid_json")
    assert "nested" in body["message"]


def test_a_repeated_key_is_refused_rather_than_guessed(client):
    body = assert_error(
        post_raw(client, b'{"claim": "harmless", "claim": "' + CLAIM.encode() + b'"}'), 400, "invalid_json"
    )
    assert "'claim' appears twice" in body["message"]


def test_a_compressed_body_is_never_inflated(client):
    bomb = gzip.compress(b'{"claim": "' + b" " * 50_000_000 + b'x"}')  # 50 MB in about 50 kB
    assert len(bomb) < 100_000
    assert_error(post_raw(client, bomb, **{"Content-Encoding": "gzip"}), 415, "unsupported_media_type")


@pytest.mark.parametrize("claim", ["Russia\x00 launched 133 drones", "drones\x1b[31m", "\x7f"])
def test_control_characters_are_422(client, claim):
    assert_error(client.post("/v1/verify", json={"claim": claim}), 422, "validation_error")


@pytest.mark.parametrize(
    "claim",
    [
        "Россия запустила 133 беспилотника",
        "روسيا أطلقت 133 طائرة مسيرة",  # right to left
        "Russia\u200b launched\u200d 133\u2060 drones",  # zero-width characters
        "Russia launched 133 drones 🚀🇺🇦",
        "?!?!…—!!!",  # punctuation only
        "x" * 1000,  # one 1,000-character word, the longest claim allowed (one unknown word piece)
    ],
)
def test_odd_but_valid_text_gets_a_normal_answer(client, claim):
    response = client.post("/v1/verify", json={"claim": claim})
    assert response.status_code == 200
    assert response.get_json()["verdict"] in {"supported", "contradicted", "mixed", "not_found"}


def test_a_claim_longer_than_the_model_reads_says_so(client):
    body = client.post("/v1/verify", json={"claim": "a " * 499 + "a"}).get_json()  # 500 word pieces
    assert any("longer than the model reads" in w for w in body["warnings"])


def test_a_10000_character_word_is_422_in_a_claim(client):
    assert_error(client.post("/v1/verify", json={"claim": "y" * 10_000}), 422, "validation_error")


def test_a_nul_in_an_article_is_refused_and_nothing_is_stored(writable_index_dir, embedder):
    from index.verify import ClaimVerifier, load_index
    from service import create_app
    from service.config import Settings

    key = "bad-input-write-key-0123456789"
    settings = Settings(index_dir=str(writable_index_dir), api_keys=(f"t:write:{key}",))
    client = create_app(settings, verifier=ClaimVerifier(embedder, load_index(writable_index_dir))).test_client()
    article = {"id": "nul", "title": "t", "text": "Nul\x00 inside."}
    response = client.post("/v1/articles", json=article, headers={"Authorization": f"Bearer {key}"})
    assert_error(response, 422, "validation_error")
    assert client.get("/v1/articles/nul").status_code == 404


def test_limits_come_from_the_environment_and_reach_the_spec():
    import yaml
    from marshmallow import ValidationError

    from service import create_app
    from service.config import Settings

    env = {"MAX_CLAIM_CHARS": "50", "MAX_BATCH_CLAIMS": "3", "MAX_TOP_K": "7", "MAX_ARTICLES_PER_REQUEST": "2"}
    app = create_app(Settings.from_env(env), load_engine=False)
    c = app.test_client()
    statuses = [
        c.post("/v1/verify", json={"claim": "x" * 51}).status_code,
        c.post("/v1/verify/batch", json={"claims": ["a"] * 4}).status_code,
        c.post("/v1/verify", json={"claim": "x", "top_k": 8}).status_code,
    ]
    spec = yaml.safe_load(c.get("/openapi.yaml").data)["components"]["schemas"]
    assert [*statuses, spec["VerifyRequest"]["properties"]["claim"]["maxLength"]] == [422, 422, 422, 50]
    assert spec["ArticleBatch"]["maxItems"] == 2
    article = {"title": "t", "text": "Some text."}
    with pytest.raises(ValidationError):
        app.extensions["request_schemas"].articles.load({"articles": [article] * 3})
    # Another app in the same process keeps the defaults: nothing is read at import.
    default = create_app(Settings(), load_engine=False).test_client()
    assert default.post("/v1/verify", json={"claim": "x" * 51}).status_code == 503  # valid: the engine is not loaded
