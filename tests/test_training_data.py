"""The judge's training-data makers in scripts/train_nli.py: pure functions, no model."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import train_nli
from train_nli import Pair, hard_neutrals, negated_pairs


def test_a_supported_claim_becomes_a_negated_premise_pair_of_each_label():
    pair = Pair(
        "Evan Rachel Wood (born September 7, 1987) is an American actress and musician.",
        "Evan Rachel Wood is an American actress.",
        "entailment",
        "fever",
    )
    made = negated_pairs([pair])
    negated = "Evan Rachel Wood (born September 7, 1987) is not an American actress and musician."
    assert made == [
        Pair(negated, pair.hypothesis, "contradiction", "fever_negated"),
        Pair(negated, "Evan Rachel Wood is not an American actress.", "entailment", "fever_negated"),
    ]


def test_negation_needs_the_claims_own_words_once_in_the_evidence_and_a_supported_claim():
    def make(premise: str, claim: str, label: str = "entailment") -> list[Pair]:
        return negated_pairs([Pair(premise, claim, label, "fever")])

    assert make("Paris is the capital of France.", "Paris is the capital of France.", "contradiction") == []
    assert make("Paris is France's capital.", "Paris is the capital of France.") == []  # other words
    assert make("Paris is the capital. Paris is the capital.", "Paris is the capital of France.") == []  # twice
    assert make("Paris is not the capital of France.", "Paris is not the capital of France.") == []  # negated
    assert make("It was the capital.", "Was it the capital?") == []  # no subject before the auxiliary
    # "is the capital" is found only as whole words: "this the capital" does not count.
    assert make("Paris, this the capital of France", "Paris is the capital of France.") == []


def test_hard_neutrals_pair_a_claim_with_other_claims_evidence_up_to_per_claim():
    rows = [
        ("The river Alder floods the town of Brixby every spring.", "The Alder floods Brixby.", "entailment"),
        ("The river Alder freezes over at Brixby every winter.", "The Alder freezes at Brixby.", "entailment"),
        ("The river Alder is crossed by the old bridge at Brixby.", "A bridge crosses the Alder.", "entailment"),
        (
            "Brixby town council meets on the banks of the river Alder.",
            "Brixby's council meets by the Alder.",
            "entailment",
        ),
        ("The Alder bridge at Brixby was rebuilt in stone.", "The Alder bridge was rebuilt.", "contradiction"),
    ]
    pairs = [Pair(p, h, label, "toy") for p, h, label in rows]
    for per_claim in (1, 2):
        mined = hard_neutrals(pairs, 10**6, random.Random(0), per_claim=per_claim)
        own = {h: p for p, h, _ in rows}
        by_claim: dict[str, int] = {}
        for pair in mined:
            assert pair.label == "neutral" and pair.source == "toy_hard_neutral"
            assert pair.premise != own[pair.hypothesis]  # never the claim's own evidence
            by_claim[pair.hypothesis] = by_claim.get(pair.hypothesis, 0) + 1
        assert by_claim and max(by_claim.values()) <= per_claim
    assert max(by_claim.values()) == 2


def test_overlap_features_see_coverage_missing_numbers_and_one_sided_negation():
    pairs = [
        Pair("Paris is the capital of France.", "Paris is the capital of France.", "entailment", "t"),
        Pair("The tower was built in 1889.", "The tower was not built in 1920.", "contradiction", "t"),
        Pair("Bananas are yellow.", "Paris is the capital of France.", "neutral", "t"),
    ]
    rows = train_nli.overlap_features(pairs).toarray()
    covered, used, missing, numbers_missing, negation_claim_only, negation_premise_only = rows[:, :6].T
    assert covered.tolist()[0] == 1.0 and covered.tolist()[2] == 0.0 and used.tolist()[0] == 1.0
    assert missing.tolist()[0] == 0.0 and missing.tolist()[2] > 0
    assert numbers_missing.tolist() == [0.0, 1.0, 0.0]
    assert negation_claim_only.tolist() == [0.0, 1.0, 0.0] and negation_premise_only.tolist() == [0.0, 0.0, 0.0]
    assert rows[:, 6:].sum(axis=1).tolist() == [1.0, 1.0, 1.0]  # one coverage bucket each
    assert rows[0, 10] == 1.0 and rows[2, 6] == 1.0
