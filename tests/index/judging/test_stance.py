"""The verdict rules (index/judging/stance.py) and quality metrics (index/common/metrics.py): pure, no model loaded."""

import dataclasses
import itertools
import math

import numpy as np
import pytest

from index.common.metrics import (
    apply_isotonic,
    balanced_accuracy,
    expected_calibration_error,
    fit_isotonic,
    fit_temperature,
    macro_f1,
    precision_recall,
)
from index.judging.checks import ENTITY_MISSING, POLARITY_MISMATCH, QUANTITY_MISMATCH, Finding, check_quantities
from index.judging.nli import NliScores
from index.judging.stance import (
    CONTRADICTED,
    CONTRADICTS,
    DEGRADED_RULES,
    JUDGE_WITHIN_TOP_COSINE,
    JUDGED_CANDIDATES,
    MIXED,
    NLI_CONTRADICTION,
    NLI_ENTAILMENT,
    NOT_FOUND,
    RELATED,
    SUBSTITUTION_CONTRADICTION,
    SUPPORTED,
    SUPPORTS,
    Context,
    DegradedRules,
    Evidence,
    VerdictRules,
    confidence,
    decide_verdict,
    decided_first,
    judge,
    judge_without_model,
    should_judge,
    substitutions,
)
from index.storage.archive import ArticleRef

RULES = VerdictRules(support_probability=0.6, contradiction_probability=0.7, mixed_probability=0.8)
ENTAILS = NliScores(entailment=0.9, neutral=0.05, contradiction=0.05)
CONTRADICTS_IT = NliScores(entailment=0.05, neutral=0.1, contradiction=0.85)
NEUTRAL = NliScores(entailment=0.2, neutral=0.7, contradiction=0.1)
UNSURE = NliScores(entailment=0.55, neutral=0.1, contradiction=0.35)
DRONES = "The Ukrainian air force said Russia had launched 133 drones across the country overnight."


def _evidence(stance: str, strength: float, nli: NliScores | None = None, text: str = "s") -> Evidence:
    ref = ArticleRef("a", "t", None, None)
    return Evidence(text, 0.7, ref, 0, 1, Context(None, None), stance=stance, strength=strength, nli=nli)


# --- judge: one sentence ----------------------------------------------------------------


def test_the_model_decides_support_and_contradiction_at_the_fitted_probabilities():
    supported = judge(ENTAILS, [], rules=RULES)
    assert (supported.stance, supported.strength) == (SUPPORTS, 0.9)
    assert supported.reasons[-1].kind == NLI_ENTAILMENT
    contradicted = judge(CONTRADICTS_IT, [], rules=RULES)
    assert (contradicted.stance, contradicted.strength) == (CONTRADICTS, 0.85)
    assert contradicted.reasons[-1].kind == NLI_CONTRADICTION
    assert judge(NEUTRAL, [], rules=RULES).stance == RELATED
    # 0.55 entailment is below the 0.6 cut-off: on-topic but not saying it.
    assert judge(UNSURE, [], rules=RULES).stance == RELATED


def test_similarity_never_gives_a_stance_when_a_judge_is_loaded():
    # Read by the judge and neutral: related, however similar.
    assert judge(NEUTRAL, [], rules=RULES).stance == RELATED
    # Not read (below the judged candidates): related too, even with a figure that differs;
    # the degraded rules are for a service with no judge at all.
    mismatch = [Finding(QUANTITY_MISMATCH, "500", "133", "the claim says 500; the source says 133")]
    unread = judge(None, mismatch, rules=RULES)
    assert (unread.stance, unread.strength, unread.reasons) == (RELATED, 0.0, mismatch)


def test_names_and_polarity_findings_explain_but_never_decide():
    findings = [
        Finding(ENTITY_MISSING, "Global", "", "the source does not mention Global"),
        Finding(POLARITY_MISMATCH, "", "not", "the source says the opposite ('not')"),
    ]
    decision = judge(ENTAILS, findings, rules=RULES)
    assert decision.stance == SUPPORTS
    assert decision.reasons[:2] == findings  # still shown to the editor


