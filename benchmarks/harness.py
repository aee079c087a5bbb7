"""What every benchmark shares; import it first (`from harness import ROOT`).

- The project on the path, and the offline flags every model load needs (no hub).
- `one_worker_threads()`: the one-thread caps gunicorn.conf.py gives a worker, for
  benchmarks that measure one worker's work. Call it before `index` is imported (numpy,
  FAISS and torch read the caps when they load).
- `parse_size` ("100k", "5M"), `percentile` (the one definition used in every table: nearest rank), `machine()` and
  `contention()` (load and CPU pressure, which make timings on 2 shared cores noisy).
- `bench_dir()`: `var/bench/`, created, where the shared benchmark index and claims live.
- The server helpers (start our service or a peer on a free port, wait, stop; workers'
  memory) come from `service.processes`, which the tests use too.
"""

from __future__ import annotations

import math
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from service.processes import (
    free_port,
    get_json,
    gunicorn_command,
    memory_mb,
    post_json,
    running_gunicorn,
    running_server,
    wait_until_ready,
    worker_pids,
)

__all__ = [
    "ROOT",
    "bench_dir",
    "contention",
    "free_port",
    "get_json",
    "gunicorn_command",
    "machine",
    "memory_mb",
    "one_worker_threads",
    "parse_size",
    "percentile",
    "post_json",
    "running_gunicorn",
    "running_server",
    "wait_until_ready",
    "worker_pids",
]


def one_worker_threads() -> None:
    """The thread caps of one gunicorn worker (gunicorn.conf.py), unless set already."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile `q` (0-100) of `values` (any order); nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered) - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def parse_size(text: str) -> int:
    """A count written as "100k", "1M", "5_000" or "2.5M"."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def machine() -> str:
    """CPU model, cores, memory and load: the line every benchmark table starts with."""
    cpu, memory_gib = platform.processor() or "unknown CPU", 0.0
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in _lines("/proc/cpuinfo") if ln.startswith("model name"))
        memory_gib = next(int(ln.split()[1]) for ln in _lines("/proc/meminfo") if ln.startswith("MemTotal")) / 2**20
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, Python {platform.python_version()}; {contention()}"


def contention() -> str:
    """How busy the machine is (other processes share the cores): load average and CPU pressure."""
    try:
        pressure = f", CPU pressure {_lines('/proc/pressure/cpu')[0].split()[1].removeprefix('avg10=')}% (10 s)"
    except (OSError, IndexError):
        pressure = ""
    return f"load average {os.getloadavg()[0]:.2f}{pressure}"


def _lines(path: str) -> list[str]:
    return Path(path).read_text().splitlines()


def bench_dir() -> Path:
    """`var/bench/`, created on first use (a fresh checkout has no `var/`)."""
    path = ROOT / "var" / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path
