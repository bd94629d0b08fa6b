#!/usr/bin/env bash
# main() maps each failure to its exit code (include/edgecap/error.h) and says what to do on stderr.
source "$(dirname "$0")/lib.sh"
make_workdir
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

expect() {  # expect CODE STDERR_PATTERN -- args...
  local code=$1 pattern=$2
  shift 3
  set +e
  "$EDGECAP_BIN" "$@" </dev/null >stdout.txt 2>stderr.txt
  local rc=$?
  set -e
  [[ $rc == "$code" ]] || fail "edgecap $* -> exit $rc, expected $code; stderr: $(cat stderr.txt)"
  grep -qE -- "$pattern" stderr.txt stdout.txt || fail "edgecap $* -> output lacks '$pattern': $(cat stderr.txt stdout.txt)"
}

expect 0 "^edgecap \{run\|caption\|bench\}" -- --help
expect 0 "^LibTorch [0-9.]+" -- --version
grep -q "^OpenCV 4" stdout.txt || fail "--version lacks the OpenCV version"
grep -q "^build type " stdout.txt || fail "--version lacks the build type"
expect 2 "^edgecap: unknown option '--bogus'" -- --bogus
expect 2 "^edgecap: --precision: 'fp64' is not valid; expected fp32, fp16, bf16 or int8" -- --precision fp64
(unset DISPLAY; expect 0 "^edgecap: --window: no usable display.*running in terminal mode" -- --window --source imgs \
  --models-dir models)
expect 3 "^edgecap: --precision fp16 is not available for Original Model: .+" -- --model original --precision fp16 \
  --source imgs --no-window --models-dir models
expect 3 "^edgecap: .*not available" -- --model original --source imgs --no-window --models-dir nowhere
expect 3 "^edgecap: .*step" -- --model "$EDGECAP_SOURCE_DIR/tests/data/broken_no-step.pt" --precision fp32 \
  --source imgs --no-window
expect 4 "^edgecap: .*--source demo" -- --source "$WORK/no/such/place" --no-window --models-dir models
echo "PASS exit codes"
