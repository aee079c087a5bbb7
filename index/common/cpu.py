"""The CPU's int8 abilities, which decide how ONNX Runtime's int8 kernels compute.

Every figure of speed or int8 numerics is recorded with `cpu_summary()`: the model name and
the flags that matter (`avx2`, `avx512f`, `avx512_vnni`, `avx_vnni`, `amx_int8`).
"""

from __future__ import annotations

import platform
from functools import cache
from pathlib import Path

INT8_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")


@cache
def cpu_info() -> tuple[str, frozenset[str]]:
    """(model name, flags) from /proc/cpuinfo; ("unknown", {}) where there is none."""
    fields: dict[str, str] = {}
    try:
        lines = Path("/proc/cpuinfo").read_text("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    for line in lines:  # the first processor's lines
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields.get("model name") or platform.processor() or "unknown", frozenset(fields.get("flags", "").split())


def u8s8_saturates() -> bool:
    """Whether ONNX Runtime's fast u8×s8 kernel can saturate here: x86-64 without VNNI (it then
    adds pairs of products in 16 bits, `vpmaddubsw`). `index/retrieval/embedder.py` (`onnx_session`) avoids it."""
    _, flags = cpu_info()
    return platform.machine() in ("x86_64", "AMD64") and not flags & {"avx512_vnni", "avx_vnni"}


def cpu_summary() -> str:
    """'AMD EPYC; int8 flags: avx2 (no VNNI)': the line recorded with every figure."""
    model, flags = cpu_info()
    present = [f for f in INT8_FLAGS if f in flags]
    vnni = "VNNI" if flags & {"avx512_vnni", "avx_vnni"} else "no VNNI"
    return f"{model}; int8 flags: {', '.join(present) or 'none'} ({vnni}), {platform.machine()}"
