#!/usr/bin/env bash
# Quick start: install dependencies, build, and start edgecap on its default model (Original, FP32).
# Uses the camera when one exists (/dev/video0), else the shipped demo scenes. Extra arguments go to edgecap.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
build_dir=${EDGECAP_BUILD_DIR:-build}
source_args=(--source demo)
[[ -e /dev/video0 ]] && source_args=(--source 0)
exec "$build_dir/edgecap" --model original --precision fp32 "${source_args[@]}" "$@"
