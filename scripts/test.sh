#!/usr/bin/env bash
# Installs rtorch with its test extras into a fresh virtualenv (.venv-test) and runs every
# test suite: the Rust tests (cargo test) and the Python tests (pytest).
# This is the README's test command and what CI (.ci/run) runs.
#
# Environment:
#   PYTHON                 interpreter to create the virtualenv with (default: python3)
#   RTORCH_TEST_VENV       virtualenv directory (default: .venv-test)
#   RTORCH_BUILD_PROFILE   cargo profile for the extension (default: release, as
#                          `pip install .`; `dev-opt` builds much faster, same kernels)
# Extra arguments are passed to pytest, e.g. `bash scripts/test.sh -k repr`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${RTORCH_TEST_VENV:-.venv-test}
start=$(date +%s)
phase() { echo "== [$(( $(date +%s) - start ))s] $*"; }

command -v "$PYTHON" >/dev/null || { echo "error: $PYTHON not found" >&2; exit 1; }
command -v cargo >/dev/null || { echo "error: cargo (Rust toolchain) not found" >&2; exit 1; }

phase "creating virtualenv $VENV"
"$PYTHON" -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip

if [[ -n "${RTORCH_BUILD_PROFILE:-}" ]]; then
    export MATURIN_PEP517_ARGS="--profile ${RTORCH_BUILD_PROFILE} ${MATURIN_PEP517_ARGS:-}"
fi
phase "building and installing rtorch[test] (profile: ${RTORCH_BUILD_PROFILE:-release})"
python -m pip install -q ".[test]"

# The Rust tests use the extension's profile, so they reuse the dependencies that
# `pip install` just compiled into target/ instead of building everything a second time.
phase "cargo test (profile: ${RTORCH_BUILD_PROFILE:-release})"
cargo test --workspace --quiet --profile "${RTORCH_BUILD_PROFILE:-release}"

phase "pytest"
# Run against the installed package; the source tree's python/ is not on sys.path.
set +e
python -m pytest tests -q -p no:cacheprovider "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
    echo "error: pytest collected no tests" >&2
    exit 1
fi
phase "done (pytest exit code $rc)"
exit $rc
