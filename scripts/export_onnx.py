"""Export the embedding model to ONNX for EMBEDDING_BACKEND=onnx (and onnx-int8), offline.

    python scripts/export_onnx.py [--model DIR] [--out var/models/all-MiniLM-L6-v2-onnx] [--int8]

Reads the local model (default: the packaged all-MiniLM-L6-v2), never a hub. Writes
model.onnx (fp32), model_int8.onnx with --int8 (dynamic int8 weights), the tokenizer
files and export.json into --out. The export is checked against sentence-transformers
on a few sentences and refused if it disagrees; the same model and library versions
give byte-identical files. See index/retrieval/onnx_export.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    from index.retrieval.embedder import default_onnx_dir

    parser = argparse.ArgumentParser(description="Export the embedding model to ONNX (offline).")
    parser.add_argument(
        "--model", default=os.environ.get("EMBEDDING_MODEL"), help="local sentence-transformers model directory"
    )
    parser.add_argument("--out", help="output directory (default: ONNX_DIR or var/models/<model>-onnx)")
    parser.add_argument("--int8", action="store_true", help="also write model_int8.onnx (dynamic int8 weights)")
    args = parser.parse_args(argv)
    out = args.out or default_onnx_dir(args.model)

    from index.retrieval.onnx_export import ExportError, export_onnx

    try:
        report = export_onnx(args.model, out, int8=args.int8)
    except (ExportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
