#!/usr/bin/env bash
# (c) Under Xvfb with --window: the preview window shows the frame with the overlay text drawn over it.
# The screenshot is kept as $1/window_overlay.png (the build dir) for a human to look at.
source "$(dirname "$0")/lib.sh"
artifacts=${1:-${TMPDIR:-/tmp}}
mkdir -p "$artifacts"
command -v Xvfb >/dev/null || fail "Xvfb is not installed"
command -v import >/dev/null || fail "imagemagick's import is not installed"
make_workdir
# One solid-colour frame, so every pixel of the window that is not that colour was drawn by edgecap.
rm "$WORK"/imgs/scene1.png "$WORK"/imgs/scene2.png
display_number=""
for n in $(seq 99 -1 80); do
  [[ -e /tmp/.X$n-lock || -e /tmp/.X11-unix/X$n ]] && continue
  display_number=$n
  break
done
[[ -n $display_number ]] || fail "no free X display number between :80 and :99"
Xvfb ":$display_number" -screen 0 1280x1024x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
xvfb_pid=$!
app_pid=""
cleanup() {
  [[ -n $app_pid ]] && kill "$app_pid" 2>/dev/null || true
  kill "$xvfb_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export DISPLAY=":$display_number"
deadline=$((SECONDS + WAIT_S))
until xdpyinfo >/dev/null 2>&1 || [[ -e /tmp/.X11-unix/X$display_number ]]; do
  ((SECONDS < deadline)) || fail "Xvfb did not start: $(cat "$WORK/xvfb.log")"
  sleep 0.2
done

cd "$WORK"
mkfifo keys
"$EDGECAP_BIN" --window --source imgs --model original --precision fp32 --no-speech --threads 1 \
  --models-dir models <keys >app.log 2>&1 &
app_pid=$!
exec 3>keys  # holds stdin open: EOF would quit
log() { cat app.log; }
wait_for_text log "^Preview: window"
echo s >&3
wait_for_text log "^\[caption\] "
sleep 2  # let the window repaint with the caption (the screenshot is not timed, only delayed)
import -display "$DISPLAY" -window root "$artifacts/window_overlay.png"
echo h >&3
wait_for_text log "^\[heatmap\] on"
sleep 2
import -display "$DISPLAY" -window root "$artifacts/window_heatmap.png"
echo q >&3
exec 3>&-
wait "$app_pid" || fail "edgecap exited with $?: $(log)"
app_pid=""

"$EDGECAP_PYTHON" - "$artifacts/window_overlay.png" "$artifacts/window_heatmap.png" <<'PY' || fail "overlay check failed (see $artifacts/window_overlay.png)"
import sys
import numpy as np
from PIL import Image
def bgr(path):
    return np.asarray(Image.open(path).convert("RGB"))[:, :, ::-1]
shot = bgr(sys.argv[1])
raw = np.array([30, 120, 200], np.int16)  # the frame's BGR colour
match = np.all(np.abs(shot.astype(np.int16) - raw) <= 2, axis=2)
ys, xs = np.nonzero(match)
assert len(ys) > 10000, f"the frame is not on screen ({len(ys)} matching pixels)"
top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
# The overlay band sits on top of the frame, inside the same columns: the non-black rows above `top`.
lit_rows = np.nonzero(shot[:top, left:right + 1].max(axis=2).max(axis=1) > 8)[0]
assert len(lit_rows) > 0, "nothing drawn above the frame: no overlay band"
band = shot[lit_rows.min():top, left:right + 1]
band_differs = np.mean(~np.all(np.abs(band.astype(np.int16) - raw) <= 2, axis=2))
white = np.sum(np.all(band >= 200, axis=2))
print(f"frame {right - left + 1}x{bottom - top + 1} at ({left},{top}); overlay band {band.shape[0]} rows, "
      f"differs from the frame {band_differs:.2f}, white text pixels {white}")
assert band_differs > 0.5, band_differs
assert white > 50, white
# H blends the attention heatmap over the frame: most of the plain frame colour must be gone.
heat = bgr(sys.argv[2])
still_raw = np.sum(np.all(np.abs(heat.astype(np.int16) - raw) <= 2, axis=2))
print(f"with the heatmap: {still_raw} of {len(ys)} frame pixels unchanged")
assert still_raw < 0.2 * len(ys), still_raw
PY
echo "PASS window overlay"
