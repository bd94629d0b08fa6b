#!/usr/bin/env bash
# Bounded libFuzzer run of every fuzz target (fuzz/): builds them with clang + ASan/UBSan in build-fuzz,
# fuzzes each for SECONDS (default 60) starting from the committed seed corpus, and fails if any target
# found a crash, a sanitizer report, a leak, a timeout or an out-of-memory input.
#   scripts/fuzz.sh [SECONDS]          e.g. scripts/fuzz.sh 600 for a longer run
# New interesting inputs go to build-fuzz/corpus/<target> (not committed); a failing input is written to
# build-fuzz/artifacts/<target>/ and its path printed: rerun one with `build-fuzz/fuzz/fuzz_<target> FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build_dir=${EDGECAP_FUZZ_BUILD_DIR:-build-fuzz}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=/usr/bin/clang++ -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" \
  -DEDGECAP_FUZZ=ON -DEDGECAP_SANITIZE=ON -DEDGECAP_BUILD_TESTS=OFF -DEDGECAP_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" --target fuzzers -j "$(nproc)"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# OpenCV reads its decode cap before main, so it must come from the environment: 4096^2 pixels (camera
# sized) instead of the default 2^30, which lets a 200-byte JPEG ask for 2.7 GB (found by this fuzzer).
export OPENCV_IO_MAX_IMAGE_PIXELS=${OPENCV_IO_MAX_IMAGE_PIXELS:-16777216}

# target, max input length, dictionary
targets=("metadata 16384 fuzz/metadata.dict" "frame_decode 65536 -")
failed=()
for entry in "${targets[@]}"; do
  read -r name max_len dict <<<"$entry"
  work="$build_dir/corpus/$name"
  artifacts="$build_dir/artifacts/$name"
  mkdir -p "$work" "$artifacts"
  log="$build_dir/fuzz_$name.log"
  args=(-max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=3072
        -print_final_stats=1 -artifact_prefix="$artifacts/")
  [[ $dict != - ]] && args+=(-dict="$dict")
  echo "== fuzz_$name for ${seconds}s (log: $log)"
  # The first corpus folder receives new inputs; the committed seeds are read only.
  if "$build_dir/fuzz/fuzz_$name" "${args[@]}" "$work" "fuzz/corpus/$name" >"$log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log" | sed 's/^/   /'
    echo "   corpus now $(find "$work" -type f | wc -l) + $(find "fuzz/corpus/$name" -type f | wc -l) seed files; no failure"
  else
    echo "   FAILED: $(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|Test unit written' "$log" || tail -1 "$log")"
    grep -E 'Test unit written to' "$log" | sed 's/^/   /' || true
    failed+=("$name")
  fi
done
if ((${#failed[@]})); then
  echo "fuzz.sh: failures in: ${failed[*]} (see $build_dir/fuzz_<target>.log)"
  exit 1
fi
echo "fuzz.sh: all targets ran ${seconds}s without a failure"
