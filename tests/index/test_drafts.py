"""Checking a whole draft: the splitter's offsets, the claim classifier on its labelled set, the summary
(pure, no model), and the route, its limits and the CLI (with the real model)."""

from __future__ import annotations

import itertools
import json

import pytest

from index.drafts import (
    DATE,
    FIGURE,
    NAME,
    NO_FACT,
    OPINION,
    QUESTION,
    QUOTATION,
    ClaimReason,
    DraftSentence,
    classify_sentence,
    split_draft,
    split_transcript,
    summarise,
)
from index.judging.stance import CONTRADICTED, MIXED, NOT_FOUND, SUPPORTED
from tests.conftest import ROOT, run_cli

LABELLED = ROOT / "tests" / "data" / "draft_sentences.jsonl"
# A draft about the sample article: a supported, a contradicted and an unsupported claim,
# and sentences that are not claims.
DRAFT = (
    "Russia launched 133 drones overnight, the Ukrainian air force said.\n\n"
    "Is peace any closer? Vance held his first meeting with Zelensky on Friday.\n\n"
    "Russia launched 500 drones across the country overnight. "
    "The Bank of Canada raised interest rates by 2 percent on Monday. "
    '"We will see," she said.'
)


def _scores(rows: list[dict]) -> tuple[float, float]:
    said = [(classify_sentence(r["text"]).is_claim, r["is_claim"]) for r in rows]
    tp = sum(p and t for p, t in said)
    return tp / sum(p for p, _ in said), tp / sum(t for _, t in said)


def test_claim_classifier_precision_and_recall_on_its_labelled_sets():
    """The figures docs/api.md ("Checking a draft") gives. `dev` was written before the rules and read while writing
    them; `test` was written after, by the same hand, and never used to change a rule;
    `test2` was written after a flaw was noticed (a source's single name opening the
    sentence), aimed at it, and labelled before the rule was changed (recall 0.682 before)."""
    rows = [json.loads(line) for line in LABELLED.read_text("utf-8").splitlines()]
    split = {name: [r for r in rows if r["split"] == name] for name in ("dev", "test", "test2")}
    sizes = [(len(s), sum(r["is_claim"] for r in s)) for s in split.values()]
    assert sizes == [(103, 54), (60, 31), (40, 22)] and len(rows) == 203
    assert [round(x, 3) for x in _scores(split["dev"])] == [1.0, 1.0]
    assert [round(x, 3) for x in _scores(split["test"])] == [0.968, 0.968]
    assert [round(x, 3) for x in _scores(split["test2"])] == [1.0, 0.955]
    sample = (ROOT / "tests" / "data" / "dev_claims.jsonl").read_text("utf-8")
    assert not any(r["text"] in sample for r in rows)  # apart from the sample article's claims


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("The council voted 7 to 2 to raise bus fares by 15 cents.", FIGURE),
        ("The vaccine was approved in December 2020.", DATE),
        ("Christine Lagarde said the bank would keep rates high.", NAME),  # a named source's statement
        ("Okafor told the committee that the terminal would not be sold.", NAME),  # one name, opening the sentence
        ("He said the plan would fail.", OPINION),  # a pronoun is no source
        ("Could rates fall before the summer?", QUESTION),
        ('"This is the fight of our generation," she said.', QUOTATION),
        ('"We lost 300 homes," the fire chief said.', FIGURE),  # a quote with a figure is checkable
        ("The central bank should cut rates now.", OPINION),
        ("Farmers gathered outside.", NO_FACT),  # a capital that only starts the sentence is not a name
        ("It was a long night.", NO_FACT),
    ],
)
def test_each_reason_kind(sentence, kind):
    reason = classify_sentence(sentence)
    assert reason.kind == kind, reason
    assert reason.message


def test_split_draft_keeps_every_sentence_with_offsets_into_the_draft():
    spans = split_draft(DRAFT)
    texts = [DRAFT[s:e] for s, e in spans]
    assert texts[:3] == [
        "Russia launched 133 drones overnight, the Ukrainian air force said.",
        "Is peace any closer?",
        "Vance held his first meeting with Zelensky on Friday.",
    ]
    assert texts[-1] == '"We will see," she said.'
    assert len(spans) == 6 and all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert split_draft("Yes.\n\n\n  No.  ") == [(0, 4), (9, 12)]  # short fragments stay: the draft comes back whole
    assert split_draft("   ") == []


