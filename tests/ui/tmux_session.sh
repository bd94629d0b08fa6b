#!/usr/bin/env bash
# (a) A real terminal session in tmux: menus by keystrokes, S, P (report sections), M -> INT8, S, Q; exit
# code 0 and the terminal restored. (b) The --wav output is speech of plausible length, not silence.
source "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || fail "tmux is not installed"
make_workdir
session="edgecap-ui-$$"
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

screen() { tmux capture-pane -p -J -S -5000 -t "$session"; }
keys() { tmux send-keys -t "$session" "$@"; }

tmux -f /dev/null new-session -d -s "$session" -x 220 -y 60
tmux set-option -t "$session" history-limit 20000 >/dev/null
keys "cd '$WORK' && '$EDGECAP_BIN' --source imgs --no-window --threads 1 --wav '$WORK/out.wav'" \
  " --models-dir models --pruned-dir pruned; echo EXIT=\$? > exit_code; stty -a > stty_after" Enter

wait_for_text screen "Choose a model \(1-2\)"
screen | grep -q "1. Original Model ✅ available" || fail "model menu lacks the available original model"
screen | grep -q "2. Pruned Model.*❌ file not found" || fail "model menu does not say why pruned is missing"
keys 2 Enter
wait_for_text screen "is not available: file not found"
keys 1 Enter
wait_for_text screen "Choose a quantization option \(1-4\)"
screen | grep -q "FP16 (Half Precision) ❌" || fail "FP16 should be unavailable on CPU with a reason"
keys 1 Enter
wait_for_text screen "=== Automatic size detection: Original Model \+ FP32 ==="
wait_for_text screen "^Keys:"
screen | grep -q "encoder_dim 8" || fail "size detection does not show the metadata dimensions"

keys s
wait_for_text screen "^\[caption\] .+  \(model [0-9.]+ ms, frame age [0-9]+ ms\)"
keys p
wait_for_text screen "Cumulative: total inferences 1"
for section in "=== Performance statistics" "^Model: +Original Model \+ FP32" "^File: " "^Latency \(last 30\): +mean" \
  "^Latency \(session\): +mean" "^Throughput: FPS" "Model vs end-to-end" "^Stages" "^Frame age: +mean" \
  "^Memory: +CPU RSS .* MB \(peak .* MB\), GPU: n/a" "^Runtime: +threads 1 "; do
  screen | grep -qE -- "$section" || fail "P report lacks section '$section'"
done

keys m
wait_for_text screen "Choose a model \(1-2\)" 3
keys 1 Enter
wait_for_text screen "Choose a quantization option \(1-4\)" 2
keys 4 Enter
wait_for_text screen "now running Original Model \+ INT8"
keys s
wait_for_text screen "^\[caption\] " 2
keys p
wait_for_text screen "^Model: +Original Model \+ INT8"
screen | grep -qE "quantized engine (qnnpack|onednn|fbgemm)" || fail "INT8 report does not name the quantized engine"
keys q
wait_for_text screen "^bye"
wait_for_text "cat $WORK/exit_code" "EXIT="
[[ $(cat "$WORK/exit_code") == "EXIT=0" ]] || fail "exit code: $(cat "$WORK/exit_code")"
wait_for_text "cat $WORK/stty_after" "speed"
check_stty_restored "$WORK/stty_after"

# (b) the spoken caption: 16-bit mono WAV, long enough to be words, loud enough to be speech.
[[ -s $WORK/out.wav ]] || fail "no WAV written"
"$EDGECAP_PYTHON" - "$WORK/out.wav" <<'PY' || fail "WAV is not plausible speech"
import sys, wave
import numpy as np
with wave.open(sys.argv[1]) as w:
    assert w.getnchannels() == 1 and w.getsampwidth() == 2, (w.getnchannels(), w.getsampwidth())
    rate = w.getframerate()
    samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64)
seconds = len(samples) / rate
rms = np.sqrt(np.mean(samples ** 2)) if len(samples) else 0.0
frames = samples[: len(samples) // 256 * 256].reshape(-1, 256)
voiced = np.mean(np.sqrt(np.mean(frames ** 2, axis=1)) > 300) if len(frames) else 0.0
print(f"wav: {seconds:.2f} s at {rate} Hz, rms {rms:.0f}, voiced fraction {voiced:.2f}")
# The tiny model's caption is ~20 words: at 165 wpm that is several seconds.
assert 1.0 < seconds < 60.0, seconds
assert rms > 200, rms
assert voiced > 0.2, voiced
PY
echo "PASS tmux session"
