"""A fresh machine installs what the lock says, whatever the registry has published since.

The drift test makes a newer release of a pinned package visible to the installer (a wheel
named `lxml-99.0-…`, built on the spot in a `--find-links` folder), runs the Makefile's real
install step into a fresh venv made by the system's `python3 -m venv` (its bundled pip, 23.2.1
with Python 3.11.7), and requires exactly the lock to be installed. Against the Makefile of
`ce28964` (the bundled pip installing the lock) it fails as a newcomer's clone did on
2026-12-07: "In --require-hashes mode, all requirements must have their versions pinned with
==. These do not: lxml[html_clean]>=4.4.2 from …lxml-99.0-py3-none-any.whl".
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.test_dependencies import read_lock

ROOT = Path(__file__).resolve().parent.parent
PLAIN_PYTHON = shutil.which("python3") or sys.executable


def _wheel(folder: Path, name: str, version: str, extras: tuple[str, ...] = ()) -> Path:
    """A minimal, valid, pure-Python wheel of `name` at `version` (a release from the future)."""
    path = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Provides-Extra: {extra}\n" for extra in extras
    )
    files = {
        f"{name}/__init__.py": f'__version__ = "{version}"\n',
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test_install\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    with zipfile.ZipFile(path, "w") as wheel:
        for arcname, text in files.items():
            data = text.encode()
            wheel.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arcname},sha256={digest},{len(data)}")
        wheel.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")
    return path


@pytest.mark.slow
def test_a_newer_release_on_the_registry_does_not_change_what_the_lock_installs(tmp_path):
    pinned = read_lock("requirements.lock")
    assert pinned["lxml"][0] != "99.0"
    future = tmp_path / "future"
    future.mkdir()
    _wheel(future, "lxml", "99.0", extras=("html-clean", "html_clean"))
    venv = tmp_path / "venv"
    machine_wheels = [p for p in ("/opt/wheels",) if Path(p).is_dir()]  # torch's CPU wheel, where kept
    folders = " ".join([*machine_wheels, str(future)])
    env = {
        **os.environ,
        "FIND_LINKS": folders,  # scripts/install_locked.sh (uv)
        "PIP_FIND_LINKS": folders,  # what the bundled pip would read (the Makefile before uv)
        "PYTHON": PLAIN_PYTHON,
    }
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        ["make", "--no-print-directory", f"VENV={venv}", f"PYTHON={PLAIN_PYTHON}", f"{venv}/.runtime"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
    assert done.returncode == 0, f"the locked install failed with a newer lxml on the registry:\n{tail}"
    listed = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; "
            "print('\\n'.join(f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions()))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    installed = {canonicalize_name(line.split("==")[0]): line.split("==")[1] for line in listed}
    assert installed["lxml"] == pinned["lxml"][0], "the registry's newer lxml was installed instead of the pin"
    # Nothing but the lock (and the project, and the installer and the pip that installed it).
    installer = read_lock("requirements-installer.lock")
    expected = {name: version for name, (version, _) in {**pinned, **installer}.items()}
    extra = {n: v for n, v in installed.items() if n not in expected and n not in {"claimcheck", "pip"}}
    wrong = {n: (v, installed.get(n)) for n, v in expected.items() if installed.get(n) != v}
    assert not extra and not wrong, f"not what the lock says: extra {extra}, wrong {wrong}"


@pytest.mark.slow
def test_a_failed_install_ends_with_one_line_naming_the_package_and_the_fix(tmp_path):
    """A lock whose hash the registry's file does not match (as when a release is re-uploaded,
    or the lock was edited by hand): the install stops, and its last line says which package
    and what to run."""
    lock = tmp_path / "broken.lock"
    lock.write_text("six==1.16.0 \\\n    --hash=sha256:" + "0" * 64 + "\n", "utf-8")
    venv = tmp_path / "venv"
    subprocess.run([PLAIN_PYTHON, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {**os.environ, "FIND_LINKS": str(tmp_path)}  # an empty folder: no torch index to ask
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install_locked.sh"), str(venv), str(lock)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {lock} did not install (six==1.16.0)"), done.stderr[-2000:]
    assert "make lock LOCK_ARGS='--upgrade-package six'" in last
