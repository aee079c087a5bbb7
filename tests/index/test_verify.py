"""Verifying claims with the real model against the sample article."""

import copy

import pytest

from index.judging.stance import NOT_FOUND, SUPPORTED
from index.verify import ClaimVerifier, IndexMismatch, load_index


def test_sample_claim_finds_the_drone_sentence_first(verifier, sample_article):
    result = verifier.verify_claim("Russia launched 133 drones")
    best = result.evidence[0]
    assert "launched 133 drones" in best.text
    assert best.score > 0.7
    assert result.verdict == SUPPORTED
    assert best.article.title == "Vance Tells Zelensky U.S. Wants 'Lasting' Peace"
    assert best.article.url == sample_article.url
    assert best.article.published == "2025-02-14"
    assert sample_article.body[best.start : best.end] == best.text
    assert best.context.before.startswith("Amid the diplomatic flurry in Munich")
    assert best.context.after.startswith("Zelensky said the attack was evidence")


def test_evidence_is_limited_by_top_k_and_never_repeats(verifier):
    result = verifier.verify_claim("Vance met Zelensky in Munich", top_k=7)
    assert len({e.start for e in result.evidence}) == 7


def test_dense_only_evidence_is_ordered_by_cosine(embedder, verifier):
    dense = ClaimVerifier(embedder, verifier.index, retrieval="dense")
    scores = [e.score for e in dense.verify_claim("Vance met Zelensky in Munich", top_k=7).evidence]
    assert scores == sorted(scores, reverse=True)


def test_top_k_larger_than_the_index_returns_every_sentence(verifier):
    assert len(verifier.verify_claim("peace", top_k=50).evidence) == 28


def test_min_score_drops_weak_evidence(verifier):
    result = verifier.verify_claim("Russia launched 133 drones", top_k=10, min_score=0.5)
    assert [e.score >= 0.5 for e in result.evidence] == [True] * len(result.evidence)
    assert 1 <= len(result.evidence) < 10


def test_claims_the_archive_never_mentions_are_not_found(verifier):
    for claim in ("The Eiffel Tower was repainted green", "Apple released a new iPhone"):
        assert verifier.verify_claim(claim).verdict == NOT_FOUND


def test_batch_gives_the_same_answers_as_single_claims(verifier):
    claims = ["Russia launched 133 drones", "Saudi Arabia offered to host talks", "Bananas are yellow"]
    batch = verifier.verify_claims(claims, top_k=3)
    for claim, result in zip(claims, batch, strict=True):
        single = verifier.verify_claim(claim, top_k=3)
        assert [e.text for e in result.evidence] == [e.text for e in single.evidence]
        assert [e.score for e in result.evidence] == pytest.approx([e.score for e in single.evidence], abs=1e-3)
        assert result.verdict == single.verdict


def test_whitespace_in_claims_is_normalised(verifier):
    assert verifier.verify_claim("  Russia   launched\n133 drones ").claim == "Russia launched 133 drones"


def test_a_claim_longer_than_the_model_reads_says_so(verifier):
    long_claim = " ".join(["Russia launched 133 drones across the country overnight"] * 40)
    result = verifier.verify_claim(long_claim)
    assert result.warnings and "longer than the model reads" in result.warnings[0]
    assert verifier.verify_claim("Russia launched 133 drones").warnings == []


def test_an_index_built_with_another_model_is_refused(embedder, sample_index_dir):
    other_model = copy.copy(embedder)
    other_model.name = "other-model"
    with pytest.raises(IndexMismatch, match="rebuild the index"):
        ClaimVerifier(other_model, load_index(sample_index_dir))


def test_wire_copy_in_several_articles_is_one_item_listing_each(tmp_path, embedder):
    import json

    from index.ingestion.builder import build_index
    from tests.conftest import SAMPLE_ARTICLES

    drones = (
        "The Ukrainian air force said Russia had launched 133 drones across the country overnight, including attack "
        "drones, targeting northern regions of the country where the Chernobyl plant lies."
    )
    feed = tmp_path / "wire.jsonl"
    rows = [
        {"title": "Wire: exact copy", "url": "https://wire.test/1", "published": "2025-02-15", "text": drones},
        {"title": "Wire: light edit", "url": "https://wire.test/2", "text": drones.replace("overnight", "overnight,")},
        {"title": "Other story", "url": "https://wire.test/3", "text": "Russia said it launched 20 drones at Kyiv."},
    ]
    feed.write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    build_index([SAMPLE_ARTICLES, feed], tmp_path / "index", embedder)
    verifier = ClaimVerifier(embedder, load_index(tmp_path / "index"))

    result = verifier.verify_claim("Russia launched 133 drones", top_k=3)
    texts = [e.text.replace(",", "") for e in result.evidence]
    assert len(texts) == len(set(texts)) == 3
    best = result.evidence[0]
    assert "133 drones" in best.text
    assert sorted([best.article.title] + [a.title for a in best.also_in]) == sorted(
        ["Vance Tells Zelensky U.S. Wants 'Lasting' Peace", "Wire: exact copy", "Wire: light edit"]
    )


def test_wire_copy_key_keeps_only_letters_digits_and_single_spaces():
    from index.verify import _normalise_text

    assert _normalise_text("  Russia's  drones_strike, at 3:00 — Kyiv!\n") == "russias dronesstrike at 300 kyiv"
    assert _normalise_text("Zürich – Ῥόδος ٣") == "zürich ῥόδος ٣"
