#!/usr/bin/env bash
# M to a model that fails to load keeps the previous one running (with the error shown); auto-caption
# (--auto, and A toggling) captions by itself and marks those lines [auto].
source "$(dirname "$0")/lib.sh"
make_workdir
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
mkdir pruned
cp "$EDGECAP_SOURCE_DIR/tests/data/broken_no-step.pt" pruned/Pruning_epoch_1_checkpoint.pt
common=(--source imgs --no-window --no-speech --threads 1 --models-dir models --pruned-dir pruned)

set +e
out=$(printf '1\n1\nm\n2\n1\ns\n' | "$EDGECAP_BIN" "${common[@]}" 2>&1)
rc=$?
set -e
[[ $rc == 0 ]] || fail "exit $rc: $out"
grep -q "2. Pruned Model (Struct 30% + Mag 10%) ✅ available" <<<"$out" || fail "the broken file should look available: $out"
grep -qE "^\[menu\] could not load Pruned Model \(Struct 30% \+ Mag 10%\) \+ FP32: .+" <<<"$out" ||
  fail "no load error shown: $out"
grep -q "^\[menu\] keeping Original Model + FP32" <<<"$out" || fail "previous model not kept: $out"
after=$(sed -n '/^\[menu\] keeping/,$p' <<<"$out")
grep -q "^\[caption\] " <<<"$after" || fail "S after the failed switch did not caption: $out"

# Auto-caption: three different scenes in a folder; captions arrive without S.
mkfifo keys
"$EDGECAP_BIN" "${common[@]}" --model original --precision fp32 --auto --auto-interval 0.5 <keys >auto.log 2>&1 &
app=$!
exec 3>keys
log() { cat auto.log; }
wait_for_text log "^\[caption\] .*\[auto\]$" 3
echo a >&3  # off
wait_for_text log "^\[auto\] off"
echo q >&3
exec 3>&-
wait "$app" || fail "edgecap exited with $?: $(log)"
echo "PASS switch failure keeps the model; auto-caption"
