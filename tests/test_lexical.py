"""BM25 beside FAISS, fused by reciprocal rank: names and figures are found by their words."""

from index.evaluation import evaluate, load_claims
from index.lexical import LexicalIndex, reciprocal_rank_fusion, tokenize
from index.verify import ClaimVerifier
from tests.test_evaluation import DEV_CLAIMS


def test_tokenize_keeps_numbers_and_names_and_drops_function_words():
    assert tokenize("The Ukrainian air force said Russia had launched 133 drones.") == [
        "ukrainian",
        "air",
        "force",
        "russia",
        "launched",
        "133",
        "drones",
    ]


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert sorted(fused, key=fused.get, reverse=True) == [1, 3, 2]
    assert fused[2] == 1 / 62


def test_bm25_search_leaves_out_sentences_sharing_no_term():
    index = LexicalIndex.build(["Russia launched 133 drones", "Hegseth ruled out NATO", "Saudi Arabia hosts talks"])
    assert index.search(["Hegseth NATO", "nothing matches"], k=3) == [
        [(1, index.search(["Hegseth NATO"], 1)[0][0][1])],
        [],
    ]


def test_lexical_index_round_trips_through_disk(tmp_path):
    index = LexicalIndex.build(["alpha beta", "gamma delta"])
    index.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical", size=2)
    assert [sid for sid, _ in loaded.search(["delta"], k=2)[0]] == [1]


def test_hybrid_retrieval_beats_dense_only_on_the_dev_set(embedder, verifier):
    claims = [c for c in load_claims(DEV_CLAIMS) if c.gold]
    dense = evaluate(ClaimVerifier(embedder, verifier.index, retrieval="dense"), claims)
    hybrid = evaluate(verifier, claims)
    assert hybrid.hit_at_1 > dense.hit_at_1
    assert hybrid.hit_at_1 >= 0.9 and hybrid.mrr >= dense.mrr


def test_a_sentence_found_only_by_bm25_gets_its_real_cosine(verifier):
    result = verifier.verify_claim("Hegseth", top_k=3)
    assert "Pete Hegseth" in result.evidence[0].text
    vector = verifier.embedder.encode(["Hegseth"])[0]
    sentence_vector = verifier.embedder.encode([result.evidence[0].text])[0]
    assert abs(result.evidence[0].score - float(vector @ sentence_vector)) < 1e-3
