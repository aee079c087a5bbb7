#!/usr/bin/env bash
# Time a fresh venv from the locks (.venv/.test's work) with a pinned pip and with the pinned uv,
# no caches, each into a fresh venv made by the system's python3 (BENCHMARKS.md, "Installing").
#   bash benchmarks/installers.sh [ROUNDS]
set -uo pipefail
rounds=${1:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/clone" && cd "$work/clone"
grep -o -E 'avx512_vnni|avx512f|avx2' /proc/cpuinfo | sort -u | tr '\n' ' '; echo "($(nproc) cores)"
python3 -m pip download -q --no-deps --no-cache-dir pip==26.3 -d "$work/pip" >/dev/null
printf 'pip==26.3 --hash=sha256:%s\n' "$(sha256sum "$work"/pip/pip-26.3-*.whl | cut -c1-64)" > "$work/pip.lock"
find_links=(); [ -d /opt/wheels ] && find_links=(--find-links /opt/wheels)
for round in $(seq "$rounds"); do
    rm -rf "$work/v" "$work/uvcache"
    start=$(date +%s.%N)
    python3 -m venv "$work/v"
    "$work/v/bin/python" -m pip install -q --no-cache-dir --require-hashes --no-deps -r "$work/pip.lock"
    for step in "-r requirements.lock" "--no-deps --no-build-isolation -e ." "-r requirements-test.lock"; do
        extra=(); [[ $step == -r* ]] && extra=(--require-hashes --only-binary :all:)
        # shellcheck disable=SC2086
        "$work/v/bin/python" -m pip install -q --no-cache-dir "${extra[@]}" $step 2>&1 | grep -v "^WARNING: Location" | tail -2
    done
    echo "round $round, pip 26.3: $(echo "$(date +%s.%N) - $start" | bc) s"
    rm -rf "$work/v"
    start=$(date +%s.%N)
    python3 -m venv "$work/v"
    UV_CACHE_DIR="$work/uvcache" scripts/install_locked.sh "$work/v" requirements.lock
    UV_CACHE_DIR="$work/uvcache" scripts/install_locked.sh "$work/v" --project -e .
    UV_CACHE_DIR="$work/uvcache" scripts/install_locked.sh "$work/v" requirements-test.lock
    echo "round $round, uv (scripts/install_locked.sh): $(echo "$(date +%s.%N) - $start" | bc) s"
done
