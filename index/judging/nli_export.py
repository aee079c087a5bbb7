"""Export a trained NLI cross-encoder (a Hugging Face sequence-classification directory) to ONNX.

Same exporter as the embedder's (`index/retrieval/onnx_export.py`): TorchScript tracing, eager
attention, the attention mask built as tensors; int8 by `quantize_dynamic`. Two encoder
families: BERT (MiniLM; inputs ids, mask, token types) and MPNet (ids and mask; relative
position buckets computed in the graph). The result is the directory `index/judging/nli.py` loads: the graph,
`tokenizer.json` and `nli.json` (labels in output order, max length, temperature, sha256).
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from index.common.fileio import sha256_file
from index.judging.nli import NLI_FORMAT, NLI_MANIFEST
from index.retrieval.onnx_export import INPUTS, OPSET, _down_projections, quantize

OUTPUT = "logits"
MAX_LOGIT_DIFFERENCE = 1e-3  # fp32 graph against torch, on the probes


def _load(path: str | Path):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(str(path), attn_implementation="eager")
    model.eval()
    if not (hasattr(model, "bert") or hasattr(model, "mpnet")):
        raise ValueError(f"only BERT- and MPNet-style classifiers can be exported, not {type(model).__name__}")
    return model, AutoTokenizer.from_pretrained(str(path))


def _graph(model) -> tuple[object, tuple[str, ...]]:
    """The traceable module and its input names, for either encoder family."""
    import torch

    def additive(mask, hidden):
        return (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min

    class BertGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            bert = self.model.bert
            hidden = bert.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
            hidden = bert.encoder(hidden, attention_mask=additive(attention_mask, hidden)).last_hidden_state
            return self.model.classifier(bert.pooler(hidden))

    class MpnetGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            mpnet = self.model.mpnet
            hidden = mpnet.embeddings(input_ids=input_ids)
            hidden = mpnet.encoder(hidden, attention_mask=additive(attention_mask, hidden))[0]
            return self.model.classifier(hidden)

    if hasattr(model, "mpnet"):
        return MpnetGraph().eval(), ("input_ids", "attention_mask")
    return BertGraph().eval(), INPUTS


def torch_logits(model, tokenizer, pairs: list[tuple[str, str]], max_length: int) -> np.ndarray:
    import torch

    feed = tokenizer(
        [p for p, _ in pairs], [h for _, h in pairs], truncation="only_first", max_length=max_length,
        padding=True, return_tensors="pt",
    )  # fmt: skip
    with torch.inference_mode():
        return model(**feed).logits.numpy()


def export_nli(
    source: str | Path,
    out_dir: str | Path,
    int8: bool,
    name: str,
    max_length: int = 128,
    keep_down_projections: bool = False,
) -> dict:
    """Write the ONNX graph (int8 or fp32) of the trained model at `source` into `out_dir`; returns nli.json.

    `keep_down_projections` keeps the FFN down-projections fp32 (as the embedder's export
    does). The MiniLM judge measured no loss without it (model card), at 14 MB less; MPNet-base
    lost 2 points of mean dev accuracy without it and 0.8 with it (docs/quality.md)."""
    import torch

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model, tokenizer = _load(source)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = model.config
    probes = [
        ("Russia launched 133 drones across the country overnight.", "Russia launched 500 drones."),
        ("The talks in Munich were seen as a key moment for Kyiv.", "The talks took place in Munich."),
        ("A keyboard has many keys.", "Radiation levels were normal at the plant after the strike on Friday."),
    ]
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as tmp:
        tmp = Path(tmp)
        fp32 = tmp / "model.onnx"
        example = tokenizer(
            ["a short one", "and a longer second"], ["claim", "another claim"], padding=True, return_tensors="pt"
        )
        graph, inputs = _graph(model)
        axes = {n: {0: "batch", 1: "sequence"} for n in inputs} | {OUTPUT: {0: "batch"}}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph, tuple(example[n] for n in inputs), str(fp32), input_names=list(inputs),
                output_names=[OUTPUT], dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True, dynamo=False,
            )  # fmt: skip
        want = torch_logits(model, tokenizer, probes, max_length)
        got = _onnx_logits(fp32, tokenizer, probes, max_length)
        if float(np.abs(want - got).max()) > MAX_LOGIT_DIFFERENCE:
            raise RuntimeError(f"the fp32 export disagrees with torch: {np.abs(want - got).max():.5f}")
        graph_name = "model.onnx"
        kept = []
        if int8:
            if keep_down_projections:
                kept = _down_projections(fp32, config.hidden_size, config.intermediate_size)
            # The MatMuls and the embedding tables (Gather): the word embeddings are half the model's
            # bytes, and a table lookup loses nothing to per-batch activation scales.
            quantize(fp32, tmp / "model_int8.onnx", kept, ("MatMul", "Gather"))
            graph_name = "model_int8.onnx"
        tokenizer.backend_tokenizer.save(str(tmp / "tokenizer.json"))
        labels = [config.id2label[i] for i in range(config.num_labels)]
        manifest = {
            "format": NLI_FORMAT,
            "name": name,
            "graph": graph_name,
            "sha256": sha256_file(tmp / graph_name),
            "labels": labels,
            "max_length": max_length,
            "truncation": "only_first (the evidence is cut, never the claim)",
            "pad_token": tokenizer.pad_token,
            "temperature": 1.0,
            "inputs": list(inputs),
            "opset": OPSET,
            "int8": {"method": "quantize_dynamic QInt8 per channel, MatMul and Gather", "kept_fp32": kept}
            if int8
            else None,
        }
        for file in (graph_name, "tokenizer.json"):
            os.replace(tmp / file, out_dir / file)
        for stale in {"model.onnx", "model_int8.onnx"} - {graph_name}:
            (out_dir / stale).unlink(missing_ok=True)
        write_manifest(out_dir, manifest)
    return manifest


def write_manifest(out_dir: Path, manifest: dict) -> None:
    (out_dir / NLI_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")


def _onnx_logits(path: Path, tokenizer, pairs: list[tuple[str, str]], max_length: int) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = tokenizer(
        [p for p, _ in pairs], [h for _, h in pairs], truncation="only_first", max_length=max_length,
        padding=True, return_tensors="np",
    )  # fmt: skip
    names = [i.name for i in session.get_inputs()]
    (logits,) = session.run(None, {n: np.asarray(feed[n], dtype=np.int64) for n in names})
    return logits


def write_self_check(model_dir: Path, pairs: list[tuple[str, str]], made_on: str) -> dict:
    """Write `selfcheck.json` beside the graph: `pairs` with their readings under the int8 graph
    (exact integer arithmetic: `onnx_session` avoids the saturating kernel) and its fp32 form.

    `index/judging/nli.py` reads them again at every load (`checked`). Columns: entailment, neutral,
    contradiction, calibrated (the manifest's temperature)."""
    from index.common.fileio import write_durably
    from index.judging.nli import FP32, INT8, SELF_CHECK, OnnxNli

    manifest = json.loads((model_dir / NLI_MANIFEST).read_text("utf-8"))
    readings = {}
    for graph in (INT8, FP32) if manifest.get("int8") else (FP32,):
        scorer = OnnxNli(model_dir, manifest, threads=1, graph=graph)
        readings[graph] = np.round(scorer.read_directly(pairs), 6).tolist()
    reference = {
        "about": (
            "pairs the judge reads at load; see index/judging/nli.py (checked) and scripts/export_nli.py --self-check"
        ),
        "sha256": manifest["sha256"],
        "made_on": made_on,
        "columns": ["entailment", "neutral", "contradiction"],
        "pairs": [list(p) for p in pairs],
        "readings": readings,
    }
    write_durably(model_dir / SELF_CHECK, json.dumps(reference, indent=1, ensure_ascii=False) + "\n")
    return reference
