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

# The crates must also build for Arm Linux and for macOS on Apple silicon: every x86
# intrinsic behind a `cfg(target_arch)`, every Linux call behind a `cfg(target_os)`.
# Checked, warnings as errors, for each of those targets the toolchain has
# (`rustup target add aarch64-unknown-linux-gnu aarch64-apple-darwin`).
installed=$(rustup target list --installed 2>/dev/null || true)
for target in aarch64-unknown-linux-gnu aarch64-apple-darwin; do
    if grep -qx "$target" <<<"$installed"; then
        phase "cargo check --target $target"
        PYO3_CROSS_PYTHON_VERSION=3.11 RUSTFLAGS="-D warnings" \
            cargo check --quiet --workspace --all-targets --target "$target"
    else
        phase "skipped: cargo check for $target (rustup target add $target)"
    fi
done

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
