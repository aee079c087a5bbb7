"""The articles API through the test client: writes, reads, filters and API keys."""

import pytest

from index.verify import ClaimVerifier, load_index
from service import create_app
from service.config import Settings

WRITE_KEY = "cms-write-key-0123456789"
READ_KEY = "dashboard-read-key-0123456789"
KEYS = (f"cms:write:{WRITE_KEY}", f"dashboard:read:{READ_KEY}")
WRITER = {"Authorization": f"Bearer {WRITE_KEY}"}
READER = {"Authorization": f"Bearer {READ_KEY}"}

KHARKIV = {
    "id": "kharkiv-drones",
    "title": "Drones hit Kharkiv",
    "url": "https://news.example/kharkiv-drones",
    "published": "2025-03-01",
    "text": "Russia launched 412 drones at Kharkiv overnight, the mayor said.\n\nThree people were injured.",
}


def make_client(index_dir, embedder, **settings):
    settings = {"index_dir": str(index_dir), "load_in_background": False, "api_keys": KEYS, **settings}
    verifier = ClaimVerifier(embedder, load_index(index_dir))
    return create_app(Settings(**settings), verifier=verifier).test_client()


@pytest.fixture
def index_dir(writable_index_dir):
    return writable_index_dir


@pytest.fixture
def client(index_dir, embedder):
    return make_client(index_dir, embedder)


def verify(client, claim, **filters):
    response = client.post("/v1/verify", json={"claim": claim, **filters})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_posted_article_is_stored_durably_and_answers_claims_at_once(client):
    before = client.get("/v1/index").get_json()["generation"]
    response = client.post("/v1/articles", json=KHARKIV, headers=WRITER)
    assert response.status_code == 201
    body = response.get_json()
    assert body["articles"] == [{"id": "kharkiv-drones", "sentences": 2, "status": "created"}]
    assert body["generation"] > before
    assert response.headers["Location"] == "/v1/articles/kharkiv-drones"
    result = verify(client, "Russia launched 412 drones at Kharkiv")
    assert result["verdict"] == "supported"
    assert result["evidence"][0]["article"]["url"] == KHARKIV["url"]
    assert result["index"]["generation"] == body["generation"]


def test_an_article_reads_back_with_sentence_offsets_into_its_body(client):
    client.post("/v1/articles", json=KHARKIV, headers=WRITER)
    article = client.get("/v1/articles/kharkiv-drones").get_json()
    assert (article["title"], article["published"], article["sentence_count"]) == (
        "Drones hit Kharkiv",
        "2025-03-01",
        2,
    )
    for sentence in article["sentences"]:
        assert article["body"][sentence["start"] : sentence["end"]] == sentence["text"]


def test_reposting_an_id_replaces_the_article_and_its_old_sentences_vanish(client):
    client.post("/v1/articles", json=KHARKIV, headers=WRITER)
    corrected = {**KHARKIV, "text": "Russia launched 98 drones at Kharkiv overnight, the mayor said."}
    response = client.post("/v1/articles", json=corrected, headers=WRITER)
    assert response.get_json()["articles"][0]["status"] == "updated"
    result = verify(client, "Russia launched 412 drones at Kharkiv", top_k=10)
    assert not any("412" in e["text"] for e in result["evidence"])
    assert result["verdict"] == "contradicted" and "98 drones" in result["evidence"][0]["text"]
    again = client.post("/v1/articles", json=corrected, headers=WRITER).get_json()
    assert again["articles"][0]["status"] == "unchanged"


def test_an_article_too_short_to_index_is_stored_but_never_evidence(client):
    response = client.post("/v1/articles", json={**KHARKIV, "text": "--"}, headers=WRITER)
    assert response.get_json()["articles"][0]["sentences"] == 0
    assert client.get("/v1/articles/kharkiv-drones").get_json()["sentences"] == []


def test_a_list_of_articles_is_one_write(client):
    batch = [{**KHARKIV, "id": f"part-{i}", "text": f"Part {i} of the series on drones."} for i in range(3)]
    response = client.post("/v1/articles", json=batch, headers=WRITER)
    assert response.status_code == 201 and "Location" not in response.headers
    assert [a["id"] for a in response.get_json()["articles"]] == ["part-0", "part-1", "part-2"]
    bad = [{**KHARKIV, "id": "fine"}, {"title": "no text"}]
    response = client.post("/v1/articles", json=bad, headers=WRITER)
    assert response.status_code == 422 and "1" in response.get_json()["errors"]["articles"]
    assert client.get("/v1/articles/fine").status_code == 404  # nothing of the failed batch was stored


def test_deleting_an_article_removes_it_from_results(client):
    client.post("/v1/articles", json=KHARKIV, headers=WRITER)
    assert client.delete("/v1/articles/kharkiv-drones", headers=WRITER).status_code == 204
    assert client.get("/v1/articles/kharkiv-drones").status_code == 404
    assert client.delete("/v1/articles/kharkiv-drones", headers=WRITER).get_json()["code"] == "not_found"
    result = verify(client, "Russia launched 412 drones at Kharkiv", top_k=10)
    assert all(e["article"]["id"] != "kharkiv-drones" for e in result["evidence"])


