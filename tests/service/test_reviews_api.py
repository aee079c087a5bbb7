"""The reviews API through the test client, with the real embedder and judge: record, read,
replace, list, export as ClaimReview, delete; and every claim matched against the reviews."""

import json

import pytest

from index.reviews.claimreview import read_records, review_from_record
from index.verify import ClaimVerifier, load_index
from service import create_app
from service.config import Settings

WRITE_KEY = "desk-write-key-0123456789"
READ_KEY = "dashboard-read-key-0123456789"
KEYS = (f"desk:write:{WRITE_KEY}", f"dashboard:read:{READ_KEY}")
WRITER = {"Authorization": f"Bearer {WRITE_KEY}"}
READER = {"Authorization": f"Bearer {READ_KEY}"}

DRONES = {
    "claim": "Russia launched 500 drones at Ukraine in a single night",
    "verdict": "contradicted",
    "rating": "False",
    "url": "https://checks.example/500-drones",
    "claimant": "A viral post",
    "claim_date": "2025-02-13",
    "note": "The air force reported 133 drones.",
}


@pytest.fixture
def client(writable_index_dir, embedder, nli):
    settings = Settings(index_dir=str(writable_index_dir), load_in_background=False, api_keys=KEYS)
    verifier = ClaimVerifier(embedder, load_index(writable_index_dir), nli=nli)
    return create_app(settings, verifier=verifier).test_client()


def post(client, body, headers=WRITER):
    return client.post("/v1/reviews", json=body, headers=headers)


def verify(client, claim):
    response = client.post("/v1/verify", json={"claim": claim})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_recorded_review_is_matched_by_the_next_claim(client):
    assert verify(client, DRONES["claim"])["reviews"] == []
    response = post(client, DRONES)
    assert response.status_code == 201, response.get_json()
    written = response.get_json()
    review = written["review"]
    assert written["status"] == "created" and response.headers["Location"] == f"/v1/reviews/{review['id']}"
    assert (review["reviewed_by"], review["verdict"], review["rating"]["text"]) == ("desk", "contradicted", "False")
    result = verify(client, "Russia fired 500 drones at Ukraine in one night")
    assert result["index"]["generation"] >= written["generation"]
    first = result["reviews"][0]
    assert first["id"] == review["id"] and first["same_claim"] is True
    assert result["already_checked"] is True and result["review_verdict"] == "contradicted"
    assert result["evidence"], "the model's own evidence stays beside the review"
    other = verify(client, "The Chernobyl plant's radiation levels were normal")
    assert other["already_checked"] is False and all(not r["same_claim"] for r in other["reviews"])
    # Another figure is another claim: the review is listed (same topic), never as covering it.
    changed = verify(client, "Russia fired 133 drones at Ukraine in one night")
    assert changed["reviews"][0]["id"] == review["id"] and changed["reviews"][0]["same_claim"] is False
    assert changed["already_checked"] is False and changed["review_verdict"] is None
    # the same content again changes nothing
    again = post(client, DRONES).get_json()
    assert again["status"] == "unchanged" and again["generation"] == written["generation"]


def test_read_replace_list_export_and_delete(client):
    review = post(client, DRONES).get_json()["review"]
    path = f"/v1/reviews/{review['id']}"
    assert client.get(path).get_json() == review
    replaced = client.put(path, json={**DRONES, "verdict": "mixed", "rating": "Half True"}, headers=WRITER)
    assert replaced.status_code == 200 and replaced.get_json()["review"]["verdict"] == "mixed"
    assert replaced.get_json()["review"]["id"] == review["id"]
    listed = client.get("/v1/reviews?limit=10").get_json()
    assert [r["id"] for r in listed["reviews"]] == [review["id"]] and listed["next_cursor"] is None
    assert client.get("/v1/reviews?verdict=contradicted").get_json()["reviews"] == []
    feed = client.get("/v1/reviews?format=claimreview").get_json()
    assert feed["@type"] == "DataFeed"
    [(_, record)] = list(read_records(json.dumps(feed), "export.json"))
    back = review_from_record(record)
    assert (back.id, back.claim, back.verdict, back.rating.text) == (
        review["id"],
        DRONES["claim"],
        "mixed",
        "Half True",
    )
    assert client.delete(path, headers=WRITER).status_code == 204
    assert client.get(path).status_code == 404
    assert client.delete(path, headers=WRITER).status_code == 404
    assert client.put(path, json=DRONES, headers=WRITER).status_code == 404
    assert verify(client, DRONES["claim"])["reviews"] == []


