"""Quality figures as pure functions: macro-F1, per-class precision/recall, calibration error."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np


def precision_recall(gold: Sequence[Hashable], predicted: Sequence[Hashable], label: Hashable) -> tuple[float, float]:
    """(precision, recall) of one label; 0.0 where undefined (nothing predicted, or none gold)."""
    tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
    said = sum(1 for p in predicted if p == label)
    real = sum(1 for g in gold if g == label)
    return (tp / said if said else 0.0), (tp / real if real else 0.0)


def macro_f1(gold: Sequence[Hashable], predicted: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
    """Mean F1 over the labels that occur in gold or predictions (a label absent from both is skipped)."""
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if p == label and g != label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


def balanced_accuracy(gold: Sequence[Hashable], predicted: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
    """Mean recall over `labels` (each must occur in gold): any other prediction counts as wrong."""
    recalls = [precision_recall(gold, predicted, label)[1] for label in labels if label in gold]
    return sum(recalls) / len(recalls) if recalls else 0.0


def reliability_bins(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> list[dict]:
    """Equal-width bins of confidence: count, mean confidence, accuracy (empty bins left out)."""
    c = np.asarray(confidence, dtype=np.float64)
    k = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(c, edges[1:-1], right=True), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            out.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": int(mask.sum()),
                        "confidence": float(c[mask].mean()), "accuracy": float(k[mask].mean())})  # fmt: skip
    return out


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Σ over bins of (share of items) × |accuracy − mean confidence|."""
    n = len(confidence)
    if not n:
        return 0.0
    return float(
        sum(b["count"] / n * abs(b["accuracy"] - b["confidence"]) for b in reliability_bins(confidence, correct, bins))
    )


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of `logits / temperature`."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(logits: np.ndarray, gold: Sequence[int]) -> float:
    """The softmax temperature minimising negative log-likelihood (grid search, 0.25 to 5)."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(gold)

    def nll(t: float) -> float:
        s = z / t
        s = s - s.max(axis=1, keepdims=True)
        log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(y)), y].mean())

    grid = np.exp(np.linspace(np.log(0.25), np.log(5.0), 200))
    return float(min(grid, key=nll))


def fit_isotonic(scores: Sequence[float], correct: Sequence[bool], min_block: int = 1) -> list[tuple[float, float]]:
    """Monotone map from a raw score to P(correct) (pool-adjacent-violators), as (score, probability) knots.

    `min_block`: each knot rests on at least this many items; smaller blocks are pooled with
    their smaller neighbour (which keeps the map monotone). Without it the end blocks of a
    few items give knots of 0 or 1, confidently wrong on new claims.
    Apply with `apply_isotonic`: linear between knots, flat beyond the ends.
    """
    order = np.argsort(np.asarray(scores, dtype=np.float64), kind="stable")
    x = np.asarray(scores, dtype=np.float64)[order]
    y = np.asarray(correct, dtype=np.float64)[order]
    blocks: list[list[float]] = []  # [sum_y, count, min_x, max_x]
    for xi, yi in zip(x, y, strict=True):
        blocks.append([yi, 1.0, xi, xi])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            s, n, _, hi = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += n
            blocks[-1][3] = hi
    while len(blocks) > 1:
        i = min(range(len(blocks)), key=lambda k: blocks[k][1])
        if blocks[i][1] >= min_block:
            break
        last = len(blocks) - 1
        j = i - 1 if i == last or (i > 0 and blocks[i - 1][1] < blocks[i + 1][1]) else i + 1
        a, b = min(i, j), max(i, j)
        blocks[a] = [blocks[a][0] + blocks[b][0], blocks[a][1] + blocks[b][1], blocks[a][2], blocks[b][3]]
        del blocks[b]
    return [(round(float((lo + hi) / 2), 4), round(float(s / n), 4)) for s, n, lo, hi in blocks]


def apply_isotonic(knots: Sequence[tuple[float, float]], score: float) -> float:
    if not knots:
        return score
    xs = [k[0] for k in knots]
    ys = [k[1] for k in knots]
    return float(np.interp(score, xs, ys))
