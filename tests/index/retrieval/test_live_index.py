"""A live index: writes visible at once to every reader, snapshots picked up without restart."""

import time

import pytest

from index.ingestion.builder import build_index, write_snapshot
from index.storage import layout
from index.verify import ArticleFilter, ClaimVerifier, load_index
from index.writer import ArticleWriter, RecordError
from tests.conftest import SAMPLE_ARTICLES

DRONES = {
    "id": "kharkiv-drones",
    "title": "Drones hit Kharkiv",
    "published": "2025-03-01",
    "text": "Russia launched 412 drones at Kharkiv overnight, the mayor said. Three people were injured.",
}


@pytest.fixture
def index_dir(writable_index_dir):
    return writable_index_dir


@pytest.fixture
def writer(embedder, index_dir):
    return ArticleWriter(ClaimVerifier(embedder, load_index(index_dir)))


def texts(result) -> list[str]:
    return [e.text for e in result.evidence]


def test_a_write_is_visible_to_another_process_on_its_next_request(embedder, index_dir, writer):
    other = ClaimVerifier(embedder, load_index(index_dir))  # another worker, its own LiveIndex
    before = other.verify_claim("Russia launched 412 drones at Kharkiv")
    written = writer.put_articles([DRONES])
    after = other.verify_claim("Russia launched 412 drones at Kharkiv")
    assert "412 drones" not in " ".join(texts(before))
    assert after.index.generation == written.generation > before.index.generation
    assert after.verdict == "supported" and after.evidence[0].article.id == "kharkiv-drones"
    assert (after.index.articles, after.index.sentences) == (2, 30)


def test_a_replaced_article_loses_its_old_sentences_and_a_deleted_one_disappears(writer):
    verifier = writer.verifier
    writer.put_articles([DRONES])
    writer.put_articles([{**DRONES, "text": "Russia launched 98 drones at Kharkiv overnight, the mayor said."}])
    result = verifier.verify_claim("Russia launched 412 drones at Kharkiv", top_k=10)
    assert not any("412" in t for t in texts(result))
    assert result.verdict == "contradicted" and "98 drones" in result.evidence[0].text
    writer.delete_article("kharkiv-drones")
    assert not any("Kharkiv" in t for t in texts(verifier.verify_claim("drones at Kharkiv", top_k=10)))


def test_the_delta_answers_exactly_as_a_fresh_snapshot_would(embedder, index_dir, writer):
    writer.put_articles([DRONES])
    writer.put_articles(
        [{**DRONES, "id": "second", "text": "Ukraine shot down 380 of the drones, the air force said."}]
    )
    claims = ["Russia launched 412 drones", "Ukraine shot down 380 drones", "Vance met Zelensky in Munich"]
    with_delta = writer.verifier.verify_claims(claims, top_k=8)
    assert writer.verifier.index.view().delta_size == 3
    write_snapshot(index_dir, writer.archive)
    fresh = ClaimVerifier(embedder, load_index(index_dir))
    assert fresh.index.view().delta_size == 0
    rebuilt = fresh.verify_claims(claims, top_k=8)
    for a, b in zip(with_delta, rebuilt, strict=True):
        assert [(e.text, e.score) for e in a.evidence][:3] == [(e.text, e.score) for e in b.evidence][:3]
        assert a.verdict == b.verdict


def test_filters_restrict_evidence_to_dates_and_articles(writer):
    writer.put_articles([DRONES])
    verifier = writer.verifier
    only_new = verifier.verify_claim("drones", within=ArticleFilter(article_ids=["kharkiv-drones"]))
    assert {e.article.id for e in only_new.evidence} == {"kharkiv-drones"}
    in_february = verifier.verify_claim("drones", within=ArticleFilter(published_before="2025-02-28"))
    assert in_february.evidence and all(e.article.published <= "2025-02-28" for e in in_february.evidence)
    nothing = verifier.verify_claim("drones", within=ArticleFilter(published_after="2030-01-01"))
    assert (nothing.verdict, nothing.evidence) == ("not_found", [])


def test_a_rebuild_against_a_live_index_is_picked_up_without_restart(embedder, index_dir, writer):
    live = writer.verifier.index
    old_version = live.view().version
    writer.put_articles([DRONES])
    report = build_index([SAMPLE_ARTICLES], index_dir, embedder)
    view = live.view()
    assert view.version == report.version != old_version
    assert view.delta_size == 0 and view.size == 30  # the HTTP-posted article is in the new snapshot