def test_writes_need_a_write_key(client):
    assert post(client, DRONES, headers={}).status_code == 401
    assert post(client, DRONES, headers=READER).status_code == 403


def test_evidence_is_checked_and_flagged_when_its_article_goes(client):
    refused = post(client, {**DRONES, "evidence": [10**9]})
    assert refused.status_code == 409 and refused.get_json()["errors"]["evidence"]
    article = {"id": "drones-kharkiv", "title": "Drones", "text": "Russia launched 412 drones at Kharkiv overnight."}
    assert client.post("/v1/articles", json=article, headers=WRITER).status_code == 201
    [sentence] = client.get("/v1/articles/drones-kharkiv").get_json()["sentences"]
    review = post(client, {**DRONES, "evidence": [sentence["id"]]}).get_json()["review"]
    assert review["evidence"] == [
        {"sentence_id": sentence["id"], "valid": True, "article_id": "drones-kharkiv", "text": sentence["text"]}
    ]
    assert client.delete("/v1/articles/drones-kharkiv", headers=WRITER).status_code == 204
    [evidence] = client.get(f"/v1/reviews/{review['id']}").get_json()["evidence"]
    assert evidence["valid"] is False


def test_an_editors_not_the_same_claim_mark_hides_that_pairing_for_good(client, writable_index_dir):
    review = post(client, DRONES).get_json()["review"]
    claim = "Russia fired 500 drones at Ukraine in one night"
    assert verify(client, claim)["reviews"][0]["id"] == review["id"]
    path = f"/v1/reviews/{review['id']}/not-same-claim"
    assert client.post(path, json={"claim": claim}).status_code == 401  # a write key is needed
    assert client.post(path, json={"claim": claim}, headers=READER).status_code == 403
    marked = client.post(path, json={"claim": claim}, headers=WRITER)
    assert marked.status_code == 201, marked.get_json()
    body = marked.get_json()
    assert (body["status"], body["marked_by"], body["claim"]) == ("created", "desk", claim.casefold())
    after = verify(client, claim)
    assert (
        review["id"] not in [r["id"] for r in after["reviews"]] and after["index"]["generation"] >= body["generation"]
    )
    # Only that pairing: case and spacing aside it is the same claim; another claim still meets the review.
    assert review["id"] not in [
        r["id"] for r in verify(client, "  RUSSIA fired 500 drones at Ukraine in one   night")["reviews"]
    ]
    assert verify(client, "Russia launched 500 drones at Ukraine overnight")["reviews"][0]["id"] == review["id"]
    again = client.post(path, json={"claim": claim}, headers=WRITER)
    assert again.status_code == 200 and again.get_json()["status"] == "unchanged"
    assert client.post("/v1/reviews/nope/not-same-claim", json={"claim": claim}, headers=WRITER).status_code == 404
    bad = client.post(path, json={"claim": ""}, headers=WRITER)
    assert bad.status_code == 422 and bad.get_json()["code"] == "validation_error"
    # Stored with the review (durable, in the archive), for evaluate.py --reviews and the next fit.
    from index.reviews.store import ReviewStore
    from index.storage.archive import Archive

    assert ReviewStore(Archive.open(writable_index_dir)).marks() == [(review["id"], claim.casefold(), "desk")]
