"""The ONNX Runtime backends against the torch one: same vectors, same tokens, same top-1, clear failures.

The export is made once per session (`onnx_dir` in conftest). Nothing here times anything;
speed is benchmarks/embedder_backends.py's business.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from index.evaluation import load_claims
from index.ingestion.builder import build_index
from index.retrieval.embedder import OnnxEmbedder, OnnxModelMissing, load_embedder
from index.verify import ClaimVerifier, load_index
from tests.conftest import ROOT, SAMPLE_ARTICLES

pytestmark = pytest.mark.slow

DEV_CLAIMS = ROOT / "tests" / "data" / "dev_claims.jsonl"
SENTENCES = [
    "Russia launched 133 drones across the country overnight, including attack drones.",
    "Zelensky said the attack was evidence that Putin is not preparing for negotiations.",
    "Vance Tells Zelensky U.S. Wants 'Lasting' Peace",
    "A Russian drone struck a cover built to contain radiation at the Chernobyl nuclear power plant.",
    "Radiation levels were normal.",
    "Ceasefire talks in Istanbul collapsed on Friday.",
]
ODD_TEXTS = ["", "x", "  spaced   out  ", "Ça va? 😀 — « quotes » and naïve café", "word " * 300]


@pytest.fixture(scope="session")
def onnx_embedders(onnx_dir):
    return {b: load_embedder(backend=b, onnx_dir=onnx_dir, threads=1) for b in ("onnx", "onnx-int8")}


@pytest.mark.parametrize(("backend", "floor"), [("onnx", 0.9999), ("onnx-int8", 0.99)])
def test_vectors_match_torch(onnx_embedders, torch_embedder, backend, floor):
    got = onnx_embedders[backend].encode(SENTENCES)
    want = torch_embedder.encode(SENTENCES)
    assert got.dtype == np.float32 and got.shape == want.shape == (len(SENTENCES), 384)
    assert got.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert (got * want).sum(axis=1).min() >= floor


def test_fp32_matches_torch_on_odd_texts_too(onnx_embedders, torch_embedder):
    """Empty, one-letter, padded with spaces, non-ASCII, and longer than the model reads."""
    cosines = (onnx_embedders["onnx"].encode(ODD_TEXTS) * torch_embedder.encode(ODD_TEXTS)).sum(axis=1)
    assert cosines.min() >= 0.9999


def test_padding_does_not_leak_into_a_vector(onnx_embedders):
    """A sentence alone and in a batch with much longer ones (so padded) gets the same fp32 vector."""
    embedder = onnx_embedders["onnx"]
    alone = embedder.encode([SENTENCES[4]])[0]
    batched = embedder.encode([*SENTENCES, "word " * 200])[4]
    assert float(alone @ batched) >= 0.99999


def test_tokens_are_the_model_s(onnx_embedders, torch_embedder):
    embedder = onnx_embedders["onnx"]
    texts = SENTENCES + ODD_TEXTS
    want = torch_embedder.model.tokenizer(texts, padding=True, truncation=True, max_length=256)["input_ids"]
    assert [e.ids for e in embedder._tokenizer.encode_batch(texts)] == want
    assert embedder.token_counts(texts) == torch_embedder.token_counts(texts)
    assert embedder.truncated(texts) == torch_embedder.truncated(texts) == [False] * (len(texts) - 1) + [True]


def test_same_interface_as_torch(onnx_embedders, torch_embedder):
    for embedder in onnx_embedders.values():
        assert isinstance(embedder, OnnxEmbedder)
        assert (embedder.name, embedder.dimension, embedder.max_tokens, embedder.batch_size) == (
            torch_embedder.name,
            torch_embedder.dimension,
            torch_embedder.max_tokens,
            torch_embedder.batch_size,
        )
        empty = embedder.encode([])
        assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_the_thread_cap_reaches_onnx_runtime(onnx_dir):
    embedder = load_embedder(backend="onnx", onnx_dir=onnx_dir, threads=1)
    options = embedder.session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)


def test_int8_sessions_use_the_kernel_that_reads_the_same_on_every_x86_cpu(onnx_dir):
    embedder = load_embedder(backend="onnx-int8", onnx_dir=onnx_dir, threads=1)
    options = embedder.session.get_session_options()
    assert options.get_session_config_entry("session.x64quantprecision") == "1"


def test_without_it_a_cpu_without_vnni_reads_int8_vectors_differently(onnx_embedders, onnx_dir):
    """Why `onnx_session` asks for the exact kernel: measured on an AMD EPYC (AVX2, no VNNI), the
    saturating one moved the sample's 102 int8 vectors by up to 0.0094 in cosine; fp32 by 0."""
    import onnxruntime as ort

    from index.common.cpu import cpu_summary, u8s8_saturates

    if not u8s8_saturates():
        pytest.skip(f"this CPU has VNNI, its u8×s8 kernel cannot saturate: {cpu_summary()}")
    embedder = onnx_embedders["onnx-int8"]
    exact = embedder.encode(SENTENCES * 4)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    plain = load_embedder(backend="onnx-int8", onnx_dir=onnx_dir, threads=1)
    plain.session = ort.InferenceSession(str(onnx_dir / "model_int8.onnx"), options)
    assert float(np.abs(plain.encode(SENTENCES * 4) - exact).max()) > 1e-3


