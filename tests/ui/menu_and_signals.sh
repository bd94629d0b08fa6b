#!/usr/bin/env bash
# (e) Garbage and EOF at the menu (piped and on a terminal), and SIGINT/SIGTERM during the live loop: the
# terminal comes back cooked and the exit code is 130.
source "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || fail "tmux is not installed"
make_workdir
session="edgecap-sig-$$"
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
common=(--source imgs --no-window --no-speech --threads 1 --models-dir models --pruned-dir pruned)

# Piped: garbage, out of range, then EOF -> "no choice made", exit 0.
set +e
out=$(printf 'banana\n0\n\n' | "$EDGECAP_BIN" "${common[@]}" 2>&1)
rc=$?
set -e
[[ $rc == 0 ]] || fail "EOF at the menu: exit $rc, output: $out"
grep -q "'banana' is not a number" <<<"$out" || fail "no hint for garbage: $out"
grep -q "0 is out of range" <<<"$out" || fail "no hint for out of range: $out"
grep -q "Nothing typed" <<<"$out" || fail "no hint for an empty answer: $out"
grep -q "no choice made, bye" <<<"$out" || fail "no goodbye on EOF: $out"

# Piped keys after the menus: EOF in the loop quits cleanly too.
set +e
out=$(printf '1\n1\ns\n' | "$EDGECAP_BIN" "${common[@]}" 2>&1)
rc=$?
set -e
[[ $rc == 0 ]] || fail "EOF in the loop: exit $rc, output: $out"
grep -q "^\[caption\] " <<<"$out" || fail "piped S did not caption before EOF: $out"

screen() { tmux capture-pane -p -J -S -5000 -t "$session"; }
keys() { tmux send-keys -t "$session" "$@"; }
tmux -f /dev/null new-session -d -s "$session" -x 200 -y 50
run_in_tmux() {  # $1 = tag; edgecap's pid goes to $1.pid, its exit code to $1.rc, stty after it to $1.stty
  keys "cd '$WORK' && sh -c 'echo \$\$ > $1.pid; exec \"$EDGECAP_BIN\" ${common[*]}'; echo \$? > $1.rc; stty -a > $1.stty" Enter
}

# A terminal: garbage, then Ctrl-D (EOF in canonical mode) at the precision menu.
run_in_tmux eof
wait_for_text screen "Choose a model \(1-2\)"
keys "x y z" Enter
wait_for_text screen "'x y z' is not a number"
keys 1 Enter
wait_for_text screen "Choose a quantization option"
keys C-d
wait_for_text "cat eof.rc" "^[0-9]+$"
[[ $(cat eof.rc) == 0 ]] || fail "Ctrl-D at the menu: exit $(cat eof.rc)"
wait_for_text screen "no choice made, bye"
wait_for_text "cat eof.stty" "speed"
check_stty_restored eof.stty

# SIGINT (Ctrl-C) in the raw-mode loop.
run_in_tmux int
wait_for_text screen "Choose a model \(1-2\)" 2
keys 1 Enter
wait_for_text screen "Choose a quantization option" 2
keys 1 Enter
wait_for_text screen "^Keys:" 1
keys C-c
wait_for_text "cat int.rc" "^[0-9]+$"
[[ $(cat int.rc) == 130 ]] || fail "Ctrl-C in the loop: exit $(cat int.rc)"
wait_for_text "cat int.stty" "speed"
check_stty_restored int.stty

# SIGTERM from outside, while a key loop waits in raw mode.
run_in_tmux term
wait_for_text screen "Choose a model \(1-2\)" 3
keys 1 Enter
wait_for_text screen "Choose a quantization option" 3
keys 1 Enter
wait_for_text screen "^Keys:" 2
wait_for_text "cat term.pid" "^[0-9]+$"
kill -TERM "$(cat term.pid)"
wait_for_text "cat term.rc" "^[0-9]+$"
[[ $(cat term.rc) == 130 ]] || fail "SIGTERM in the loop: exit $(cat term.rc)"
wait_for_text "cat term.stty" "speed"
check_stty_restored term.stty
screen | grep -q "interrupted (signal 15), terminal restored" || fail "no message on SIGTERM"
echo "PASS menu garbage/EOF and signals"
