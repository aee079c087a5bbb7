"""BM25 beside FAISS, fused by reciprocal rank: names and figures are found by their words."""

import numpy as np

from index.evaluation import evaluate, load_claims
from index.retrieval.lexical import LexicalDelta, LexicalIndex, reciprocal_rank_fusion, tokenize
from index.verify import ClaimVerifier
from tests.index.test_evaluation import DEV_CLAIMS


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


def test_bm25_search_scores_in_the_calling_thread(monkeypatch):
    """A thread pool per query (bm25s with n_threads >= 1) costs more than the search itself."""
    import bm25s

    index = LexicalIndex.build(["Russia launched 133 drones", "Hegseth ruled out NATO", "Saudi Arabia hosts talks"])
    expected = index.search(["Russia drones", "NATO"], k=2)

    def no_pool(*args, **kwargs):
        raise AssertionError("LexicalIndex.search started a thread pool")

    monkeypatch.setattr(bm25s, "ThreadPoolExecutor", no_pool)
    assert index.search(["Russia drones", "NATO"], k=2) == expected
    assert expected[0][0][0] == 0 and expected[1][0][0] == 1


def test_bm25_top_k_matches_bm25s_retrieve_and_orders_ties_by_id():
    """Our top-k selection over bm25s's scores gives bm25s's own ranking; equal scores go in id order."""
    rng = np.random.default_rng(5)
    vocabulary = [f"w{i}" for i in range(60)]
    texts = [" ".join(rng.choice(vocabulary, size=rng.integers(4, 16))) for _ in range(400)]
    texts += [texts[7]] * 3  # exact copies: equal scores
    index = LexicalIndex.build(texts, ids=np.arange(len(texts)) * 3 + 5)
    mask = index.mask(excluded=index.ids[::4])
    for query_no in range(40):
        query = " ".join(rng.choice(vocabulary, size=rng.integers(1, 6)))
        for weights in (None, mask):
            ours = index.search([query], 20, mask=weights)[0]
            positions, scores = index.retriever.retrieve(
                [tokenize(query)], k=20, show_progress=False, n_threads=0, weight_mask=weights
            )
            theirs = [(int(index.ids[p]), float(s)) for p, s in zip(positions[0], scores[0], strict=True) if s > 0]
            assert [s for _, s in ours] == [s for _, s in theirs], query_no
            boundary = theirs[-1][1] if len(theirs) == 20 else None
            assert {i for i, s in ours if s != boundary} == {i for i, s in theirs if s != boundary}, query_no
            assert ours == sorted(ours, key=lambda pair: (-pair[1], pair[0]))
    copies = index.search([texts[7]], 4)[0]
    assert [i for i, _ in copies] == [5 + 3 * 7, 5 + 3 * 400, 5 + 3 * 401, 5 + 3 * 402]


def test_lexical_index_round_trips_through_disk_with_its_sentence_ids(tmp_path):
    index = LexicalIndex.build(["alpha beta", "gamma delta"], ids=np.array([7, 42]))
    index.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    assert [sid for sid, _ in loaded.search(["delta"], k=2)[0]] == [42]


def test_a_mask_keeps_only_allowed_ids_minus_excluded_ones():
    index = LexicalIndex.build(["drones drones", "drones", "drones over Kyiv"], ids=np.array([3, 5, 9]))
    assert {sid for sid, _ in index.search(["drones"], 3)[0]} == {3, 5, 9}
    assert [sid for sid, _ in index.search(["drones"], 3, mask=index.mask(excluded=np.array([3, 4])))[0]] == [5, 9]
    only = index.mask(allowed=np.array([9, 100]))
    assert [sid for sid, _ in index.search(["drones"], 3, mask=only)[0]] == [9]


def test_a_delta_scores_its_sentences_exactly_as_a_rebuilt_index_would():
    base_texts = ["Russia launched drones at Kyiv", "Talks in Munich", "Drones over Kharkiv and Kyiv", "Peace talks"]
    new_texts = ["Russia launched 98 drones at Kharkiv", "Munich talks ended"]
    base = LexicalIndex.build(base_texts)
    delta = LexicalDelta(base, new_texts, np.array([10, 11]))
    rebuilt = LexicalIndex.build(base_texts + new_texts, ids=np.array([0, 1, 2, 3, 10, 11]))
    for query in ["Russia drones Kharkiv", "Munich talks", "nothing matches"]:
        expected = [(i, s) for i, s in rebuilt.search([query], 6)[0] if i >= 10]
        got = delta.search([query], 6)[0]
        assert [i for i, _ in got] == [i for i, _ in expected]
        assert np.allclose([s for _, s in got], [s for _, s in expected], rtol=1e-5)
    assert delta.search(["Munich"], 5, allowed=np.array([10]))[0] == []


def test_an_empty_lexical_index_finds_nothing(tmp_path):
    empty = LexicalIndex.build([], ids=np.array([], dtype=np.int64))
    empty.save(tmp_path / "lexical")
    assert LexicalIndex.load(tmp_path / "lexical").search(["drones"], 5) == [[]]


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
