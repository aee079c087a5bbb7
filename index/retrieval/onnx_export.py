"""Export a local sentence-transformers model to ONNX (and optionally int8), offline, without optimum.

The graph is the model's transformer followed by the model's own Pooling module, traced
by torch's TorchScript-based ONNX exporter (the one that needs neither onnxscript nor
optimum; optimum-onnx would pull transformers < 5, which sentence-transformers 6 refuses).
Normalisation stays outside the graph: the embedder L2-normalises whatever it gets.

The int8 file is `onnxruntime.quantization.quantize_dynamic` of the fp32 file: int8
weights per output channel, activations quantised per batch at run time. The FFN
down-projections (the MatMuls whose weight is intermediate × hidden) stay fp32: their
inputs, straight out of GELU, carry the outliers that per-tensor activation scales
handle worst, and quantising them costs the most cosine (see BENCHMARKS.md).

Everything written is a function of the model files and the library versions: no
timestamps, no absolute paths, so exporting twice gives byte-identical files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.common.fileio import sha256_file
from index.retrieval.embedder import ONNX_FILES, ONNX_FORMAT, ONNX_MANIFEST, model_fingerprint, model_name

OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "sentence_embedding"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
# Sentences the export is checked on against sentence-transformers itself (padding included).
PROBES = (
    "Russia launched 133 drones across the country overnight.",
    "Zelensky said the attack was evidence that Putin is not preparing for negotiations.",
    "Vance told reporters in Munich that the United States wanted a lasting peace.",
    "Radiation levels were normal.",
    "A keyboard has many keys for typing.",
)
MIN_FP32_COSINE = 0.9999


class ExportError(RuntimeError):
    """The model cannot be exported, or the export does not reproduce the model."""


@dataclass(frozen=True)
class ExportReport:
    out_dir: Path
    files: dict[str, str]  # file name → sha256
    min_cosine: dict[str, float]  # backend → min cosine to sentence-transformers on the probes

    def summary(self) -> str:
        lines = [f"exported to {self.out_dir}"]
        for name, digest in self.files.items():
            lines.append(f"  {name}  sha256 {digest[:16]}…")
        for backend, cosine in self.min_cosine.items():
            lines.append(f"  {backend}: min cosine to sentence-transformers on {len(PROBES)} probes {cosine:.5f}")
        return "\n".join(lines)


def _load_model(path: str):
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules.normalize import Normalize
    from sentence_transformers.base.modules.transformer import Transformer
    from sentence_transformers.sentence_transformer.modules.pooling import Pooling

    torch.manual_seed(0)
    # Eager attention traces to plain MatMul/Softmax, which ONNX Runtime and the quantiser handle well.
    model = SentenceTransformer(
        path, device="cpu", local_files_only=True, model_kwargs={"attn_implementation": "eager"}
    )
    model.eval()
    modules = list(model)
    if not (
        len(modules) in (2, 3)
        and isinstance(modules[0], Transformer)
        and isinstance(modules[1], Pooling)
        and all(isinstance(m, Normalize) for m in modules[2:])
    ):
        raise ExportError(f"only Transformer → Pooling (→ Normalize) models can be exported, not {model}")
    encoder = modules[0].auto_model
    if not (hasattr(encoder, "embeddings") and hasattr(encoder, "encoder")):
        raise ExportError(f"only BERT-style encoders can be exported, not {type(encoder).__name__}")
    return model


def _graph_module(model):
    """transformer → the model's Pooling module, with the attention mask built here.

    transformers 5 builds its attention mask with data-dependent Python that tracing
    freezes to the example's shape; the additive mask below is the same mask, as tensors.
    """
    import torch

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = model[0].auto_model
            self.pooling = model[1]

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
            additive = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
            hidden = self.bert.encoder(hidden, attention_mask=additive).last_hidden_state
            features = self.pooling({"token_embeddings": hidden, "attention_mask": attention_mask})
            return features["sentence_embedding"]

    return Graph().eval()


def _export_fp32(model, out: Path) -> None:
    import torch

    graph = _graph_module(model)
    example = model.tokenizer(["a short one", "and a longer second example"], padding=True, return_tensors="pt")
    args = tuple(example[name] for name in INPUTS)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS} | {OUTPUT: {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter is deprecated in favour of the dynamo one (which needs
        # onnxscript); it is what torch 2.13 ships and it is deterministic. Tracer warnings
        # are about shape-dependent Python, which the mask above avoids.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            args,
            str(out),
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def _down_projections(fp32: Path, hidden: int, intermediate: int) -> list[str]:
    """Names of the MatMul nodes whose weight is intermediate × hidden (the FFN down-projections)."""
    import onnx

    graph = onnx.load(str(fp32)).graph
    shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    return sorted(
        node.name
        for node in graph.node
        if node.op_type == "MatMul" and any(shapes.get(i) == (intermediate, hidden) for i in node.input)
    )


def quantize(fp32: Path, out: Path, exclude: list[str], op_types: tuple[str, ...] = ("MatMul",)) -> None:
    """`quantize_dynamic`: int8 weights per output channel for `op_types`, except the nodes in `exclude`."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser's "consider pre-processing" advice, on the root logger
    try:
        quantize_dynamic(
            str(fp32),
            str(out),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=list(op_types),
            nodes_to_exclude=exclude,
        )
    finally:
        root.setLevel(level)  # it stayed at ERROR before, and every later warning in the process was lost


