"""Every benchmark starts on a fresh checkout: its `--help` runs, and the cheapest run for real, tiny."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.processes import ROOT

BENCHMARKS = sorted(
    p for p in (ROOT / "benchmarks").glob("*.py") if p.name not in ("harness.py", "locustfile.py", "peer_judged.py")
)  # locustfile.py is loaded by locust and peer_judged.py by uvicorn, not run; harness.py is what the others import


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_every_benchmark_answers_help():
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(BENCHMARKS, pool.map(lambda p: _run(str(p), "--help"), BENCHMARKS), strict=True))
    failed = {p.name: d.stderr[-500:] for p, d in done.items() if d.returncode != 0 or "usage:" not in d.stdout}
    assert not failed
    assert len(done) >= 12


@pytest.mark.parametrize(
    "args",
    [
        ("benchmarks/splitters.py", "--copies", "1", "--repeats", "1"),
        ("benchmarks/synthetic_corpus.py", "--articles", "3", "--seed", "1"),
        ("benchmarks/lexical_scale.py", "--sizes", "2k", "--claims", "20"),
        ("benchmarks/sync_speed.py", "--pages", "3"),
    ],
)
def test_the_cheapest_benchmarks_run_tiny(args):
    done = _run(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()