def test_same_top1_as_torch_on_the_dev_claims(tmp_path, onnx_embedders, torch_embedder):
    """Each backend with an index it built itself, and with an index torch built."""
    claims = [c.claim for c in load_claims(DEV_CLAIMS)]
    build_index([SAMPLE_ARTICLES], tmp_path / "torch", torch_embedder)
    build_index([SAMPLE_ARTICLES], tmp_path / "onnx", onnx_embedders["onnx"])
    torch_index = load_index(tmp_path / "torch")

    def top1(embedder, index):
        return [r.evidence[0].text for r in ClaimVerifier(embedder, index).verify_claims(claims, top_k=1)]

    want = top1(torch_embedder, torch_index)
    assert top1(onnx_embedders["onnx"], load_index(tmp_path / "onnx")) == want
    assert top1(onnx_embedders["onnx"], torch_index) == want


def test_the_export_is_deterministic(tmp_path, onnx_dir):
    from index.retrieval.onnx_export import export_onnx

    report = export_onnx(None, tmp_path / "again", int8=False)
    session = json.loads((onnx_dir / "export.json").read_text())
    assert report.files["model.onnx"] == session["files"]["model.onnx"]
    assert hashlib.sha256((tmp_path / "again" / "model.onnx").read_bytes()).hexdigest() == report.files["model.onnx"]
    assert not (tmp_path / "again" / "model_int8.onnx").exists()
    assert report.min_cosine["onnx"] >= 0.9999


# --- failures name the way out ----------------------------------------------------------


def test_a_missing_export_names_the_export_command(tmp_path):
    with pytest.raises(OnnxModelMissing) as info:
        load_embedder(backend="onnx", onnx_dir=tmp_path / "none")
    message = str(info.value)
    assert f"{tmp_path / 'none' / 'model.onnx'} does not exist" in message
    assert f"export it first: python scripts/export_onnx.py --out {tmp_path / 'none'}" in message
    assert isinstance(info.value, FileNotFoundError)  # the scripts' and the service's "cannot load" path


def test_a_missing_int8_file_asks_for_int8(tmp_path, onnx_dir):
    copy = shutil.copytree(onnx_dir, tmp_path / "fp32-only")
    (copy / "model_int8.onnx").unlink()
    load_embedder(backend="onnx", onnx_dir=copy)  # fp32 is still there
    with pytest.raises(OnnxModelMissing, match=r"export_onnx\.py --out .*fp32-only --int8"):
        load_embedder(backend="onnx-int8", onnx_dir=copy)