def _verified(verdict: str):
    from types import SimpleNamespace

    return SimpleNamespace(verdict=verdict)


TRANSCRIPT = (
    "MODERATOR\tGood evening, and welcome to the third debate.\n"
    "MODERATOR\tVice President Biden, I'm going to stay with you.\n"
    "BIDEN\tRussia launched 133 drones overnight. We spend twice as much per capita on health care as any "
    "other nation.\n"
    "\n"
    "MODERATOR\tThank you. Governor, your response?\n"
)


def test_a_transcript_is_split_by_turn_and_keeps_each_sentences_speaker():
    spans = split_transcript(TRANSCRIPT)
    said = [(TRANSCRIPT[s:e], who) for s, e, who in spans]
    assert said == [
        ("Good evening, and welcome to the third debate.", "MODERATOR"),
        ("Vice President Biden, I'm going to stay with you.", "MODERATOR"),
        ("Russia launched 133 drones overnight.", "BIDEN"),
        ("We spend twice as much per capita on health care as any other nation.", "BIDEN"),
        ("Thank you.", "MODERATOR"),
        ("Governor, your response?", "MODERATOR"),
    ]
    # Prose, or a draft where some line is not a turn, is not a transcript.
    assert split_transcript(DRAFT) is None
    assert split_transcript(TRANSCRIPT + "A line of prose with no speaker.\n") is None
    assert split_transcript("A sentence. Another.\tNot a speaker\n") is None


def test_the_route_checks_a_transcript_and_keeps_the_speaker(client):
    response = client.post("/v1/drafts/check", json={"text": TRANSCRIPT})
    assert response.status_code == 200, response.json
    sentences = response.json["sentences"]
    assert [TRANSCRIPT[s["start"] : s["end"]] for s in sentences] == [s["text"] for s in sentences]
    assert [s["speaker"] for s in sentences][:3] == ["MODERATOR", "MODERATOR", "BIDEN"]
    procedure = [s for s in sentences if s["speaker"] == "MODERATOR"]  # greetings, questions, procedure
    assert not any(s["verification"] and s["verification"]["already_checked"] for s in procedure), procedure
    assert [s["reason"]["kind"] for s in procedure[1:]] == [OPINION, NO_FACT, QUESTION]
    drones = next(s for s in sentences if s["text"].startswith("Russia launched 133"))
    assert drones["is_claim"] and drones["verification"]["verdict"] == SUPPORTED
    prose = client.post("/v1/drafts/check", json={"text": DRAFT}).json["sentences"]
    assert {s["speaker"] for s in prose} == {None}


def test_summary_counts_and_puts_contradicted_then_mixed_then_not_found_first():
    claim, not_claim = ClaimReason(FIGURE, "f"), ClaimReason(QUESTION, "q")
    sentences = [
        DraftSentence(0, 1, "a", claim, _verified(NOT_FOUND)),
        DraftSentence(2, 3, "b", not_claim),
        DraftSentence(4, 5, "c", claim, _verified(SUPPORTED)),
        DraftSentence(6, 7, "d", claim, _verified(MIXED)),
        DraftSentence(8, 9, "e", claim, _verified(CONTRADICTED)),
        DraftSentence(10, 11, "f", claim, _verified(CONTRADICTED)),
    ]
    counts, look_first = summarise(sentences)
    assert counts == {SUPPORTED: 1, CONTRADICTED: 2, MIXED: 1, NOT_FOUND: 1, "not_a_claim": 1}
    assert look_first == [4, 5, 3, 0]


