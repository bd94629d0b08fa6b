#!/usr/bin/env bash
# (d) `edgecap caption`: one line per image; --json lines with the documented fields; an unreadable image
# is reported on stderr, the others still run, and the exit code is 4.
source "$(dirname "$0")/lib.sh"
make_workdir
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
flags=(--models-dir models --threads 1)

out=$("$EDGECAP_BIN" caption "${flags[@]}" imgs/scene0.png imgs/scene1.png imgs/scene2.png)
[[ $(wc -l <<<"$out") == 3 ]] || fail "expected 3 lines, got: $out"
for i in 0 1 2; do
  grep -qP "^imgs/scene$i.png\t\S.*" <<<"$out" || fail "no 'IMAGE<TAB>caption' line for scene$i: $out"
done

"$EDGECAP_BIN" caption "${flags[@]}" --json --precision int8 --beam 3 imgs/scene0.png imgs/scene1.png >json.txt
"$EDGECAP_PYTHON" - json.txt <<'PY' || fail "JSON lines are wrong: $(cat json.txt)"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
for line, name in zip(lines, ["imgs/scene0.png", "imgs/scene1.png"]):
    d = json.loads(line)
    assert d["image"] == name, d
    for key in ["caption", "tokens", "token_log_probs", "score", "finished", "timings"]:
        assert key in d, key
    assert d["precision"] == "int8", d
    assert len(d["token_log_probs"]) >= len(d["tokens"]), d  # beam search may end at once: "" is valid
    assert all(p <= 0.0 for p in d["token_log_probs"]), d
    t = d["timings"]
    assert t["total_ms"] > 0 and t["total_ms"] >= t["encode_ms"], t
PY

printf 'not a png' >imgs/broken.png
set +e
"$EDGECAP_BIN" caption "${flags[@]}" imgs/scene0.png imgs/broken.png imgs/missing.png imgs/scene2.png >out.txt 2>err.txt
rc=$?
set -e
[[ $rc == 4 ]] || fail "unreadable images should give exit 4, got $rc"
[[ $(wc -l <out.txt) == 2 ]] || fail "the readable images should still be captioned: $(cat out.txt)"
grep -q "cannot read image 'imgs/broken.png'" err.txt || fail "no message for the broken image: $(cat err.txt)"
grep -q "cannot read image 'imgs/missing.png'" err.txt || fail "no message for the missing image: $(cat err.txt)"

set +e
"$EDGECAP_BIN" caption --models-dir nowhere imgs/scene0.png >/dev/null 2>err.txt
rc=$?
set -e
[[ $rc == 3 ]] || fail "a missing model should give exit 3, got $rc"
grep -q "^edgecap: .*not available" err.txt || fail "missing model message: $(cat err.txt)"
echo "PASS caption command"
