#!/usr/bin/env bash
# Install hashed locks into a venv, the one way the Makefile and the Dockerfile both install.
#
#   scripts/install_locked.sh VENV LOCK [LOCK ...]     # the locks' packages, hash-checked, wheels only
#   scripts/install_locked.sh VENV --project DIR       # the project itself: no deps, no build isolation
#
# 1. The installer is locked too: uv, at the version and hashes of requirements-installer.lock.
#    The venv's bundled pip (whatever the system's Python ships: 23.2.1 with Python 3.11.7) does
#    one thing only: install that one wheel, hash-checked, with no dependencies to resolve. So no
#    install depends on the bundled pip's resolver (pip 23.2.1 takes the newest lxml for
#    justext's `lxml[html_clean]` before it meets the lock's pin, then refuses it for having no
#    hash: the lock broke whenever the registry published a newer lxml).
# 2. uv installs each lock with --require-hashes (every package pinned, every file's sha256
#    checked) and --only-binary :all: (no build code runs). Measured on a fresh clone (BENCHMARKS.md,
#    "Installing"): .venv/.test in 14.5 s with uv against 88.6 s with pip 26.3, no caches.
# 3. torch's CPU build is not on PyPI (only the multi-GB CUDA one). It comes from FIND_LINKS (a
#    folder of wheels: /opt/wheels where this machine keeps it; uv reads no pip.conf) or, without
#    one, from the PyTorch CPU index. Whichever serves it, only the file whose sha256 is in the
#    lock installs, so every index may be asked for every package (unsafe-best-match is safe here).
set -euo pipefail

venv=${1:?usage: install_locked.sh VENV LOCK [LOCK ...] | VENV --project DIR}
shift
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
installer_lock=${INSTALLER_LOCK:-$root/requirements-installer.lock}
uv_version=$(sed -n 's/^uv==\([^ ]*\).*/\1/p' "$installer_lock")
uv="$venv/bin/uv"

if [ "$("$uv" --version 2>/dev/null | cut -d' ' -f2)" != "$uv_version" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
        --require-hashes --no-deps --only-binary :all: -r "$installer_lock" \
        || { echo "error: could not install uv==$uv_version from $installer_lock into $venv (see above)" >&2; exit 1; }
fi

if [ "${1:-}" = "--project" ]; then
    exec "$uv" pip install --quiet --python "$venv/bin/python" --no-deps --no-build-isolation "${@:2}"
fi

if [ -z "${FIND_LINKS+set}" ] && [ -d /opt/wheels ]; then FIND_LINKS=/opt/wheels; fi
sources=()
for folder in ${FIND_LINKS:-}; do sources+=(--find-links "$folder"); done
if [ ${#sources[@]} -eq 0 ]; then
    sources=(--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match)
fi

errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
for lock in "$@"; do
    if ! "$uv" pip install --quiet --python "$venv/bin/python" --require-hashes --only-binary :all: \
        "${sources[@]}" -r "$lock" 2> >(tee "$errors" >&2); then
        wait  # for tee
        package=$(grep -o '`[A-Za-z0-9._-]*==[^`]*`' "$errors" | head -1 | tr -d '`' || true)
        if [ -n "$package" ]; then
            echo "error: $lock did not install ($package): uv's reason is above." \
                "If the registry no longer serves the locked file, re-pin it: make lock LOCK_ARGS='--upgrade-package ${package%%==*}'" >&2
        else
            echo "error: $lock did not install: uv's reason is above (a registry or index out of reach?)" >&2
        fi
        exit 1
    fi
done