def _check(model, path: Path) -> float:
    """Min cosine between the ONNX graph and sentence-transformers on the probe sentences."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = model.tokenizer(list(PROBES), padding=True, truncation=True, return_tensors="np")
    (got,) = session.run(None, {name: np.asarray(feed[name], dtype=np.int64) for name in INPUTS})
    want = model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
    got = got / np.linalg.norm(got, axis=1, keepdims=True)
    return float((got * want).sum(axis=1).min())


def export_onnx(model_path: str | None, out_dir: str | Path, int8: bool = False) -> ExportReport:
    """Export the model at `model_path` (default: the packaged one) into `out_dir`.

    Writes model.onnx (fp32), model_int8.onnx if `int8`, the tokenizer files and
    export.json (source fingerprint, pooling, max_seq_length, files' sha256). Files are
    written to a temporary directory first and moved in with export.json last.
    """
    from importlib.metadata import version

    from index.retrieval.embedder import default_model_path

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    source = model_path or default_model_path()
    if not Path(source).is_dir():
        raise ExportError(f"embedding model directory not found: {source}")
    model = _load_model(source)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = model[0].auto_model.config
    pooling = {key: getattr(model[1], key) for key in model[1].config_keys}
    pooling = {k: list(v) if isinstance(v, tuple) else v for k, v in pooling.items()}

    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as tmp:
        tmp = Path(tmp)
        fp32 = tmp / ONNX_FILES["onnx"]
        _export_fp32(model, fp32)
        cosines = {"onnx": _check(model, fp32)}
        if cosines["onnx"] < MIN_FP32_COSINE:
            raise ExportError(f"the fp32 export disagrees with the model: min cosine {cosines['onnx']:.6f}")
        excluded = []
        if int8:
            excluded = _down_projections(fp32, config.hidden_size, config.intermediate_size)
            quantize(fp32, tmp / ONNX_FILES["onnx-int8"], excluded)
            cosines["onnx-int8"] = _check(model, tmp / ONNX_FILES["onnx-int8"])
        for name in TOKENIZER_FILES:
            if (Path(source) / name).is_file():
                shutil.copyfile(Path(source) / name, tmp / name)
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {
            "format": ONNX_FORMAT,
            "source_name": model_name(model_path),
            "source_fingerprint": model_fingerprint(source),
            "dimension": int(model.get_embedding_dimension()),
            "max_seq_length": int(model.max_seq_length),
            "pad_token": model.tokenizer.pad_token,
            "pooling": pooling,
            "normalize": "the embedder L2-normalises the pooled output",
            "inputs": list(INPUTS),
            "output": OUTPUT,
            "opset": OPSET,
            "exporter": "torch.onnx.export (TorchScript-based, dynamo=False), eager attention",
            "int8": {
                "method": "onnxruntime.quantization.quantize_dynamic, QInt8 weights per channel, MatMul only",
                "kept_fp32": excluded,
            }
            if int8
            else None,
            "min_cosine_on_probes": {k: round(v, 6) for k, v in cosines.items()},
            "versions": {
                name: version(name)
                for name in ("torch", "transformers", "sentence-transformers", "onnx", "onnxruntime")
            },
            "files": files,
        }
        for name in files:
            os.replace(tmp / name, out_dir / name)
        if not int8 and (out_dir / ONNX_FILES["onnx-int8"]).exists():
            # An int8 file from an earlier export would not match this manifest.
            (out_dir / ONNX_FILES["onnx-int8"]).unlink()
        (tmp / ONNX_MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", "utf-8")
        os.replace(tmp / ONNX_MANIFEST, out_dir / ONNX_MANIFEST)
    return ExportReport(out_dir=out_dir, files=files, min_cosine=cosines)


def dequantized(graph_file: Path) -> bytes:
    """The fp32 graph of a `quantize_dynamic` int8 graph, built in memory (serialised ONNX).

    Each `DynamicQuantizeLinear → MatMulInteger → Cast → Mul(scales)` chain becomes one fp32
    `MatMul` on the weights `(w − zero point) × scale`; the int8 embedding tables (Gather +
    DequantizeLinear) already compute in fp32. Every arithmetic step is then fp32, which no
    x86-64 CPU reads differently beyond rounding: the judge's stable fallback when its int8
    graph fails the self-check (`index/judging/nli.py`). The weights are the int8 ones dequantised:
    the trained fp32 weights are not shipped.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(graph_file))
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    replaced = {}
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        (cast,) = consumers[node.output[0]]
        (rescale,) = consumers[cast.output[0]]
        scales = producer[next(i for i in rescale.input if i != cast.output[0])]  # activation × weight scale
        weight_scale = next(i for i in scales.input if i in weights)
        activations = producer[node.input[0]].input[0]  # the input DynamicQuantizeLinear quantised
        w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)
        zero = numpy_helper.to_array(weights[node.input[3]]).astype(np.float32) if len(node.input) > 3 else 0.0
        fp32 = (w - zero) * numpy_helper.to_array(weights[weight_scale]).astype(np.float32)
        name = f"{node.input[1]}_fp32"
        graph.initializer.append(numpy_helper.from_array(fp32, name))
        replaced[id(rescale)] = helper.make_node("MatMul", [activations, name], list(rescale.output), name=node.name)
    if not replaced:
        raise ExportError(f"{graph_file} has no int8 MatMul to dequantise")
    nodes = [replaced.get(id(node), node) for node in graph.node]
    # Keep only what the outputs still need (the quantisers and int8 weights drop out).
    needed = {out.name for out in graph.output}
    kept = []
    for node in reversed(nodes):
        if any(out in needed for out in node.output):
            kept.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    initializers = [init for init in graph.initializer if init.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    onnx.checker.check_model(model)
    return model.SerializeToString()
