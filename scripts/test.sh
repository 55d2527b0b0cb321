#!/usr/bin/env bash
# Installs rtorch with its test extras into .venv-test and runs every test suite.
# This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-test
. .venv-test/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q ".[test]"
cargo test --workspace --quiet
# Run from tests/ against the installed package (not the source tree).
python -m pytest tests -q -p no:cacheprovider
