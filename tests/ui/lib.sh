# Shared helpers for the end-to-end scripts: a temp dir with the tiny test model installed under the
# default file names, test images, and polling that waits generously (no timing limits are asserted).
set -euo pipefail

: "${EDGECAP_BIN:?set EDGECAP_BIN to the edgecap binary (ctest does)}"
: "${EDGECAP_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${EDGECAP_PYTHON:=/usr/bin/python3}"
export SDL_AUDIODRIVER=dummy
WAIT_S=${EDGECAP_UI_WAIT_S:-60}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# make_workdir: sets WORK with models/ (original FP32 + INT8 from the tiny test model), imgs/ (3 PNGs).
make_workdir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/edgecap-ui.XXXXXX")
  mkdir -p "$WORK/models" "$WORK/imgs"
  cp "$EDGECAP_SOURCE_DIR/tests/data/tiny_model.pt" "$WORK/models/lightweight_captioning_model.pt"
  cp "$EDGECAP_SOURCE_DIR/tests/data/tiny_model.int8.pt" "$WORK/models/lightweight_captioning_model.int8.pt"
  "$EDGECAP_PYTHON" - "$WORK/imgs" <<'PY'
import sys
from PIL import Image  # python3-pil is in scripts/install_deps.sh; python3-opencv is not
out = sys.argv[1]
for i, bgr in enumerate([(30, 120, 200), (200, 60, 40), (40, 180, 60)]):
    Image.new("RGB", (64, 64), bgr[::-1]).save(f"{out}/scene{i}.png")
PY
}

# wait_for FILE_OR_CMD PATTERN [COUNT]: poll until the text has PATTERN (grep -E) at least COUNT times.
wait_for_text() {
  local getter=$1 pattern=$2 count=${3:-1} deadline=$((SECONDS + WAIT_S))
  while ((SECONDS < deadline)); do
    if (($($getter 2>/dev/null | grep -cE -- "$pattern" || true) >= count)); then return 0; fi
    sleep 0.3
  done
  echo "---- output so far ----" >&2
  $getter >&2 || true
  fail "timed out after ${WAIT_S}s waiting for '$pattern' (x$count)"
}

# The terminal settings `stty -a` printed after edgecap exited must be the cooked ones again.
check_stty_restored() {
  local file=$1
  [[ -s $file ]] || fail "no stty output in $file"
  grep -qE '(^|[ ;])icanon( |;|$)' "$file" || fail "terminal left without icanon: $(cat "$file")"
  grep -qE '(^|[ ;])echo( |;|$)' "$file" || fail "terminal left without echo: $(cat "$file")"
}
