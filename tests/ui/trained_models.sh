#!/usr/bin/env bash
# The real binary on the trained models (skipped, exit 77, until they exist): every available variant
# captions the sample scenes through `edgecap caption --json`, and a piped live session on the scenes
# captions and reports. Prints latency per variant and how often a caption names a ground-truth object.
source "$(dirname "$0")/lib.sh"
models_dir=${EDGECAP_TEST_MODELS_DIR:-$EDGECAP_SOURCE_DIR/models}
pruned_dir=${EDGECAP_TEST_PRUNED_DIR:-$EDGECAP_SOURCE_DIR/pruning_results}
scenes=${EDGECAP_TEST_SCENES:-$EDGECAP_SOURCE_DIR/samples/scenes}
if [[ ! -f $models_dir/lightweight_captioning_model.pt || ! -f $scenes/ground_truth.jsonl ]]; then
  echo "SKIP: no trained model in $models_dir or no scenes in $scenes"
  exit 77
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edgecap-model.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
flags=(--models-dir "$models_dir" --pruned-dir "$pruned_dir" --threads 1)
images=("$scenes"/*.png)
ran=0
for model in original pruned; do
  for precision in fp32 bf16 int8; do
    set +e
    "$EDGECAP_BIN" caption "${flags[@]}" --json --model "$model" --precision "$precision" "${images[@]}" \
      >"$WORK/$model-$precision.jsonl" 2>"$WORK/err.txt"
    rc=$?
    set -e
    if [[ $rc == 3 ]]; then
      echo "$model $precision: not available: $(head -c 300 "$WORK/err.txt")"
      continue
    fi
    [[ $rc == 0 ]] || fail "$model $precision: exit $rc: $(cat "$WORK/err.txt")"
    ran=$((ran + 1))
    "$EDGECAP_PYTHON" - "$WORK/$model-$precision.jsonl" "$scenes/ground_truth.jsonl" "$model $precision" \
      "${#images[@]}" <<'PY' || fail "$model $precision: captions are wrong"
import json, statistics, sys, os
lines = [json.loads(l) for l in open(sys.argv[1])]
truth = {}
for l in open(sys.argv[2]):
    d = json.loads(l)
    truth[d["image"]] = {o["category"] for o in d.get("objects", [])}
assert len(lines) == int(sys.argv[4]), f"{len(lines)} lines for {sys.argv[4]} images"
assert all(d["caption"].strip() for d in lines), "an empty caption"
named = sum(any(c in d["caption"] for c in truth.get(os.path.basename(d["image"]), ())) for d in lines)
ms = [d["timings"]["total_ms"] for d in lines]
print(f"{sys.argv[3]}: {len(lines)} scenes, median {statistics.median(ms):.1f} ms/caption (1 thread), "
      f"finished {sum(d['finished'] for d in lines)}/{len(lines)}, names a true object in {named}/{len(lines)}")
print("   e.g.", lines[0]["image"].split("/")[-1], "->", lines[0]["caption"])
PY
  done
done
((ran > 0)) || fail "no variant could run"

set +e
out=$(printf '1\n1\ns\np\nq\n' | "$EDGECAP_BIN" "${flags[@]}" --source "$scenes" --no-window --no-speech 2>&1)
rc=$?
set -e
[[ $rc == 0 ]] || fail "live session on the trained model: exit $rc: $out"
grep -qE "^\[caption\] \S" <<<"$out" || fail "live session: no caption: $out"
grep -q "Cumulative: total inferences 1" <<<"$out" || fail "live session: no report: $out"
grep -E "^(encoder_dim|architecture|parameters)" <<<"$out" || true
echo "PASS trained models ($ran variants)"
