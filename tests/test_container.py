"""The container, checked without a Docker engine (none runs here).

The Dockerfile's final stage is parsed, and its exact start command (ENTRYPOINT + CMD) runs
from the repo root with the environment its ENV lines set, the container's paths mapped
onto this checkout (/venv → this venv, /app → the repo root); only INDEX_DIR and ONNX_DIR
(what the image builds, made here by the test session) and BIND (a free loopback port) are
overridden. Once /readyz answers 200, the HEALTHCHECK
command itself must exit 0, and once the server is stopped, non-zero.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.processes import ROOT, free_port, get_json

DOCKERFILE = ROOT / "Dockerfile"
# Where the final stage puts things, and where they are in this checkout.
CONTAINER_PATHS = {"/venv": Path(sys.prefix), "/app": ROOT}
# The only host variables passed on: the container has its own PATH (mapped), HOME and locale;
# OPENBLAS_* are set on some machines here because their processors need them.
HOST_VARIABLES = ("PATH", "LANG", "LC_ALL", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction: continuations joined, comments dropped, as Docker reads it."""
    out, pending = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or (not pending and not line.strip()):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, rest = (pending + line).strip().partition(" ")
        out.append((keyword.upper(), rest.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def stages(text: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            result.append([])
        assert result, "instruction before the first FROM"
        result[-1].append((keyword, rest))
    return result


def final_stage() -> list[tuple[str, str]]:
    return stages(DOCKERFILE.read_text("utf-8"))[-1]


def one(stage: list[tuple[str, str]], keyword: str) -> str:
    found = [rest for k, rest in stage if k == keyword]
    assert len(found) == 1, f"expected one {keyword} in the final stage, found {found}"
    return found[0]


def host_path(value: str) -> str:
    """A container path (or a ':'-separated list of them) as the same place in this checkout."""
    parts = []
    for part in value.split(":"):
        for inside, outside in CONTAINER_PATHS.items():
            if part == inside or part.startswith(inside + "/"):
                part = str(outside) + part[len(inside) :]
        parts.append(part)
    return ":".join(parts)


def container_env(stage: list[tuple[str, str]], home: Path, *, on_host: bool = True) -> dict[str, str]:
    """The environment the final stage's ENV lines set (with $VAR expanded), on this host or as declared."""
    env = {k: os.environ[k] for k in HOST_VARIABLES if k in os.environ}
    env["HOME"] = str(home)
    for keyword, rest in stage:
        if keyword != "ENV":
            continue
        tokens = shlex.split(rest)
        pairs = [t.split("=", 1) for t in tokens] if "=" in tokens[0] else [[tokens[0], " ".join(tokens[1:])]]
        for name, value in pairs:
            value = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value)
            env[name] = host_path(value) if on_host else value
    return env


def exec_form(rest: str) -> list[str]:
    assert rest.startswith("["), f"not the exec (JSON) form: {rest}"
    command = json.loads(rest)
    assert isinstance(command, list) and all(isinstance(a, str) for a in command)
    return command


def start_command(stage) -> list[str]:
    entrypoint = [exec_form(rest) for k, rest in stage if k == "ENTRYPOINT"]
    return (entrypoint[-1] if entrypoint else []) + exec_form(one(stage, "CMD"))


def healthcheck(stage) -> tuple[list[str], float]:
    """The HEALTHCHECK command as Docker runs it, and its --timeout in seconds."""
    options, _, command = one(stage, "HEALTHCHECK").partition("CMD ")
    timeout = re.search(r"--timeout=(\d+)s", options)
    command = command.strip()
    argv = exec_form(command) if command.startswith("[") else ["/bin/sh", "-c", command]
    return argv, float(timeout.group(1)) if timeout else 30.0


def test_final_stage_is_slim_non_root_and_self_contained():
    all_stages = stages(DOCKERFILE.read_text("utf-8"))
    assert len(all_stages) >= 2, "multi-stage: build tools and sources stay in the build stage"
    final = all_stages[-1]
    assert re.fullmatch(r"python:3\.11-slim\S*", one(final, "FROM")), one(final, "FROM")
    user = one(final, "USER").split(":")
    assert all(part.isdigit() and int(part) != 0 for part in user), f"USER must be a numeric non-root id: {user}"
    env = container_env(final, Path("/home/app"), on_host=False)
    assert env["HF_HUB_OFFLINE"] == "1", "the model must be read from the image, never fetched at start"
    copied = " ".join(rest for k, rest in final if k == "COPY")
    assert "/venv /venv" in copied and "gunicorn.conf.py" in copied
    assert env["INDEX_DIR"] == one(final, "WORKDIR") + "/var/index" and "./var/index" in copied, "index baked in"
    assert start_command(final)[0] == "gunicorn"
    assert "/readyz" in " ".join(healthcheck(final)[0])


def test_the_image_installs_the_way_the_makefile_does():
    """The same installer pin, the same lock, the same flags: both run scripts/install_locked.sh,
    which installs uv from its hashed lock, then the lock hash-checked and wheels only; the one
    install without hashes is the project itself, --no-deps."""
    runs = [rest for stage in stages(DOCKERFILE.read_text("utf-8")) for k, rest in stage if k == "RUN"]
    installs = [r for r in runs if "install" in r and "build_index" not in r]
    assert installs
    for run in installs:
        assert run.startswith("scripts/install_locked.sh /venv "), f"an install outside the locked path: {run}"
        assert "pip install" not in run and "uv " not in run, run
    assert any(r.endswith(" requirements.lock") for r in installs)
    assert any(" --project " in r for r in installs)
    assert any("scripts/build_index.py" in r for r in runs), "the index is built at image build time"
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert re.search(r"^INSTALL := scripts/install_locked\.sh$", makefile, re.M)
    recipes = [line for line in makefile.splitlines() if line.startswith("\t")]
    assert not [line for line in recipes if "pip install" in line], "the Makefile installs only through the script"
    script = (ROOT / "scripts" / "install_locked.sh").read_text("utf-8")
    assert "--require-hashes --only-binary :all:" in script and "requirements-installer.lock" in script


@pytest.mark.slow
def test_container_start_command_serves_and_passes_its_healthcheck(sample_index_dir, onnx_dir, tmp_path):
    stage = final_stage()
    command, (check, check_timeout) = start_command(stage), healthcheck(stage)
    port = free_port()
    env = container_env(stage, tmp_path)
    # The index and the ONNX export the image builds at build time, made here by the session fixtures.
    env.update(INDEX_DIR=str(sample_index_dir), ONNX_DIR=str(onnx_dir), BIND=f"127.0.0.1:{port}")
    cwd = host_path(one(stage, "WORKDIR"))
    log = tmp_path / "container.log"

    def run_check() -> subprocess.CompletedProcess:
        # Docker's timeout, with room for a busy 2-core machine (python starts, one local request).
        return subprocess.run(check, cwd=cwd, env=env, capture_output=True, text=True, timeout=max(check_timeout, 15))

    with log.open("w") as out:
        # subprocess looks `gunicorn` up on env["PATH"], as Docker does: the mapped /venv/bin first.
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"{command} exited {proc.returncode}:\n{log.read_text()}"
            try:
                if get_json(f"http://127.0.0.1:{port}/readyz")[0] == 200:
                    break
            except OSError:  # refused, or timed out while the workers load (connections wait in the backlog)
                pass
            assert time.monotonic() < deadline, f"not ready in 90 s:\n{log.read_text()}"
            time.sleep(0.25)

        done = run_check()
        assert done.returncode == 0, f"HEALTHCHECK failed on a ready server: {done.stdout}{done.stderr}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            stopped = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            stopped = proc.wait()
    assert stopped == 0, f"gunicorn did not stop cleanly on SIGTERM (exit {stopped}):\n{log.read_text()}"

    done = run_check()
    assert done.returncode != 0, "HEALTHCHECK passed with no server running"