def test_a_corrupt_new_snapshot_is_refused_and_the_old_one_keeps_serving(embedder, index_dir, writer, caplog):
    live = writer.verifier.index
    old_version = live.view().version
    manifest = write_snapshot(index_dir, writer.archive)
    damaged = index_dir / layout.VERSIONS / manifest.version / layout.VECTORS
    # The live instance has not looked yet; damage the file before it does.
    damaged.write_bytes(damaged.read_bytes()[:100])
    assert live.view().version == old_version
    assert str(damaged) in live.reload_error
    assert any(str(damaged) in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    assert writer.verifier.verify_claim("Russia launched 133 drones").verdict == "supported"


def test_enough_writes_trigger_a_background_snapshot(embedder, index_dir):
    writer = ArticleWriter(ClaimVerifier(embedder, load_index(index_dir)), snapshot_after=2)
    first = writer.verifier.index.view().version
    writer.put_articles([DRONES])
    deadline = time.monotonic() + 30
    while (view := writer.verifier.index.view()).version == first:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert view.delta_size == 0 and view.size == 30


def test_records_that_are_not_articles_are_refused_by_position(writer):
    with pytest.raises(RecordError) as info:
        writer.put_articles([DRONES, {"title": "No text"}])
    assert info.value.position == 1 and "text" in info.value.message
    assert writer.archive.get_article("kharkiv-drones") is None  # nothing of the batch was stored


def test_above_the_flat_threshold_the_snapshot_is_ivf_and_answers_the_same(embedder, index_dir, writer, monkeypatch):
    """IVF (index/retrieval/ann.py) over the same sentences: same evidence, deletes excluded, filters exact."""
    from index.retrieval import ann

    claims = ["Russia launched 133 drones", "Vance met Zelensky in Munich", "Russia launched 412 drones at Kharkiv"]
    writer.put_articles([DRONES])
    write_snapshot(index_dir, writer.archive)
    flat = ClaimVerifier(embedder, load_index(index_dir)).verify_claims(claims, top_k=5)
    monkeypatch.setattr(ann, "FLAT_MAX_VECTORS", 10)
    manifest = write_snapshot(index_dir, writer.archive)
    assert manifest.vector_index.startswith("IVF")
    ivf = ClaimVerifier(embedder, load_index(index_dir))
    for a, b in zip(flat, ivf.verify_claims(claims, top_k=5), strict=True):
        assert [(e.text, e.score) for e in a.evidence] == [(e.text, e.score) for e in b.evidence]
    only = ivf.verify_claim("drones", within=ArticleFilter(article_ids=["kharkiv-drones"]))
    assert {e.article.id for e in only.evidence} == {"kharkiv-drones"}
    ArticleWriter(ivf).delete_article("kharkiv-drones")
    assert all(e.article.id != "kharkiv-drones" for e in ivf.verify_claim("drones at Kharkiv", top_k=10).evidence)


def test_past_ram_layout_answers_like_exact_search(embedder, index_dir, writer, monkeypatch):
    """IVF-PQ + refine (index/retrieval/ann.py, above REFINE_MIN_VECTORS): exact cosines, deletes and filters hold."""
    from index.retrieval import ann

    things = ["bus routes", "schools", "parks", "bridges", "clinics", "libraries", "wells", "roads", "ports", "farms"]
    # PQ needs 256 training vectors per codebook: 30 articles of 10 sentences beside the sample.
    filler = [
        {
            "id": f"council-{i}",
            "title": f"Council report {i}",
            "published": "2024-01-01",
            "text": " ".join(f"Town {i} approved {7 * j + i} new {t} in {1990 + j}." for j, t in enumerate(things)),
        }
        for i in range(30)
    ]
    claims = ["Russia launched 133 drones", "Vance met Zelensky in Munich", "Town 4 approved 25 new parks"]
    writer.put_articles([DRONES, *filler])
    write_snapshot(index_dir, writer.archive)
    flat = ClaimVerifier(embedder, load_index(index_dir)).verify_claims(claims, top_k=3)
    monkeypatch.setattr(ann, "FLAT_MAX_VECTORS", 10)
    monkeypatch.setattr(ann, "REFINE_MIN_VECTORS", 10)
    # Every list probed: this checks ids, scores, deletes and filters; recall is tests/index/retrieval/test_ann.py's.
    monkeypatch.setattr(ann, "MIN_NPROBE", 64)
    manifest = write_snapshot(index_dir, writer.archive)
    assert manifest.vector_index.endswith(f"PQ{ann.REFINE_PQ_M},RFlat")
    refined = ClaimVerifier(embedder, load_index(index_dir))
    for a, b in zip(flat, refined.verify_claims(claims, top_k=3), strict=True):
        assert [e.text for e in a.evidence] == [e.text for e in b.evidence]
        assert [e.score for e in a.evidence] == pytest.approx([e.score for e in b.evidence], abs=1e-5)
    only = refined.verify_claim("drones", within=ArticleFilter(article_ids=["kharkiv-drones"]))
    assert {e.article.id for e in only.evidence} == {"kharkiv-drones"}
    ArticleWriter(refined).delete_article("kharkiv-drones")
    assert all(e.article.id != "kharkiv-drones" for e in refined.verify_claim("drones at Kharkiv", top_k=10).evidence)