def test_a_different_figure_vetoes_only_when_the_substitution_test_confirms_the_same_statement():
    claim = "Russia launched 500 drones across Ukraine overnight."
    findings = check_quantities(claim, DRONES)
    assert [f.kind for f in findings] == [QUANTITY_MISMATCH]
    ((finding, changed),) = substitutions(findings, claim)
    assert changed == "Russia launched 133 drones across Ukraine overnight."
    # Same statement with the source's figure: entailed, so the claim's figure is contradicted,
    # even though the model alone read the original pair as support (it is weak on figures).
    confirmed = judge(ENTAILS, findings, {(finding.claim, finding.evidence): ENTAILS}, rules=RULES)
    assert confirmed.stance == CONTRADICTS
    assert confirmed.reasons[-1].kind == SUBSTITUTION_CONTRADICTION
    assert "133" in confirmed.reasons[-1].message and "500" in confirmed.reasons[-1].message
    # Another figure about another thing ("500 scientists" vs "15,364 scientists" of another
    # letter): the substituted claim is not entailed either, so no veto; the model decides.
    other_thing = judge(NEUTRAL, findings, {(finding.claim, finding.evidence): NEUTRAL}, rules=RULES)
    assert other_thing.stance == RELATED


def test_substitution_puts_the_sources_figure_in_the_claim():
    claim = "Vance held his first meeting with Zelensky on Thursday."
    findings = [Finding("date_mismatch", "Thursday", "Friday", "the claim says Thursday; the source says Friday")]
    assert substitutions(findings, claim) == [(findings[0], "Vance held his first meeting with Zelensky on Friday.")]
    # Informative findings are never substituted (a missing name included: see substitutions).
    assert substitutions([Finding(ENTITY_MISSING, "Zelensky", "", "…")], claim) == []


def test_without_a_model_the_verdict_falls_back_to_similarity_and_precise_checks():
    mismatch = [Finding(QUANTITY_MISMATCH, "500", "133", "the claim says 500; the source says 133")]
    rules = DegradedRules(support_cosine=0.6, same_topic_cosine=0.7)
    assert judge_without_model([], 0.8, rules).stance == SUPPORTS
    assert judge_without_model([], 0.59, rules).stance == RELATED
    assert judge_without_model(mismatch, 0.7, rules).stance == CONTRADICTS
    assert judge_without_model(mismatch, 0.69, rules).stance == RELATED  # similar, but not enough to be the same topic
    assert judge_without_model(mismatch, 0.65, rules).stance == RELATED  # a differing figure never supports
    # The shipped default: its support cut-off, inclusive.
    assert judge_without_model([], DEGRADED_RULES.support_cosine).stance == SUPPORTS
    assert judge_without_model([], DEGRADED_RULES.support_cosine - 0.001).stance == RELATED


def test_without_a_model_confidence_comes_from_the_degraded_map_of_cosines():
    rules = DegradedRules(confidence_knots={SUPPORTED: ((0.6, 0.3), (0.9, 0.7)), NOT_FOUND: ((0.2, 0.4), (0.6, 0.8))})
    close = dataclasses.replace(_evidence(SUPPORTS, 0.9), score=0.9)
    assert decide_verdict([close], rules)[:2] == (SUPPORTED, 0.7)
    # not_found: the strength is 1 − the best cosine (0.6 here), not the judge's readings.
    far = dataclasses.replace(_evidence(RELATED, 0.0), score=0.4)
    assert decide_verdict([far], rules)[:2] == (NOT_FOUND, 0.8)
    # Both sides at least mixed_cosine similar: mixed.
    against = dataclasses.replace(_evidence(CONTRADICTS, 0.85), score=0.85)
    assert decide_verdict([close, against], rules)[0] == MIXED
    assert decide_verdict([close, against], dataclasses.replace(rules, mixed_cosine=0.9))[0] == SUPPORTED


def test_only_the_first_candidates_above_the_floor_are_judged():
    assert should_judge(0, 0.9, 0.9)
    assert not should_judge(JUDGED_CANDIDATES, 0.9, 0.9)
    assert not should_judge(0, -0.5, -0.5)
    # Far below the claim's best candidate: not read, even within the first few.
    assert should_judge(1, 0.9 - JUDGE_WITHIN_TOP_COSINE, 0.9)
    assert not should_judge(1, 0.89 - JUDGE_WITHIN_TOP_COSINE, 0.9)


# --- the verdict over all the evidence ----------------------------------------------------


@pytest.mark.parametrize(
    ("items", "verdict", "decided_by"),
    [
        ([(SUPPORTS, 0.9), (CONTRADICTS, 0.7)], SUPPORTED, 0),
        ([(SUPPORTS, 0.65), (CONTRADICTS, 0.75)], CONTRADICTED, 1),
        ([(SUPPORTS, 0.85), (CONTRADICTS, 0.9)], MIXED, 1),
        ([(RELATED, 0.0), (RELATED, 0.0)], NOT_FOUND, None),
        ([], NOT_FOUND, None),
    ],
)
def test_verdict_from_stances(items, verdict, decided_by):
    evidence = [_evidence(stance, strength, NEUTRAL) for stance, strength in items]
    got, conf, index = decide_verdict(evidence, RULES)
    assert (got, index) == (verdict, decided_by)
    assert 0.0 <= conf <= 1.0


