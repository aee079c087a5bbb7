"""Optional NLI cross-encoder: entailment / contradiction probabilities for (evidence, claim) pairs.

No NLI model can be downloaded here, so it is off by default. Point `NLI_MODEL` at a local
directory holding a sentence-transformers CrossEncoder trained for NLI whose config names
its labels (e.g. cross-encoder/nli-deberta-v3-small, cross-encoder/nli-MiniLM2-L6-H768,
cross-encoder/nli-distilroberta-base, saved with `CrossEncoder(...).save(DIR)`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NliScores:
    entailment: float
    contradiction: float
    neutral: float

    @property
    def label(self) -> str:
        scores = {"entailment": self.entailment, "contradiction": self.contradiction, "neutral": self.neutral}
        return max(scores, key=scores.get)


class NliScorer:
    """Wraps a CrossEncoder; maps its labels by name, whatever their order in the model."""

    def __init__(self, model, name: str):
        self.model = model
        self.name = name
        labels = {int(i): str(label).lower() for i, label in model.model.config.id2label.items()}
        self.index = {}
        for wanted in ("entailment", "contradiction", "neutral"):
            found = [i for i, label in labels.items() if label.startswith(wanted[:7])]
            if len(found) != 1:
                raise ValueError(f"NLI model {name} has no single '{wanted}' label (labels: {labels})")
            self.index[wanted] = found[0]

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[NliScores]:
        """Scores for (premise = evidence sentence, hypothesis = claim) pairs."""
        if not pairs:
            return []
        probabilities = self.model.predict(list(pairs), apply_softmax=True, show_progress_bar=False)
        return [
            NliScores(
                entailment=float(row[self.index["entailment"]]),
                contradiction=float(row[self.index["contradiction"]]),
                neutral=float(row[self.index["neutral"]]),
            )
            for row in probabilities
        ]


def load_nli(model_path: str) -> NliScorer:
    """Load a local NLI CrossEncoder directory (never from a hub)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not Path(model_path).is_dir():
        raise FileNotFoundError(f"NLI model directory not found: {model_path}")
    from sentence_transformers import CrossEncoder

    return NliScorer(CrossEncoder(model_path, device="cpu", local_files_only=True), Path(model_path).name)