def test_an_export_of_another_model_is_refused(tmp_path, onnx_dir):
    copy = shutil.copytree(onnx_dir, tmp_path / "other")
    manifest = json.loads((copy / "export.json").read_text())
    manifest["source_fingerprint"] = "0" * 64
    (copy / "export.json").write_text(json.dumps(manifest))
    with pytest.raises(OnnxModelMissing, match="not from the configured model"):
        load_embedder(backend="onnx", onnx_dir=copy)


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="torch, onnx, onnx-int8"):
        load_embedder(backend="tensorrt")


def _script(*args, **env):
    return subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


def test_scripts_fail_with_one_line_naming_the_export_command(tmp_path, sample_index_dir):
    missing = tmp_path / "no-export"
    build = ["scripts/build_index.py", "--no-progress", "--out", tmp_path / "i", SAMPLE_ARTICLES]
    built = _script(*build, "--backend", "onnx", "--onnx-dir", missing)
    evaluate = ["scripts/evaluate.py", "--index", sample_index_dir, DEV_CLAIMS]
    evaluated = _script(*evaluate, EMBEDDING_BACKEND="onnx-int8", ONNX_DIR=str(missing))  # from the environment
    for done, hint in ((built, f"--out {missing}"), (evaluated, f"--out {missing} --int8")):
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        assert f"export it first: python scripts/export_onnx.py {hint}" in done.stderr


def test_build_and_evaluate_with_the_onnx_backend(tmp_path, onnx_dir):
    backend = ["--backend", "onnx", "--onnx-dir", onnx_dir]
    built = _script("scripts/build_index.py", "--no-progress", "--out", tmp_path / "i", SAMPLE_ARTICLES, *backend)
    assert built.returncode == 0, built.stderr
    out = tmp_path / "figures.json"
    evaluated = _script("scripts/evaluate.py", "--index", tmp_path / "i", DEV_CLAIMS, "--json", out, *backend)
    assert evaluated.returncode == 0, evaluated.stderr
    figures = json.loads(out.read_text())
    assert figures["backend"] == "onnx" and figures["hit@1"] >= 0.9


def test_the_export_script_refuses_a_missing_model(tmp_path):
    done = _script("scripts/export_onnx.py", "--model", tmp_path / "nowhere", "--out", tmp_path / "o")
    assert done.returncode == 1
    assert f"error: embedding model directory not found: {tmp_path / 'nowhere'}" in done.stderr


def test_the_onnx_backend_never_imports_torch(onnx_dir):
    code = (
        "import sys; from index.retrieval.embedder import load_embedder; "
        "e = load_embedder(backend='onnx', threads=1); e.encode(['Russia launched 133 drones']); "
        "print(e.backend, 'torch' in sys.modules)"
    )
    done = _script("-c", code, ONNX_DIR=str(onnx_dir), PYTHONPATH=str(ROOT))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["onnx", "False"]


# --- the service ------------------------------------------------------------------------


def test_the_service_runs_the_configured_backend(sample_index_dir, onnx_dir):
    from service import create_app
    from service.config import Settings

    settings = Settings(index_dir=str(sample_index_dir), embedding_backend="onnx-int8", onnx_dir=str(onnx_dir))
    app = create_app(settings)
    assert app.test_client().get("/readyz").status_code == 200
    assert app.extensions["verifier"].verifier.embedder.backend == "onnx-int8"
    body = app.test_client().post("/v1/verify", json={"claim": "Russia launched 133 drones"}).get_json()
    assert body["verdict"] == "supported"


def test_the_service_without_the_export_is_not_ready_and_says_how_to_export(tmp_path, sample_index_dir):
    from service import create_app
    from service.config import Settings

    missing = tmp_path / "no-export"
    app = create_app(Settings(index_dir=str(sample_index_dir), embedding_backend="onnx", onnx_dir=str(missing)))
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    reason = ready.get_json()["reason"]
    assert reason.startswith("OnnxModelMissing: EMBEDDING_BACKEND=onnx needs the model's ONNX export")
    assert f"export it first: python scripts/export_onnx.py --out {missing}" in reason
