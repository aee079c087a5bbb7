"""Ship a trained NLI model: ONNX (int8 when it holds dev accuracy), temperature, model card.

    python scripts/export_nli.py --trained var/nli/run1 --out models/nli-minilm-l6

1. Exports the fp32 graph and the int8 graph (`index/judging/nli_export.py`).
2. Scores a fixed sample of every dev split with both; int8 ships if its mean dev
   accuracy is within `--int8-tolerance` (1 point) of fp32's.
3. Fits the softmax temperature on those dev pairs (negative log-likelihood) and reports
   the pair-level calibration error before and after.
4. Writes `nli.json` (with the temperature and the graph's sha256) and `README.md`, the
   model card: data and counts, hyperparameters, per-source dev accuracy and macro-F1,
   calibration, training time on this machine.
5. Writes `selfcheck.json`, the pairs the service reads again at every load (`index/judging/nli.py`).

    python scripts/export_nli.py --self-check --out models/nli-minilm-l6   # only step 5, for a shipped model

The self-check pairs come from the project's own sample: each dev claim
(tests/data/dev_claims.jsonl) against each sentence of the sample article. `SELF_CHECK_PAIRS`
of them are kept: on a CPU whose u8×s8 kernel saturates (no VNNI), the half it misreads most,
so the check is sharp where it matters; the rest spread evenly over the judge's labels.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import numpy as np  # noqa: E402

# Dev splits scored for the card and the int8 decision (per source, a seeded sample).
CARD_SOURCES = (
    "fever", "vitaminc_real", "vitaminc_synthetic", "fnc1", "healthver", "covidfact", "scifact", "fm2", "wice", "snli",
)  # fmt: skip
STRESS_SOURCES = ("fever_symmetric", "fever2_adversarial", "fever_triggers", "anli")


def dev_sample(source: str, n: int, seed: int = 11):
    import gzip
    import random

    from train_nli import NLI_DIR, PINNED, Pair, read_pairs

    name = f"{source}_dev.jsonl.gz"
    if name in PINNED:
        pairs = read_pairs(name)
    else:  # evaluation-only sets, not pinned by the trainer
        with gzip.open(NLI_DIR / name, "rt", encoding="utf-8") as fh:
            pairs = [Pair(r["premise"], r["hypothesis"], r["label"], r["source"]) for r in map(json.loads, fh)]
    return random.Random(seed).sample(pairs, min(n, len(pairs)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trained", help="directory written by scripts/train_nli.py")
    parser.add_argument("--self-check", action="store_true", help="only (re)write selfcheck.json in --out")
    parser.add_argument("--out", default=str(ROOT / "models" / "nli-minilm-l6"))
    parser.add_argument("--per-source", type=int, default=500, help="dev pairs per source")
    parser.add_argument("--int8-tolerance", type=float, default=0.01)
    args = parser.parse_args()
    if args.self_check:
        write_self_check_pairs(Path(args.out))
        return 0
    if not args.trained:
        parser.error("--trained is required (or --self-check)")

    from index.common.metrics import expected_calibration_error, fit_temperature, macro_f1, softmax
    from index.judging.nli import load_nli
    from index.judging.nli_export import export_nli, write_manifest

    trained = Path(args.trained)
    training = json.loads((trained / "training.json").read_text())
    training["architecture"] = architecture(trained)
    # Earlier passes this one started from (`train_nli.py --init`), oldest first: the card counts them all.
    training["earlier"] = []
    start = Path(training["config"]["start"]) / "training.json"
    while start.is_file() and len(training["earlier"]) < 10:
        earlier = json.loads(start.read_text())
        training["earlier"].insert(0, earlier)
        start = Path(earlier["config"]["start"]) / "training.json"
    out = Path(args.out)
    sources = {s: dev_sample(s, args.per_source) for s in CARD_SOURCES + STRESS_SOURCES}
    with tempfile.TemporaryDirectory() as tmp:
        figures, logits = {}, {}
        for kind, int8 in (("fp32", False), ("int8", True)):
            directory = Path(tmp) / kind
            export_nli(trained, directory, int8=int8, name=out.name)
            scorer = load_nli(directory, threads=2)
            label_index = {label: i for i, label in enumerate(scorer.labels)}
            figures[kind], logits[kind] = {}, {}
            for source, pairs in sources.items():
                z = scorer.logits([(p.premise, p.hypothesis) for p in pairs])
                gold = [label_index[p.label] for p in pairs]
                predicted = z.argmax(axis=1).tolist()
                figures[kind][source] = {
                    "pairs": len(pairs),
                    "accuracy": round(float(np.mean([g == p for g, p in zip(gold, predicted, strict=True)])), 4),
                    "macro_f1": round(macro_f1(gold, predicted, range(3)), 4),
                }
                logits[kind][source] = (z, gold)
            print(kind, json.dumps(figures[kind]))
        mean = {k: float(np.mean([figures[k][s]["accuracy"] for s in CARD_SOURCES])) for k in figures}
        kind = "int8" if mean["fp32"] - mean["int8"] <= args.int8_tolerance else "fp32"
        print(f"mean dev accuracy fp32 {mean['fp32']:.4f}, int8 {mean['int8']:.4f}: shipping {kind}")
        z = np.concatenate([logits[kind][s][0] for s in CARD_SOURCES])
        gold = np.concatenate([logits[kind][s][1] for s in CARD_SOURCES])
        temperature = fit_temperature(z, gold)

        def ece(t: float) -> float:
            p = softmax(z, t)
            return expected_calibration_error(p.max(axis=1).tolist(), (p.argmax(axis=1) == gold).tolist())

        calibration = {"temperature": round(temperature, 4), "ece_before": round(ece(1.0), 4),
                       "ece_after": round(ece(temperature), 4), "pairs": len(gold)}  # fmt: skip
        print("calibration", calibration)
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(Path(tmp) / kind, out)
    manifest = json.loads((out / "nli.json").read_text())
    manifest["temperature"] = calibration["temperature"]
    write_manifest(out, manifest)
    (out / "README.md").write_text(model_card(out.name, training, figures, kind, mean, calibration, manifest), "utf-8")
    summary = {k: v for k, v in training.items() if k not in ("history", "earlier")}
    card = {"dev": figures, "shipped": kind, "mean_accuracy": mean, "calibration": calibration, "training": summary}
    (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {out} ({kind}, sha256 {manifest['sha256'][:16]}…)")
    write_self_check_pairs(out)
    return 0


SELF_CHECK_PAIRS = 48


def write_self_check_pairs(model_dir: Path) -> None:
    """Choose the self-check pairs (module docstring) and write selfcheck.json with their readings."""
    from index.common.cpu import cpu_summary, u8s8_saturates
    from index.documents.articles import parse_article_text
    from index.documents.sentences import article_sentences
    from index.evaluation import load_claims
    from index.judging.nli import LABELS, load_nli
    from index.judging.nli_export import write_self_check

    claims = [c.claim for c in load_claims(ROOT / "tests" / "data" / "dev_claims.jsonl")]
    sentences = []
    for path in sorted((ROOT / "data" / "articles").glob("*.txt")):
        sentences += [s.text for s in article_sentences(parse_article_text(path.read_text("utf-8"), str(path)))]
    candidates = [(s, c) for c in claims for s in sentences]
    (model_dir / "selfcheck.json").unlink(missing_ok=True)  # load without checking against the old pairs
    exact = load_nli(model_dir, threads=1)
    readings = exact.read_directly(candidates)
    chosen: list[int] = []
    if u8s8_saturates():  # read them as the saturating kernel does, and keep the most misread half
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        exact.session = ort.InferenceSession(str(model_dir / exact.manifest["graph"]), options)
        gap = np.abs(exact.read_directly(candidates) - readings).max(axis=1)
        chosen = [int(i) for i in np.argsort(-gap)[: SELF_CHECK_PAIRS // 2]]
        print(f"saturating u8×s8 kernel: max |ΔP| {gap.max():.4f}; kept pairs misread by ≥ {gap[chosen[-1]]:.4f}")
    labels = readings.argmax(axis=1)
    for label in range(len(LABELS)):  # the rest: evenly over the labels the judge gives, in order
        rows = [i for i in np.flatnonzero(labels == label) if i not in chosen]
        share = (SELF_CHECK_PAIRS - len(chosen)) // (len(LABELS) - label)
        step = max(1, len(rows) // max(1, share))
        chosen += [int(i) for i in rows[::step][:share]]
    reference = write_self_check(model_dir, [candidates[i] for i in chosen], cpu_summary())
    print(f"wrote {model_dir / 'selfcheck.json'}: {len(reference['pairs'])} pairs")


def architecture(trained: Path) -> str:
    """'MPNet, 12 layers, 768 wide, 109M parameters', read from the trained directory."""
    from safetensors import safe_open

    config = json.loads((trained / "config.json").read_text())
    with safe_open(str(trained / "model.safetensors"), "np") as weights:
        parameters = sum(int(np.prod(weights.get_slice(k).get_shape())) for k in weights.keys())  # noqa: SIM118
    family = {"bert": "BERT (MiniLM)", "mpnet": "MPNet"}.get(config["model_type"], config["model_type"])
    size = f"{config['num_hidden_layers']} layers, {config['hidden_size']} wide, {parameters / 1e6:.0f}M parameters"
    return f"{family}, {size}"


def model_card(name, training, figures, kind, mean, calibration, manifest) -> str:
    config = training["config"]
    lines = [
        f"# {name}: the stance judge of the claim-verification service",
        "",
        "A 3-label NLI cross-encoder (entailment / neutral / contradiction): premise = an evidence sentence,",
        f"hypothesis = the claim. {training['architecture']}, started from",
        f"{training['start_model']}; the classification head is new.",
        f"Shipped as ONNX, **{kind}** (`{manifest['graph']}`, sha256 `{manifest['sha256']}`), run by ONNX Runtime.",
        "",
        "Made by `scripts/train_nli.py`, exported by `scripts/export_nli.py`, on this project's 2-core CPU machine.",
        "",
        "## Training data (train splits only, ../shared/nli)",
        "",
        "| source | entailment | neutral | contradiction | licence |",
        "|---|---:|---:|---:|---|",
    ]
    licences = {
        "fever": "CC BY-SA 3.0", "fever_hard_neutral": "CC BY-SA 3.0 (FEVER train, re-paired: --hard-neutrals)",
        "vitaminc_real": "CC BY-SA 3.0", "vitaminc_synthetic": "CC BY-SA 3.0",
        "fnc1": "no licence file (Emergent-derived)", "snli": "CC BY-SA 4.0", "healthver": "no licence file",
        "covidfact": "no licence file", "scifact": "CC BY 4.0 / ODC-BY 1.0", "fm2": "Apache-2.0 / CC BY-SA",
        "wice": "ODC-BY 1.0 / CC BY-SA",
    }  # fmt: skip
    for source, counts in training["mix_available"].items():
        lines.append(
            f"| {source} | {counts.get('entailment', 0):,} | {counts.get('neutral', 0):,} | "
            f"{counts.get('contradiction', 0):,} | {licences.get(source, '')} |"
        )
    lines += [
        "",
        "ANLI (CC BY-NC 4.0) and LIAR-PLUS were **not** trained on. Input files are pinned by sha256 in",
        "`scripts/train_nli.py`. Several sources have no licence file (see ../shared/nli/README.md).",
        "",
        f"Pairs seen: {training['pairs_seen']:,} ({training['steps']:,} steps"
        + (
            f", stopped by the time budget before the end of its {sum(training['labels_seen'].values()):,}-pair "
            "schedule, so the learning rate had not decayed to zero"
            if training.get("stopped_early")
            else ""
        )
        + f"; labels of the schedule {training['labels_seen']})"
        + (
            ", after earlier passes of "
            + " and ".join(
                f"{e['pairs_seen']:,} pairs ({e['training_minutes']} minutes, lr {e['config']['lr']}, "
                f"mined neutrals {e['config'].get('hard_neutrals', 0):,}, claim-only reweighting "
                f"{'on' if e['config'].get('debias') else 'off'})"
                for e in training["earlier"]
            )
            + "."
            if training.get("earlier")
            else "."
        ),
        "",
        "## Hyperparameters",
        "",
        f"- batch {config['batch_size']}, AdamW lr {config['lr']}, weight decay {config['weight_decay']}, "
        f"linear decay after {config['warmup']:.0%} warm-up, gradient clip 1.0",
        f"- max length {config['max_length']} word pieces, the premise truncated (never the claim)",
        f"- class weights (inverse square-root frequency) {training['class_weights']} for {training['labels_seen']}",
        f"- mined on-topic neutrals (`--hard-neutrals`): {config.get('hard_neutrals', 0):,}; example reweighting "
        f"against what the claim alone gives away (`--debias`): {'on' if config.get('debias') else 'off'}",
        f"- batches grouped by length; bf16 autocast: {config['bf16']}; seed {config['seed']}; "
        f"{config['threads']} threads",
        f"- training time on this machine: {training['training_minutes']} minutes, "
        f"{training['pairs_per_second']} pairs/s",
        "",
        "## Dev accuracy (dev splits, never trained on; seeded samples)",
        "",
        "| source | pairs | fp32 accuracy | fp32 macro-F1 | int8 accuracy | int8 macro-F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for source, row in figures["fp32"].items():
        q = figures["int8"][source]
        lines.append(
            f"| {source} | {row['pairs']} | {row['accuracy']:.3f} | {row['macro_f1']:.3f} | "
            f"{q['accuracy']:.3f} | {q['macro_f1']:.3f} |"
        )
    lines += [
        "",
        f"Mean over the training sources' dev splits: fp32 {mean['fp32']:.4f}, int8 {mean['int8']:.4f}; "
        f"{kind} ships (int8 when within 1 point). `fever_symmetric`, `fever2_adversarial`, `fever_triggers` and",
        "`anli` are stress sets, never trained on.",
        "",
        "## Calibration",
        "",
        f"Softmax temperature {calibration['temperature']} fitted by negative log-likelihood on "
        f"{calibration['pairs']:,} dev pairs: pair-level expected calibration error "
        f"{calibration['ece_before']} before, {calibration['ece_after']} after. The verdict's own calibration",
        "(claim level) is in docs/quality.md.",
        "",
        "## Numerics across CPUs",
        "",
        "The int8 graph is run with ONNX Runtime's exact kernel (`session.x64quantprecision`): on x86-64",
        "CPUs without VNNI the plain u8×s8 kernel saturates 16-bit sums and reads other probabilities.",
        "`selfcheck.json` holds 48 pairs and their readings under the int8 graph (exact integer sums)",
        "and its fp32 form; the service reads them again at every load and falls back to fp32 if they",
        "differ by more than 0.02 on average (`index/judging/nli.py`). Per graph, with the CPU's model and flags:",
        '`benchmarks/nli_judge.py --dev 400` (BENCHMARKS.md, "NLI judge").',
        "",
        "## Limits",
        "",
        "- English only; trained mostly on encyclopedic (FEVER, VitaminC) and news-headline (FNC-1) evidence.",
        "- Reads 128 word pieces: a long evidence sentence is cut at the end.",
        "- Numbers: it learnt figures only from VitaminC; the service adds a substitution test for figures and dates.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
