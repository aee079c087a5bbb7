"""BM25 beside FAISS, fused by reciprocal rank: names and figures are found by their words."""

import json
import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.retrieval.lexical import (
    K1,
    B,
    LexicalDelta,
    LexicalFormatError,
    LexicalIndex,
    reciprocal_rank_fusion,
    terms,
    tokenize,
)


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


def test_the_index_analyser_makes_the_same_words_as_tokenize():
    """The same decisions written as a Tantivy analyser: index terms are what `tokenize` gives."""
    for text in [
        "The Ukrainian air force said Russia had launched 133 drones.",
        "Ça coûte 1,5 € — the 2nd-largest café's attack, under_score x2 3.14",
        "Officials SAID it would cost $4.2bn (about 12%) by 2031",
    ]:
        assert terms(text) == tokenize(text)


def _exhaustive_bm25(texts: list[str], ids: np.ndarray, query: str) -> list[tuple[int, float]]:
    """Tantivy's BM25 computed over every document: what a top-k with pruning must equal."""
    docs = [Counter(terms(t)) for t in texts]
    lengths = np.array([sum(d.values()) for d in docs], dtype=np.float64)
    avg = lengths.mean()
    scores = np.zeros(len(texts))
    for word in terms(query):
        df = sum(1 for d in docs if word in d)
        idf = math.log(1 + (len(texts) - df + 0.5) / (df + 0.5))
        for i, d in enumerate(docs):
            if word in d:
                tf = d[word]
                scores[i] += idf * (1 + K1) * tf / (tf + K1 * (1 - B + B * lengths[i] / avg))
    order = sorted((i for i in range(len(texts)) if scores[i] > 0), key=lambda i: (-scores[i], ids[i]))
    return [(int(ids[i]), float(scores[i])) for i in order]


def test_the_pruned_top_k_is_the_exhaustive_bm25_ranking_with_ties_in_id_order():
    rng = np.random.default_rng(5)
    vocabulary = [f"w{i}" for i in range(60)]
    texts = [" ".join(rng.choice(vocabulary, size=rng.integers(4, 16))) for _ in range(400)]
    texts += [texts[7]] * 3  # exact copies: equal scores
    ids = np.arange(len(texts)) * 3 + 5
    index = LexicalIndex.build(texts, ids=ids)
    excluded = ids[::4]
    for query_no in range(40):
        query = " ".join(rng.choice(vocabulary, size=rng.integers(1, 6)))
        expected = _exhaustive_bm25(texts, ids, query)
        for exclude in (None, excluded):
            ours = index.search([query], 20, excluded=exclude)[0]
            theirs = [p for p in expected if exclude is None or p[0] not in set(exclude.tolist())][:20]
            assert np.allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5), query_no
            boundary = theirs[-1][1] if len(theirs) == 20 else None
            assert {i for i, s in ours if not np.isclose(s, boundary or -1)} == {
                i for i, s in theirs if not np.isclose(s, boundary or -1)
            }, query_no
            assert ours == sorted(ours, key=lambda pair: (-pair[1], pair[0]))
    copies = index.search([texts[7]], 4)[0]
    assert [i for i, _ in copies] == [5 + 3 * 7, 5 + 3 * 400, 5 + 3 * 401, 5 + 3 * 402]


def test_concurrent_searches_from_many_threads_agree():
    texts = [f"Story {i} about drones over Kyiv and {i % 7} talks" for i in range(300)]
    index = LexicalIndex.build(texts)
    queries = [f"drones {i} talks" for i in range(40)]
    expected = index.search(queries, 10)
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda q: index.search([q], 10)[0], queries)) == expected


def test_lexical_index_round_trips_through_disk_with_its_sentence_ids(tmp_path):
    LexicalIndex.build(["alpha beta", "gamma delta"], ids=np.array([7, 42]), directory=tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    assert [sid for sid, _ in loaded.search(["delta"], k=2)[0]] == [42]


def test_another_engine_or_format_is_refused_naming_the_fix(tmp_path):
    old = tmp_path / "old"  # a bm25s snapshot of an earlier release: no lexical.json
    old.mkdir()
    (old / "params.index.json").write_text("{}")
    with pytest.raises(LexicalFormatError, match=r"build_index\.py --out INDEX_DIR --snapshot"):
        LexicalIndex.load(old)
    LexicalIndex.build(["alpha beta"], directory=tmp_path / "new")
    meta = tmp_path / "new" / LexicalIndex.META_FILE
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "format": 99}))
    with pytest.raises(LexicalFormatError, match="tantivy format 99, this release reads tantivy format 1"):
        LexicalIndex.load(tmp_path / "new")


def test_allowed_and_excluded_ids_filter_without_changing_scores():
    index = LexicalIndex.build(["drones drones", "drones", "drones over Kyiv"], ids=np.array([3, 5, 9]))
    everything = dict(index.search(["drones"], 3)[0])
    assert set(everything) == {3, 5, 9}
    assert [sid for sid, _ in index.search(["drones"], 3, excluded=np.array([3, 4]))[0]] == [5, 9]
    only = index.search(["drones"], 3, allowed=np.array([9, 100]))[0]
    assert only == [(9, everything[9])]


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
    LexicalIndex.build([], ids=np.array([], dtype=np.int64), directory=tmp_path / "lexical")
    assert LexicalIndex.load(tmp_path / "lexical").search(["drones"], 5) == [[]]


def test_common_words_only_add_to_the_score_of_sentences_sharing_a_rarer_one():
    """`common_share`: words in more than that share of the sentences match nothing alone; the
    sentences found are scored exactly as before, and a claim of common words only is unchanged."""
    texts = [f"officials said the council met on day {i}" for i in range(95)]
    texts += ["officials said drones hit Odesa", "drones over Kharkiv", "the council said nothing", "Odesa port", "x"]
    index = LexicalIndex.build(texts)
    plain = dict(index.search(["officials said drones hit Odesa council"], 100)[0])
    index.common_share = 0.2  # officials, council: in most sentences; drones, odesa: rare
    found = index.search(["officials said drones hit Odesa council"], 100)[0]
    assert {i for i, _ in found} == {95, 96, 98}  # each shares drones or Odesa
    assert all(np.isclose(score, plain[i]) for i, score in found)
    assert (
        index.search(["officials council"], 100)[0] == LexicalIndex.build(texts).search(["officials council"], 100)[0]
    )
