#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install dependencies, build, run every CTest test
# (unit, model, ui, python, bench labels). Pass ctest arguments to narrow it, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
build_dir=${EDGECAP_BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure --timeout 900 "$@"
