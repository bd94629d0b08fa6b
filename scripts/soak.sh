#!/usr/bin/env bash
# Long-run check of the core: >= 10,000 captions and >= 200 model switches (FP32 -> INT8 -> BF16 -> ...,
# greedy and beam 3, a refused broken file every 10th switch) on the tiny test model, with process RSS at
# start / after warm-up / end / peak, open fds and threads. Fails when RSS grows more than the limit after
# warm-up or when fds/threads are not given back (docs/RELIABILITY.md "Soak" explains the limit).
#   scripts/soak.sh                      # full: 10000 captions, 200 switches (~2.5 min on 2 cores)
#   scripts/soak.sh 300 20               # what the `soak_short` ctest runs
#   scripts/soak.sh --app [3000 60]      # the real binary instead: S and M through a pipe, /proc readings
#                                        # (tests/reliability/app_soak.py; ~70 ms a caption round trip)
#   EDGECAP_SOAK_MODEL=models/lightweight_captioning_model.pt EDGECAP_SOAK_INT8=models/lightweight_captioning_model.int8.pt \
#     EDGECAP_SOAK_LIMIT_MB=32 scripts/soak.sh 2000 60      # on a trained model (bigger allocator noise)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${EDGECAP_BUILD_DIR:-build}
if [[ ${1:-} == --app ]]; then
  shift
  [[ -x "$build_dir/edgecap" ]] || scripts/build.sh >/dev/null
  EDGECAP_BIN="$build_dir/edgecap" exec /usr/bin/python3 tests/reliability/app_soak.py "${1:-3000}" "${2:-60}" \
    "${EDGECAP_SOAK_LIMIT_MB:-4}"
fi
captions=${1:-10000}
switches=${2:-200}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
[[ -f "$build_dir/CMakeCache.txt" ]] || cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" --target edgecap_soak -j "$(nproc)" >/dev/null
args=(--model "${EDGECAP_SOAK_MODEL:-tests/data/tiny_model.pt}" --int8 "${EDGECAP_SOAK_INT8:-tests/data/tiny_model.int8.pt}"
      --broken tests/data/broken_wrong-shape.pt --captions "$captions" --switches "$switches")
[[ -n ${EDGECAP_SOAK_LIMIT_MB:-} ]] && args+=(--max-growth-mb "$EDGECAP_SOAK_LIMIT_MB")
echo "scripts/soak.sh: $build_dir/tests/reliability/edgecap_soak ${args[*]}"
# LibTorch's one-time qnnpack notice goes to stderr through glog; keep the report readable.
"$build_dir/tests/reliability/edgecap_soak" "${args[@]}" 2> >(grep -v -e 'reduce_range' -e 'InitGoogleLogging' >&2)