def test_listing_pages_newest_first_and_filters_by_date(client):
    for i, day in enumerate(["2025-03-01", "2025-03-02", "2025-03-03"]):
        client.post("/v1/articles", json={**KHARKIV, "id": f"day-{i}", "published": day}, headers=WRITER)
    first = client.get("/v1/articles?limit=2").get_json()
    assert [a["id"] for a in first["articles"]] == ["day-2", "day-1"]
    rest = client.get(f"/v1/articles?limit=2&cursor={first['next_cursor']}").get_json()
    assert [a["id"] for a in rest["articles"]] == ["day-0", rest["articles"][1]["id"]]
    assert rest["next_cursor"] is None
    march = client.get("/v1/articles?published_after=2025-03-02&published_before=2025-03-02").get_json()
    assert [a["id"] for a in march["articles"]] == ["day-1"]
    assert client.get("/v1/articles?cursor=edited-by-hand").status_code == 200
    assert client.get("/v1/articles?limit=0").status_code == 422


def test_verify_filters_restrict_the_evidence(client):
    client.post("/v1/articles", json=KHARKIV, headers=WRITER)
    only = verify(client, "drones", article_ids=["kharkiv-drones"])
    assert {e["article"]["id"] for e in only["evidence"]} == {"kharkiv-drones"}
    older = verify(client, "drones", published_before="2025-02-28")
    assert older["evidence"] and all(e["article"]["published"] <= "2025-02-28" for e in older["evidence"])
    assert verify(client, "drones", published_after="2030-01-01")["verdict"] == "not_found"
    batch = client.post("/v1/verify/batch", json={"claims": ["drones"], "article_ids": ["kharkiv-drones"]})
    assert {e["article"]["id"] for e in batch.get_json()["results"][0]["evidence"]} == {"kharkiv-drones"}
    reversed_dates = verify(client, "drones", published_after="2025-03-01", published_before="2025-01-01")
    assert reversed_dates["verdict"] == "not_found" and "no indexed article matches" in reversed_dates["warnings"][0]


@pytest.mark.parametrize(
    "article",
    [
        {**KHARKIV, "id": "has/slash"},
        {**KHARKIV, "url": "not a url"},
        {**KHARKIV, "published": "someday"},
        {**KHARKIV, "text": "   "},
        {**KHARKIV, "unknown": 1},
    ],
)
def test_an_invalid_article_is_422_and_stores_nothing(client, article):
    response = client.post("/v1/articles", json=article, headers=WRITER)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"
    assert client.get("/v1/articles").get_json()["articles"][0]["id"] != KHARKIV["id"]


WRITE_ROUTES = [
    ("post", "/v1/articles", KHARKIV),
    ("delete", "/v1/articles/kharkiv-drones", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITE_ROUTES)
def test_every_write_route_needs_a_write_key(client, method, path, body):
    call = getattr(client, method)
    missing = call(path, json=body)
    assert (missing.status_code, missing.get_json()["code"]) == (401, "unauthorized")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = call(path, json=body, headers={"Authorization": "Bearer not-a-key-at-all-0000"})
    assert wrong.status_code == 401
    not_bearer = call(path, json=body, headers={"Authorization": f"Basic {WRITE_KEY}"})
    assert not_bearer.status_code == 401
    read_only = call(path, json=body, headers=READER)
    assert (read_only.status_code, read_only.get_json()["code"]) == (403, "forbidden")


def test_writes_are_disabled_without_configured_keys(index_dir, embedder):
    client = make_client(index_dir, embedder, api_keys=())
    response = client.post("/v1/articles", json=KHARKIV, headers=WRITER)
    assert (response.status_code, response.get_json()["code"]) == (401, "unauthorized")
    assert "No API key is configured" in response.get_json()["message"]


def test_reads_are_open_unless_required(index_dir, embedder, client):
    assert client.get("/v1/articles").status_code == 200
    locked = make_client(index_dir, embedder, require_auth_for_reads=True)
    for path in ("/v1/articles", "/v1/index"):
        assert locked.get(path).status_code == 401
        assert locked.get(path, headers=READER).status_code == 200
    assert locked.post("/v1/verify", json={"claim": "drones"}).status_code == 401
    assert locked.post("/v1/verify", json={"claim": "drones"}, headers=WRITER).status_code == 200
    assert locked.get("/healthz").status_code == 200 and locked.get("/readyz").status_code == 200


def test_keys_come_from_a_file_too_and_bad_entries_fail_at_start(tmp_path, index_dir, embedder):
    keys = tmp_path / "keys"
    keys.write_text(f"# newsroom keys\nfrom-file:write:{'f' * 20}\n", "utf-8")
    client = make_client(index_dir, embedder, api_keys=(), api_keys_file=str(keys))
    headers = {"Authorization": f"Bearer {'f' * 20}"}
    assert client.post("/v1/articles", json=KHARKIV, headers=headers).status_code == 201
    with pytest.raises(ValueError, match="at least 16"):
        make_client(index_dir, embedder, api_keys=("short:write:abc",))
    with pytest.raises(ValueError, match="role read or write"):
        make_client(index_dir, embedder, api_keys=(f"x:admin:{'a' * 20}",))