def test_the_route_checks_each_claim_of_a_draft(client):
    response = client.post("/v1/drafts/check", json={"text": DRAFT, "top_k": 3})
    assert response.status_code == 200, response.json
    body = response.json
    sentences = body["sentences"]
    assert [DRAFT[s["start"] : s["end"]] for s in sentences] == [s["text"] for s in sentences]
    by_text = {s["text"]: s for s in sentences}
    assert by_text["Is peace any closer?"]["is_claim"] is False
    assert by_text["Is peace any closer?"]["verification"] is None
    assert by_text['"We will see," she said.']["reason"]["kind"] == "quotation"
    verdicts = {s["text"]: s["verification"]["verdict"] for s in sentences if s["is_claim"]}
    assert verdicts["Russia launched 133 drones overnight, the Ukrainian air force said."] == SUPPORTED
    assert verdicts["Russia launched 500 drones across the country overnight."] == CONTRADICTED
    assert verdicts["The Bank of Canada raised interest rates by 2 percent on Monday."] == NOT_FOUND
    decided = by_text["Russia launched 500 drones across the country overnight."]["verification"]
    evidence = decided["evidence"][decided["decided_by"]]
    assert evidence["article"]["title"] and evidence["end"] > evidence["start"]
    counts = body["summary"]["counts"]
    assert counts["not_a_claim"] == 2 and sum(counts.values()) == len(sentences)
    first = [sentences[i]["verification"]["verdict"] for i in body["summary"]["look_first"]]
    assert first[0] == CONTRADICTED and first == sorted(first, key=[CONTRADICTED, MIXED, NOT_FOUND].index)


def test_published_keeps_later_articles_out(client):
    """The sample article is dated 2025-02-14: a draft dated before it finds nothing in it."""
    draft = {"text": "Russia launched 133 drones across the country overnight."}
    later = client.post("/v1/drafts/check", json={**draft, "published": "2025-03-01"}).json
    earlier = client.post("/v1/drafts/check", json={**draft, "published": "2025-01-01"}).json
    assert later["sentences"][0]["verification"]["verdict"] == SUPPORTED
    assert earlier["sentences"][0]["verification"]["evidence"] == []
    assert earlier["sentences"][0]["verification"]["verdict"] == NOT_FOUND


def test_draft_limits_and_bad_input_are_clear_errors(verifier, sample_index_dir):
    from service import create_app
    from service.config import Settings

    c = create_app(Settings(index_dir=str(sample_index_dir), max_draft_chars=40), verifier=verifier).test_client()
    too_long = c.post("/v1/drafts/check", json={"text": "A sentence of text. " * 3})
    assert too_long.status_code == 422 and "text" in too_long.json["errors"]
    for body in ({}, {"text": "   "}, {"text": "ok\x00"}, {"text": 5}, {"text": "Fine.", "published": "soon"}):
        response = c.post("/v1/drafts/check", json=body)
        assert response.status_code == 422, body
        assert set(response.json) == {"code", "message", "errors"}
    assert c.post("/v1/drafts/check", data="not json", content_type="application/json").status_code == 400
    no_claims = c.post("/v1/drafts/check", json={"text": "Is it? We will see."}).json
    assert [s["is_claim"] for s in no_claims["sentences"]] == [False, False]
    assert no_claims["summary"]["look_first"] == []


@pytest.mark.slow
def test_client_and_cli_check_a_draft_and_the_cli_exits_1_on_a_contradiction(server, tmp_path):
    from client import ClaimCheckClient

    base, _ = server
    checked = ClaimCheckClient(base).check_draft(DRAFT, published="2025-03-01")
    assert [s.text for s in checked.sentences][1] == "Is peace any closer?" and checked.sentences[1].result is None
    worst = checked.sentences[checked.look_first[0]]
    assert worst.result.verdict == CONTRADICTED and "500 drones" in worst.text
    assert checked.counts["not_a_claim"] == 2 and len(checked.claims) == 4
    draft = tmp_path / "draft.txt"
    draft.write_text(DRAFT, encoding="utf-8")
    done = run_cli("--draft", str(draft), "--url", base)
    assert done.returncode == 1, done.stderr
    assert "CONTRADICTED" in done.stdout and "look first at:" in done.stdout
    assert "not a claim: a question" in done.stdout
    clean = run_cli("--draft", "-", "--url", base, "--json", stdin="Russia launched 133 drones overnight.\n")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["sentences"][0]["result"]["verdict"] == SUPPORTED
    assert run_cli("--draft", str(tmp_path / "missing.txt"), "--url", base).returncode == 3
    assert run_cli("--draft", "-", "--url", base, stdin="  \n").returncode == 3


