"""The installed set is consistent: the known sentence-transformers / transformers trap cannot slip in."""

import subprocess
import sys
from importlib.metadata import requires, version

from packaging.requirements import Requirement


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
