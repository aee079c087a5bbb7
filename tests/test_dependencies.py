"""The installed set is consistent: the known sentence-transformers / transformers trap cannot slip in."""

import importlib.util
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution, requires, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


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

LOCK = Path(__file__).resolve().parent.parent / "requirements.lock"
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
