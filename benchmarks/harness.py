"""What every benchmark shares; import it first (`from harness import ROOT`).

- The project on the path, and the offline flags every model load needs (no hub).
- `one_worker_threads()`: the one-thread caps gunicorn.conf.py gives a worker, for
  benchmarks that measure one worker's work. Call it before `index` is imported (numpy,
  FAISS and torch read the caps when they load).
- `parse_size` ("100k", "5M"), `sizes` ("100k,1M") and `human` (back to "100k"); `percentile`
  (the one definition used in every table: nearest rank); `machine()` and `contention()`
  (load and CPU pressure, which make timings on 2 shared cores noisy).
- Reporting: `table` (Markdown), `command()` (this run's command line), `write_json`, `log` (stderr).
- Timing: `seconds_of`, `ms_each`, `in_batches`, and `rotated` (contenders take turns going first).
- `import_reviews_into`: reviews imported into a copy of an index by the real command, timed.
- `bench_dir()`: `var/bench/`, created, where the shared benchmark index and claims live;
  `DEV_CLAIMS` and `SAMPLE_ARTICLES`, the repository's own claims and articles;
  `ensure_onnx_export()`: the embedder's ONNX export, made once if missing (a fresh checkout has none).
- The server helpers (start our service or a peer on a free port, wait, stop; workers'
  memory) come from `service.processes`, which the tests use too.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Re-exported (`x as x`) for the benchmarks.
from service.processes import free_port as free_port
from service.processes import get_json as get_json
from service.processes import gunicorn_command as gunicorn_command
from service.processes import memory_mb as memory_mb
from service.processes import running_gunicorn as running_gunicorn
from service.processes import running_server as running_server
from service.processes import worker_pids as worker_pids

DEV_CLAIMS = ROOT / "tests" / "data" / "dev_claims.jsonl"
SAMPLE_ARTICLES = ROOT / "data" / "articles"
T = TypeVar("T")


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


def sizes(text: str) -> list[int]:
    """Comma-separated counts, each as `parse_size` reads it: "100k,1M"."""
    return [parse_size(s) for s in text.split(",")]


def human(n: int) -> str:
    """A round count the short way: 100000 -> "100k", 5000000 -> "5M"."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1_000}k" if n >= 1_000 and n % 1_000 == 0 else str(n)


def machine() -> str:
    """CPU model and its int8 flags, cores, memory and load: the line every benchmark table starts with."""
    from index.common.cpu import cpu_summary

    memory_gib = 0.0
    with contextlib.suppress(OSError, StopIteration):
        memory_gib = next(int(ln.split()[1]) for ln in _lines("/proc/meminfo") if ln.startswith("MemTotal")) / 2**20
    return (
        f"{cpu_summary()}; {os.cpu_count()} cores, {memory_gib:.0f} GiB, Python {platform.python_version()}; "
        f"{contention()}"
    )


def contention() -> str:
    """How busy the machine is (other processes share the cores): load average and CPU pressure."""
    try:
        pressure = f", CPU pressure {_lines('/proc/pressure/cpu')[0].split()[1].removeprefix('avg10=')}% (10 s)"
    except (OSError, IndexError):
        pressure = ""
    return f"load average {os.getloadavg()[0]:.2f}{pressure}"


def _lines(path: str) -> list[str]:
    return Path(path).read_text().splitlines()


def table(header: str, rows: Iterable[str | Sequence[object]]) -> str:
    """A Markdown table. `header` is its cells joined by " | "; so is each row given as a string, and
    a row given as a sequence is its cells (str() of each)."""
    rows = [row if isinstance(row, str) else " | ".join(map(str, row)) for row in rows]
    return "\n".join([f"| {header} |", "|" + "---|" * len(header.split(" | ")), *(f"| {row} |" for row in rows)])


def log(text: str) -> None:
    """Progress, to stderr (stdout is the report)."""
    print(text, file=sys.stderr, flush=True)


def command() -> str:
    """This run's command line, as BENCHMARKS.md quotes it."""
    return ".venv/bin/python " + shlex.join(sys.argv)


def write_json(path: str | Path, data: Any) -> Path:
    """`data` as indented JSON at `path` (folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1), "utf-8")
    return path


def seconds_of(fn: Callable[[], object]) -> float:
    """Wall-clock seconds one call of `fn` takes."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def ms_each(fn: Callable[[T], object], items: Iterable[T]) -> list[float]:
    """Milliseconds of `fn(item)` for each item, one call at a time."""
    return [seconds_of(lambda item=item: fn(item)) * 1000 for item in items]


def in_batches(fn: Callable[[Sequence[T]], object], items: Sequence[T], size: int, rounds: int) -> list[float]:
    """Seconds of each of `rounds` passes over `items` calling `fn` on consecutive batches of `size`."""
    return [seconds_of(lambda: [fn(items[i : i + size]) for i in range(0, len(items), size)]) for _ in range(rounds)]


def rotated(items: Sequence[T], turn: int) -> list[T]:
    """`items` starting at position `turn` (modulo their number): who goes first changes every round,
    so drift in the machine's load hits every contender alike."""
    turn %= len(items)
    return [*items[turn:], *items[:turn]]


def ensure_onnx_export() -> Path:
    """The embedder's ONNX export (fp32 and int8) where the default backend looks, made once if
    missing, as `make serve` does: a benchmark runs on a fresh checkout."""
    import subprocess

    from index.retrieval.embedder import default_onnx_dir

    out = ROOT / default_onnx_dir()
    if not (out / "model_int8.onnx").is_file():
        log(f"exporting the embedder to {out} (once)")
        command = [sys.executable, str(ROOT / "scripts" / "export_onnx.py"), "--out", str(out), "--int8"]
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    os.environ.setdefault("ONNX_DIR", str(out))
    return out


def import_reviews_into(feed: Path, base_index: Path, out: Path) -> dict:
    """Copy `base_index` to `out` and import `feed` with `scripts/import_reviews.py` (a fresh
    process: model load included); the command's wall time, summary line and the machine's load."""
    import shutil
    import subprocess

    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(base_index, out)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "scripts/import_reviews.py", "--no-progress", "--out", str(out), str(feed)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed: {done.stderr[-2000:]}")
    return {"seconds": round(seconds, 1), "out": done.stdout.strip(), "load": contention()}


def bench_dir() -> Path:
    """`var/bench/`, created on first use (a fresh checkout has no `var/`)."""
    path = ROOT / "var" / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path
