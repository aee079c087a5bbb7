"""Reviews without a model: ratings, ClaimReview/JSONL/CSV parsing and export, the store's
transactions and generations, evidence validity, and the review index's view per generation."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from index.documents.articles import Article
from index.documents.sentences import Sentence
from index.reviews.claimreview import claimreview_feed, read_records, review_from_record, to_claimreview
from index.reviews.matching import ReviewIndex, matching_text
from index.reviews.review import CONTRADICTED, MIXED, SUPPORTED, UNPROVEN, ReviewError, make_rating, verdict_of
from index.reviews.store import ReviewStore
from index.storage.archive import Archive, PreparedArticle

DIM = 8
MODEL = "test-model"

CLAIMREVIEW = {
    "@context": "https://schema.org",
    "@type": "ClaimReview",
    "url": "https://factcheck.example.org/2025/drones",
    "claimReviewed": "Russia launched 500 drones at Kyiv in one night",
    "datePublished": "2025-02-15",
    "name": "No, Russia did not launch 500 drones in one night",
    "author": {"@type": "Organization", "name": "Example Checks"},
    "reviewRating": {"@type": "Rating", "ratingValue": 1, "bestRating": 5, "worstRating": 1, "alternateName": "False"},
    "itemReviewed": {
        "@type": "Claim",
        "author": {"@type": "Person", "name": "A. Poster"},
        "datePublished": "2025-02-14",
        "appearance": [{"@type": "CreativeWork", "url": "https://social.example/post/1"}],
    },
    "reviewBody": "The air force reported 133 drones.",
}


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def review(claim: str = "The moon is made of cheese", **fields):
    return review_from_record({"claim": claim, "reviewed_by": "desk", "reviewed_at": "2025-01-02", **fields})


@pytest.fixture
def store(tmp_path) -> ReviewStore:
    return ReviewStore(Archive.open(tmp_path, create=True))


# ---- ratings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "verdict"),
    [
        ("Pants on Fire!", None, CONTRADICTED),
        ("Mostly True", None, SUPPORTED),
        ("Half-True", None, MIXED),
        ("Mixture", None, MIXED),
        ("Unproven", None, UNPROVEN),
        # PolitiFact's scale, by its shown names and by its slugs (a PolitiFact export)
        ("pants-fire", None, CONTRADICTED),
        ("False", None, CONTRADICTED),
        ("barely-true", None, CONTRADICTED),
        ("Mostly False", None, CONTRADICTED),
        ("half-true", None, MIXED),
        ("mostly-true", None, SUPPORTED),
        ("TRUE", None, SUPPORTED),
        ("full-flop", None, UNPROVEN),  # a change of position, not a truth rating
        ("Half Flip", None, UNPROVEN),
        ("no-flip", None, UNPROVEN),
        # other fact-checkers' common ClaimReview texts
        ("Altered photo", None, CONTRADICTED),
        ("Missing context", None, MIXED),
        ("Out of context", None, MIXED),
        ("Unsubstantiated", None, UNPROVEN),
        ("Something else", 5, SUPPORTED),
        ("Something else", 1, CONTRADICTED),
        (None, 3, MIXED),
        (None, None, UNPROVEN),
    ],
)
def test_a_rating_becomes_a_verdict_from_its_text_else_its_number(text, value, verdict):
    assert verdict_of(text, value, 5 if value else None, 1 if value else None) == verdict


def test_a_rating_beyond_its_scale_counts_as_its_nearer_end():
    assert make_rating(text="x", value=9, best=5, worst=1).verdict == SUPPORTED
    assert make_rating(value=-1).verdict == CONTRADICTED  # schema.org's default scale, 1 to 5
    with pytest.raises(ReviewError, match="verdict"):
        make_rating(verdict="maybe")


# ---- parsing ------------------------------------------------------------------------------


def parsed(text: str, name: str) -> list:
    return [
        (pos, rec if isinstance(rec, ReviewError) else review_from_record(rec)) for pos, rec in read_records(text, name)
    ]


def test_claimreview_fields_map_to_a_review():
    r = review_from_record(CLAIMREVIEW)
    assert (r.claim, r.verdict, r.rating.text, r.rating.value) == (
        "Russia launched 500 drones at Kyiv in one night", CONTRADICTED, "False", 1.0,
    )  # fmt: skip
    assert (r.reviewed_by, r.reviewed_at, r.claimant, r.claim_date) == (
        "Example Checks", "2025-02-15", "A. Poster", "2025-02-14",
    )  # fmt: skip
    assert r.claim_where == "https://social.example/post/1"
    assert r.title.startswith("No, Russia") and r.note.startswith("The air force")


# Two records of a PolitiFact export, as the CLEF 2022 CheckThat! 2B release gives them.
POLITIFACT = [
    {
        "id": "vclaim-pol-00000",
        "claim": (
            'Schuyler VanValkenburg co-sponsored a bill that would have "allowed abortion until the moment of birth."'
        ),
        "rating": "false",
        "speaker": "GayDonna Vandergriff",
        "stated": "stated on October 22, 2019 in a campaign mailer.:",
        "title": "Vandergriff inaccurately describes bill that would have eased late-term abortion laws",
        "url": "https://www.politifact.com/factchecks/2019/oct/30/gaydonna-vandergriff/vandergriff-inaccurately-describes-bill-would-have/",
    },
    {
        "id": "vclaim-pol-00001",
        "claim": "On tax increases.",
        "rating": "half-flip",
        "speaker": "Scott Walker",
        "stated": "stated on March 3, 2015 in an interview:",
        "title": "Walker on taxes",
        "url": "https://www.politifact.com/factchecks/2015/mar/05/scott-walker/walker-taxes/",
    },
]


def test_a_politifact_export_imports_with_its_ratings_mapped_and_its_words_kept():
    text = "\n".join(json.dumps(r) for r in POLITIFACT)
    [(_, first), (_, flip)] = parsed(text, "politifact.jsonl")
    assert (first.verdict, first.rating.text, first.reviewed_by) == (CONTRADICTED, "False", "PolitiFact")
    assert (first.claimant, first.claim_date, first.claim_where) == (
        "GayDonna Vandergriff", "2019-10-22", "a campaign mailer",
    )  # fmt: skip
    assert first.reviewed_at == "2019-10-30" and first.title.startswith("Vandergriff")
    assert (flip.verdict, flip.rating.text) == (UNPROVEN, "Half Flip")  # a change of position, not a truth
    undated = {**POLITIFACT[0], "url": None, "stated": "somewhere"}
    with pytest.raises(ReviewError, match="no review date"):
        review_from_record(undated)


@pytest.mark.parametrize(
    "document",
    [
        CLAIMREVIEW,
        [CLAIMREVIEW],
        {"@context": "https://schema.org", "@graph": [{"@type": "Organization", "name": "x"}, CLAIMREVIEW]},
        {"@type": "DataFeed", "dataFeedElement": [{"@type": "DataFeedItem", "item": CLAIMREVIEW}]},
        {"@type": "DataFeed", "dataFeedElement": [{"@type": "DataFeedItem", "item": [CLAIMREVIEW]}]},
    ],
    ids=["object", "list", "graph", "datafeed", "datafeed-item-list"],
)
def test_every_json_ld_shape_gives_its_claimreviews(document):
    [(position, r)] = parsed(json.dumps(document), "feed.json")
    assert position == "feed.json#1" and r.claim.startswith("Russia launched 500")


def test_bad_records_are_reported_by_position():
    lines = [
        json.dumps({"claim": "A fine claim", "reviewed_by": "desk", "reviewed_at": "2025-01-01", "rating": "False"}),
        "{not json",
        json.dumps({"claim": "", "reviewed_by": "desk", "reviewed_at": "2025-01-01"}),
        json.dumps({"claim": "No date", "reviewed_by": "desk"}),
        json.dumps({"claim": "Bad verdict", "reviewed_by": "desk", "reviewed_at": "2025-01-01", "verdict": "maybe"}),
        json.dumps({"claim": "Odd field", "reviewed_by": "desk", "reviewed_at": "2025-01-01", "colour": "red"}),
    ]
    results = []
    for position, record in read_records("\n".join(lines), "in.jsonl"):
        try:
            results.append((position, record if isinstance(record, ReviewError) else review_from_record(record)))
        except ReviewError as exc:
            results.append((position, exc))
    good = [p for p, r in results if not isinstance(r, ReviewError)]
    bad = [p for p, r in results if isinstance(r, ReviewError)]
    assert good == ["in.jsonl:1"]
    assert bad == ["in.jsonl:2", "in.jsonl:3", "in.jsonl:4", "in.jsonl:5", "in.jsonl:6"]


def test_csv_with_the_documented_header():
    text = (
        "claim,rating,reviewed_by,reviewed_at,url,evidence\n"
        'Bus fares rose 40%,Mostly False,desk,2025-03-01,https://x.example/a,"3, 4"\n'
        '"Quoted, with a comma",True,desk,2025-03-02,,\n'
    )
    [(p1, r1), (p2, r2)] = parsed(text, "reviews.csv")
    assert (p1, r1.verdict, [e.sentence_id for e in r1.evidence]) == ("reviews.csv:2", CONTRADICTED, [3, 4])
    assert (p2, r2.claim, r2.verdict, r2.url) == ("reviews.csv:3", "Quoted, with a comma", SUPPORTED, None)
    [(_, error)] = list(read_records("text,verdict\nx,true\n", "bad.csv"))
    assert isinstance(error, ReviewError) and "claim" in error.message


def test_the_export_is_claimreview_and_round_trips():
    originals = [
        review_from_record(CLAIMREVIEW),
        review("Water boils at 50 degrees", verdict="mixed", rating="Odd wording", note="two lines\nof note"),
        review("Nothing but a verdict", verdict="unproven"),
    ]
    feed = claimreview_feed(originals)
    assert feed["@context"] == "https://schema.org" and feed["@type"] == "DataFeed"
    for item in feed["dataFeedElement"]:
        node = item["item"]
        assert node["@type"] == "ClaimReview" and node["claimReviewed"] and node["reviewRating"]["@type"] == "Rating"
        assert node["author"]["name"] and node["datePublished"]
    back = [r for _, r in parsed(json.dumps(feed), "export.json")]
    assert back == originals
    assert [to_claimreview(r) for r in back] == [to_claimreview(r) for r in originals]


def test_the_id_is_stable_for_the_same_url_and_claim():
    a = review_from_record(CLAIMREVIEW)
    b = review_from_record({**CLAIMREVIEW, "reviewRating": {"alternateName": "True"}})
    c = review_from_record({**CLAIMREVIEW, "url": "https://factcheck.example.org/other"})
    assert a.id == b.id != c.id


def test_links_and_a_posts_signature_are_not_matched():
    tweet = "Look at this pic.twitter.com/abc https://t.co/x — Jane Doe (@jane_d) January 14, 2020"
    assert matching_text(tweet) == "Look at this"
    assert matching_text("Russia launched 133 drones") == "Russia launched 133 drones"


# ---- the store ----------------------------------------------------------------------------


def test_writes_move_the_generation_and_rewriting_changes_nothing(store):
    first = review()
    generation, [put] = store.put_reviews([(first, vector(1))], MODEL)
    assert put.status == "created" and generation == store.archive.generation() == 1
    assert store.put_reviews([(first, vector(1))], MODEL) == (1, [put.__class__(first.id, "unchanged")])
    changed = review(rating="False")
    generation, [put] = store.put_reviews([(changed, vector(1))], MODEL)
    assert (generation, put.status, store.get(first.id).verdict) == (2, "updated", CONTRADICTED)
    assert store.live_count() == 1
    assert store.delete_review(first.id) == 3 and store.get(first.id) is None
    assert store.delete_review(first.id) is None and store.archive.generation() == 3


def test_a_failed_write_leaves_nothing(store):
    good = review("A claim that is fine")
    with pytest.raises(ValueError):
        store.put_reviews([(good, vector(1)), (review("Another"), np.zeros(DIM + 1, dtype=np.float32))], MODEL)
    assert store.get(good.id) is None and store.archive.generation() == 0


def test_listing_pages_and_filters(store):
    items = [review(f"Claim number {i}", reviewed_at=f"2025-01-{i + 1:02d}", verdict="mixed" if i % 2 else None)
             for i in range(5)]  # fmt: skip
    store.put_reviews([(r, vector(i)) for i, r in enumerate(items)], MODEL)
    page, cursor = store.list_reviews(limit=2)
    assert [r.claim for r in page] == ["Claim number 4", "Claim number 3"] and cursor
    rest, end = store.list_reviews(limit=10, cursor=cursor)
    assert [r.claim for r in rest] == ["Claim number 2", "Claim number 1", "Claim number 0"] and end is None
    assert {r.verdict for r in store.list_reviews(verdict=MIXED)[0]} == {MIXED}


def test_evidence_turns_invalid_when_its_article_changes(store):
    archive = store.archive
    article = Article(id="a1", title="T", url=None, published=None, byline=None, body="One. Two.", source="t")
    sentences = [Sentence("a1", 0, 0, 4, "One."), Sentence("a1", 1, 5, 9, "Two.")]
    archive.put_articles([PreparedArticle(article, sentences, np.stack([vector(7), vector(8)]))], MODEL)
    ids = [int(i) for i in archive.live_rows(archive.generation()).ids]
    r = review(evidence=ids)
    store.put_reviews([(r, vector(1))], MODEL)
    assert [(e.valid, e.text) for e in store.get(r.id).evidence] == [(True, "One."), (True, "Two.")]
    assert store.missing_sentences([*ids, 999]) == [999]
    archive.delete_article("a1")
    assert [e.valid for e in store.get(r.id).evidence] == [False, False]


# ---- the review index ---------------------------------------------------------------------


def test_the_index_follows_the_generation(store):
    index = ReviewIndex(store, DIM)
    assert index.view(store.archive.generation()).size == 0
    a, b = review("Cats can see in complete darkness"), review("The Great Wall is visible from space")
    generation, _ = store.put_reviews([(a, vector(1)), (b, vector(2))], MODEL)
    view = index.view(generation)
    [[(seq, cosine), *_]] = view.search(["great wall visible from space"], vector(2)[None, :], 5)
    assert store.by_seq([seq])[seq].id == b.id and cosine == pytest.approx(1.0, abs=1e-5)
    generation = store.delete_review(b.id)
    changed = review("Cats can see in complete darkness", rating="False")
    generation, _ = store.put_reviews([(changed, vector(3))], MODEL)
    view = index.view(generation)
    assert view.size == 1 and view.base_generation < generation  # a delta, not a rebuild
    [found] = view.search(["great wall visible from space"], vector(2)[None, :], 5)
    assert [store.by_seq([s])[s].rating.text for s, _ in found] == ["False"]


def test_a_large_base_is_searched_approximately_with_retired_rows_excluded(store, monkeypatch):
    from index.reviews import matching

    monkeypatch.setattr(matching, "EXACT_MAX_REVIEWS", 100)
    reviews = [review(f"Claim number {i} about topic {i % 7}") for i in range(400)]
    generation, _ = store.put_reviews([(r, vector(i)) for i, r in enumerate(reviews)], MODEL)
    index = ReviewIndex(store, DIM)
    view = index.view(generation)
    assert view.base.vectors.ntotal == 400 and "IVF" in type(view.base.vectors).__name__
    [[(seq, cosine), *_]] = view.search(["claim number 123"], vector(123)[None, :], 5)
    assert store.by_seq([seq])[seq].id == reviews[123].id and cosine == pytest.approx(1.0, abs=1e-5)
    generation = store.delete_review(reviews[123].id)
    [found] = index.view(generation).search(["claim number 123"], vector(123)[None, :], 5)
    assert reviews[123].id not in {store.by_seq([s])[s].id for s, _ in found}
    # A row found by BM25 alone still gets its true cosine (read back from the index).
    seqs = view.base.seqs
    for seq, cosine in found:
        position = int(np.searchsorted(seqs, seq))
        assert cosine == pytest.approx(float(vector(position) @ vector(123)), abs=1e-5)


@pytest.mark.parametrize("background", [True, False])
def test_a_new_base_is_built_once_enough_rows_changed(store, monkeypatch, background):
    from index.reviews import matching

    monkeypatch.setattr(matching, "REBUILD_AFTER", 2)
    index = ReviewIndex(store, DIM, rebuild_in_background=background)
    first = index.view(store.archive.generation())
    generation, _ = store.put_reviews([(review("Cats can see in complete darkness"), vector(1))], MODEL)
    assert index.view(generation).base_generation == first.base_generation  # one change: a delta
    generation, _ = store.put_reviews([(review("The Great Wall is visible from space"), vector(2))], MODEL)
    during = index.view(generation)  # two: answered at once (from the delta), rebuilt beside it
    assert during.size == 2
    index.wait_for_rebuild(timeout=30)
    after = index.view(generation)
    assert after.base_generation == generation and after.changed == 0 and after.size == 2
    [[(seq, _), *_]] = after.search(["great wall visible from space"], vector(2)[None, :], 5)
    assert store.by_seq([seq])[seq].claim == "The Great Wall is visible from space"


@pytest.mark.parametrize(
    ("claim", "covered"),
    [
        ("Russia launched 500 drones at Kyiv in one night", True),  # silent on the date: still the claim
        ("Russia launched 133 drones at Kyiv in one night", False),  # another figure
        ("Russia launched 500 drones at Kyiv in 2023", False),  # another year
    ],
)
def test_a_figure_or_date_stated_differently_is_another_claim(claim, covered):
    from index.reviews import same_claim

    reviewed = review("Russia launched 500 drones at Kyiv in 2024")
    [[decision]] = same_claim.decide([claim], [[(reviewed, 0.95)]])
    assert decision is covered


# ---- the same-claim decision (pure: no model) ----------------------------------------------


def test_a_review_that_stands_apart_is_the_same_claim_and_one_among_its_topic_is_not():
    """The decision's main signal: the same claim stands apart from the other reviews of its
    topic; a same-topic review among equally near ones does not, however near."""
    from index.reviews import same_claim

    claim = "The polar bear population has been growing."
    apart = [(review("Polar bear numbers have grown in recent decades"), 0.80), (review("Arctic ice is thin"), 0.45)]
    crowd = [
        (review("A polar bear attacked a campsite in Canada"), 0.62),
        (review("Polar bears are drowning as the ice melts"), 0.61),
        (review("A photograph shows a starving polar bear"), 0.60),
    ]
    assert same_claim.decide([claim, claim], [apart, crowd]) == [[True, False], [False, False, False]]


def test_the_model_is_monotone_in_every_signal_and_the_veto_wins():
    from index.reviews.same_claim import FEATURES, MODEL, PairSignals

    base = PairSignals(0.7, 0.15, 0.5, 0.5, False, False)
    p = MODEL.probability(base)
    assert all(w > 0 for w in MODEL.weights) and len(MODEL.weights) == len(FEATURES)
    for name in FEATURES:
        value = getattr(base, name)
        raised = dataclasses.replace(base, **{name: True if isinstance(value, bool) else value + 0.1})
        assert MODEL.probability(raised) > p, name
    certain = PairSignals(0.99, 0.5, 1.0, 1.0, True, False)
    assert MODEL.decide(certain) and not MODEL.decide(dataclasses.replace(certain, differs=True))
    assert 0.5 <= MODEL.cut < 1


def test_the_signals_of_a_pair():
    from index.reviews.same_claim import pair_signals

    s = pair_signals(
        "Homicides increased by 17% in America's fifty largest cities last year.",
        "In 2015, homicides increased by 17 percent in America's 50 largest cities.",
        "In 2015, homicides increased by 17 percent in America's 50 largest cities. Trump on crime",
        0.83,
        [0.70, 0.61],
    )
    assert s.lead == pytest.approx(0.13) and s.shared_figure and not s.differs
    assert 0.5 < s.claim_covered <= 1 and 0.5 < s.review_covered <= 1
    assert pair_signals("a b", "c", "c", 0.4, []).lead == pytest.approx(0.4)  # alone: its own cosine


def test_reasons_an_editor_reads():
    from index.reviews.same_claim import pair_signals, reasons, same_person, speaker_reason

    reviewed = dataclasses.replace(
        review("Homicides increased by 17 percent in America's 50 largest cities"), claimant="Donald Trump"
    )
    claim = "Homicides last year increased by 17% in America's fifty largest cities."
    s = pair_signals(claim, reviewed.claim, reviewed.match_text, 0.86, [0.6])
    said = reasons(s)
    assert said[0] == "the same figure: 17%" and "a close paraphrase (similarity 0.86)" in said
    assert any("stands apart" in r for r in said)
    assert speaker_reason("TRUMP", reviewed) == "the same speaker: Donald Trump"
    assert speaker_reason("MODERATOR", reviewed) is None and speaker_reason(None, reviewed) is None
    assert same_person("President Donald J. Trump", "trump") and not same_person("", "Trump")


def test_the_texts_are_read_only_where_the_decision_could_say_yes():
    """`could_reach_cut` bounds the decision from above: a pair it rules out is never the same
    claim, whatever its words and figures (so skipping them changes no answer)."""
    from index.reviews.same_claim import MODEL, PairSignals

    rng = np.random.default_rng(0)
    for cosine, lead, claim_cov, review_cov, figure in zip(
        rng.uniform(0, 1, 2000), rng.uniform(-0.5, 0.8, 2000), rng.uniform(0, 1, 2000),
        rng.uniform(0, 1, 2000), rng.integers(0, 2, 2000), strict=True,
    ):  # fmt: skip
        s = PairSignals(cosine, lead, claim_cov, review_cov, bool(figure), False)
        assert MODEL.could_reach_cut(cosine, lead) or not MODEL.decide(s)
    assert not MODEL.could_reach_cut(0.3, -0.1) and MODEL.could_reach_cut(0.9, 0.3)


@pytest.mark.parametrize("url", ["http://\x85\x85", "https://a\u2028b", "http://x\xa0y"])
def test_a_url_with_any_kind_of_whitespace_is_refused_as_the_spec_says(url):
    """Python's whitespace and the spec's regex agree (schemathesis found 'http://\\x85…' accepted
    by the spec, then normalised to 'http://' and refused)."""
    from service.schemas import _URL as spec_url

    with pytest.raises(ReviewError, match="url is not an http"):
        review(url=url)
    assert spec_url.regex.fullmatch(url) is None