def test_confidence_follows_the_fitted_map_and_grows_with_the_deciding_strength():
    rules = VerdictRules(confidence_knots={SUPPORTED: ((0.6, 0.55), (0.9, 0.8), (0.99, 0.95))})
    low = decide_verdict([_evidence(SUPPORTS, 0.6)], rules)[1]
    high = decide_verdict([_evidence(SUPPORTS, 0.95)], rules)[1]
    assert (low, high) == (0.55, pytest.approx(0.8 + 0.15 * 5 / 9, abs=1e-3))
    assert confidence(SUPPORTED, 0.1, rules) == 0.55  # flat beyond the ends
    assert confidence(CONTRADICTED, 0.77, rules) == 0.77  # no map fitted: the strength itself


def test_not_found_is_confident_when_every_reading_is_neutral():
    weak = [_evidence(RELATED, 0.0, UNSURE)]
    quiet = [_evidence(RELATED, 0.0, NEUTRAL)]
    assert decide_verdict(quiet, RULES)[1] > decide_verdict(weak, RULES)[1]


# --- metrics -------------------------------------------------------------------------------


def test_precision_recall_macro_f1_and_balanced_accuracy():
    gold = ["s", "s", "c", "c", "n"]
    predicted = ["s", "c", "c", "n", "n"]
    assert precision_recall(gold, predicted, "c") == (0.5, 0.5)
    assert macro_f1(gold, predicted, ["s", "c", "n"]) == pytest.approx((2 / 3 + 0.5 + 2 / 3) / 3)
    assert balanced_accuracy(gold, predicted, ["s", "c"]) == 0.5


def test_expected_calibration_error():
    assert expected_calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert expected_calibration_error([0.9] * 10, [False] * 10) == pytest.approx(0.9)


def test_isotonic_map_is_monotone_and_matches_the_rates():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 1, 2000)
    correct = rng.uniform(0, 1, 2000) < scores**2
    knots = fit_isotonic(scores.tolist(), correct.tolist())
    values = [apply_isotonic(knots, x) for x in np.linspace(0, 1, 50)]
    assert all(b >= a for a, b in itertools.pairwise(values))
    assert apply_isotonic(knots, 0.8) == pytest.approx(0.64, abs=0.08)


def test_isotonic_blocks_rest_on_enough_items():
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    correct = [False, False, True, False, True, True, True, True, True, True]
    assert fit_isotonic(scores, correct)[0][1] == 0.0  # two items make a knot of certainty
    knots = fit_isotonic(scores, correct, min_block=4)
    assert [k[1] for k in knots] == sorted(k[1] for k in knots)
    assert 0.0 < knots[0][1] < 1.0 and len(knots) <= 2


def test_temperature_fit_recovers_an_overconfident_models_temperature():
    rng = np.random.default_rng(1)
    true_logits = rng.normal(0, 1.5, (3000, 3))
    p = np.exp(true_logits) / np.exp(true_logits).sum(axis=1, keepdims=True)
    gold = [int(rng.choice(3, p=row)) for row in p]
    fitted = fit_temperature(true_logits * 2.0, gold)  # twice as sharp as the truth
    assert math.isclose(fitted, 2.0, rel_tol=0.15)


def test_decided_evidence_comes_first_and_each_part_keeps_its_order():
    related = _evidence(RELATED, 0.0, NEUTRAL, "first")
    unread = _evidence(SUPPORTS, 0.8, None, "degraded reading")  # not the judge's: stays put
    supports = _evidence(SUPPORTS, 0.9, ENTAILS, "supports")
    contradicts = _evidence(CONTRADICTS, 0.7, CONTRADICTS_IT, "contradicts")
    ordered = decided_first([related, unread, supports, contradicts])
    assert [e.text for e in ordered] == ["supports", "contradicts", "first", "degraded reading"]


def test_the_evidence_window_keeps_the_run_of_words_that_holds_the_claim():
    from index.judging.stance import evidence_window

    sentence = "Officials in the capital said on Monday, after a long night, that Russia launched 133 drones."
    assert evidence_window(sentence, "Russia launched 133 drones", words=None) == sentence
    assert evidence_window(sentence, "Russia launched 133 drones", words=40) == sentence
    assert evidence_window(sentence, "Russia launched 133 drones", words=5) == "that Russia launched 133 drones."
    assert evidence_window(sentence, "Officials said", words=3) == "Officials in the"  # the first of the best
