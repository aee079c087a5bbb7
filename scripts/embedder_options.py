"""The embedding options the command-line scripts share, read from the same environment
variables as the service (EMBEDDING_MODEL, EMBEDDING_BACKEND, ONNX_DIR)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def add_embedder_options(parser: argparse.ArgumentParser) -> None:
    from index.retrieval.embedder import BACKENDS, DEFAULT_BACKEND, TEXTS_PER_RUN

    parser.add_argument(
        "--model", default=os.environ.get("EMBEDDING_MODEL"), help="local sentence-transformers model directory"
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=os.environ.get("EMBEDDING_BACKEND", DEFAULT_BACKEND),
        help=f"embedding runtime (default: EMBEDDING_BACKEND or {DEFAULT_BACKEND})",
    )
    parser.add_argument(
        "--onnx-dir", default=os.environ.get("ONNX_DIR"), help="the model's ONNX export (scripts/export_onnx.py)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=TEXTS_PER_RUN, help=f"texts per model call (default {TEXTS_PER_RUN})"
    )


def embedder_options(args: argparse.Namespace, **options: Any) -> dict[str, Any]:
    """`load_embedder`'s keyword arguments for the options, with absolute paths, so that another
    process (a Ray actor of `build_index.py --ray`) loads the same model, backend and export."""
    from index.retrieval.embedder import default_onnx_dir

    return {
        "model_path": str(Path(args.model).resolve()) if args.model else None,
        "backend": args.backend,
        "onnx_dir": str(Path(args.onnx_dir or default_onnx_dir(args.model)).resolve()),
        "batch_size": args.batch_size,
        **options,
    }


def load_embedder_from_options(args: argparse.Namespace, **options: Any):
    """The embedder the options name, or None after saying on stderr why it cannot be loaded."""
    from index.retrieval.embedder import load_embedder

    try:
        return load_embedder(**embedder_options(args, **options))
    except (OSError, ValueError) as exc:
        print(f"error: cannot load the embedding model: {exc}", file=sys.stderr)
        return None