POLITIFACT = ROOT.parent / "shared" / "claim_matching" / "politifact"
# A moderator's greetings, questions and procedure (benchmarks/draft_check.py reads them too).
PROCEDURE = (ROOT / "tests" / "data" / "moderator_lines.txt").read_text("utf-8").splitlines()


@pytest.mark.shared_data
def test_a_debate_transcript_flags_real_repeats_and_never_its_procedure(writable_index_dir, embedder, nli):
    """Dev debate sentences (their PolitiFact checks among 600 checks of the same beat) in a
    transcript with a moderator's greetings, questions and procedure: the procedure is never
    "already checked", and what is flagged is the sentence's own check."""
    import gzip
    import random

    from index.reviews.claimreview import review_from_record
    from index.reviews.same_claim import content_words
    from index.reviews.store import ReviewStore
    from index.storage.archive import Archive
    from index.verify import ClaimVerifier, load_index
    from service import create_app
    from service.config import Settings

    if not (POLITIFACT / "dev_qrels.tsv").is_file():
        pytest.skip(f"needs {POLITIFACT}")
    said = dict(line.split("\t", 1) for line in (POLITIFACT / "train_dev_queries.tsv").read_text("utf-8").splitlines())
    gold: dict[str, set[str]] = {}
    for line in (POLITIFACT / "dev_qrels.tsv").read_text("utf-8").splitlines():
        sid, _, vid, _ = line.split()
        gold.setdefault(sid, set()).add(vid)
    chosen = sorted(gold)[:40]
    with gzip.open(POLITIFACT / "politifact_verified_claims.jsonl.gz", "rt", encoding="utf-8") as lines:
        checks = {r["id"]: r for r in map(json.loads, lines)}
    wanted = set().union(*(gold[s] for s in chosen))
    words = [content_words(said[s]) for s in chosen]
    beat = [
        i for i, r in checks.items() if i not in wanted and any(len(content_words(r["claim"]) & w) >= 3 for w in words)
    ]
    keep = sorted(wanted) + random.Random(0).sample(beat, min(600 - len(wanted), len(beat)))
    reviews = [review_from_record({k: v for k, v in checks[i].items() if k != "id"} | {"id": i}) for i in keep]
    url_of = {r.url: i for r, i in zip(reviews, keep, strict=True)}
    vectors = embedder.encode([r.match_text for r in reviews])
    ReviewStore(Archive.open(writable_index_dir)).put_reviews(list(zip(reviews, vectors, strict=True)), embedder.name)

    turns = []
    for n, sid in enumerate(chosen):
        turns.append(f"MODERATOR\t{PROCEDURE[n % len(PROCEDURE)]}")
        turns.append(f"CANDIDATE\t{' '.join(said[sid].split())}")
    transcript = "\n".join(turns) + "\n"
    verifier = ClaimVerifier(embedder, load_index(writable_index_dir), nli=nli)
    app = create_app(Settings(index_dir=str(writable_index_dir)), verifier=verifier)
    response = app.test_client().post("/v1/drafts/check", json={"text": transcript})
    assert response.status_code == 200, response.get_json()
    sentences = response.get_json()["sentences"]
    flagged = [s for s in sentences if s["verification"] and s["verification"]["already_checked"]]
    assert not [s["text"] for s in flagged if s["speaker"] == "MODERATOR"]
    assert len(flagged) >= 2, "real repeats of checked claims are found"
    sentence_of = {" ".join(said[sid].split()): sid for sid in chosen}
    right = 0
    for s in flagged:
        own = next((sid for text, sid in sentence_of.items() if s["text"] in text), None)
        covering = [url_of[r["url"]] for r in s["verification"]["reviews"] if r["same_claim"]]
        right += own is not None and bool(set(covering) & gold[own])
    assert right >= 0.8 * len(flagged), f"{right} of {len(flagged)} flags are the sentence's own check"
