#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build of the unit tests (our code is instrumented; LibTorch,
# OpenCV, espeak-ng and SDL are not). Leak checking is on with suppressions for the C libraries' own
# process-lifetime allocations (tests/sanitizers/lsan.supp).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${EDGECAP_ASAN_BUILD_DIR:-build-asan}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGECAP_SANITIZE=ON \
  -DEDGECAP_BUILD_BENCH=OFF
cmake --build "$build_dir" -j "$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Each GoogleTest case is its own process (gtest_discover_tests) and most wait on LibTorch start-up: run
# two at a time, so the whole run stays well inside the CI budget (~25 min on 2 cores).
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" -L unit "$@"
