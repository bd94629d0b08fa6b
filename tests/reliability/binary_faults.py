#!/usr/bin/python3
"""Fault tests that drive the real edgecap binary (docs/RELIABILITY.md names the scenario behind each row).

    EDGECAP_BIN=build/edgecap /usr/bin/python3 tests/reliability/binary_faults.py SCENARIO [SCENARIO...]
    /usr/bin/python3 tests/reliability/binary_faults.py --list

Each scenario builds its own temp folder: models copied from tests/data/tiny_model*.pt into a models dir
(`--models-dir`) and a pruned dir (`--pruned-dir`), and a folder of frames made here (`--source`). Piped
scenarios feed stdin from a pipe; TTY scenarios run the binary inside a private tmux server (its own
socket, so no other tmux session is touched) and compare `stty -a` before and after to prove the terminal
mode was restored. Waiting for output has a deadline only so a hang fails instead of blocking CI; no
scenario asserts on how fast anything is.
"""
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.environ.get("EDGECAP_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BIN = os.environ.get("EDGECAP_BIN") or os.path.join(REPO, "build", "edgecap")
DATA = os.path.join(REPO, "tests", "data")
DEADLINE_S = 180  # only to turn a hang into a failure; 2 shared cores can be very slow
EXIT = {"ok": 0, "internal": 1, "usage": 2, "model": 3, "source": 4, "audio": 5, "interrupted": 130}
ORIGINAL = "lightweight_captioning_model.pt"
PRUNED = "Pruning_epoch_1_checkpoint.pt"


class Failure(AssertionError):
    pass


def check(condition, message, output=""):
    if not condition:
        tail = output[-3000:] if output else ""
        raise Failure(message + ("\n--- output (tail) ---\n" + tail if tail else ""))


class Fixture:
    """A temp folder with a models dir, a pruned dir and a frames folder."""

    def __init__(self, pruned="tiny_model.pt", bad_frame=False):
        self.dir = tempfile.mkdtemp(prefix="edgecap-ui-")
        self.models = os.path.join(self.dir, "models")
        self.pruned = os.path.join(self.dir, "pruned")
        self.frames = os.path.join(self.dir, "frames")
        for d in (self.models, self.pruned, self.frames):
            os.makedirs(d)
        # EDGECAP_UI_MODEL=models/lightweight_captioning_model.pt reruns a scenario on a trained model
        # (slower loads widen the "during loading" window of signal_during_loading).
        original = os.environ.get("EDGECAP_UI_MODEL") or os.path.join(DATA, "tiny_model.pt")
        shutil.copy(original, os.path.join(self.models, ORIGINAL))
        shutil.copy(os.path.join(DATA, "tiny_model.int8.pt"),
                    os.path.join(self.models, ORIGINAL.replace(".pt", ".int8.pt")))
        shutil.copy(os.path.join(DATA, pruned), os.path.join(self.pruned, PRUNED))
        from PIL import Image
        for i in range(3):
            Image.new("RGB", (64, 48), (40 + 70 * i, 120, 200 - 60 * i)).save(
                os.path.join(self.frames, f"frame{i}.png"))
        if bad_frame:
            # First in name order, so the first read reaches it (the folder advances at 2 images/s).
            with open(os.path.join(self.frames, "0_unreadable.png"), "wb") as f:
                f.write(b"this is not a PNG" * 20)

    def args(self, *extra):
        return ["--models-dir", self.models, "--pruned-dir", self.pruned, "--source", self.frames,
                "--no-speech", *extra]

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def run_piped(args, stdin=b"", env=None):
    """Runs the binary with stdin from a pipe; returns (exit code, stdout+stderr as text)."""
    full_env = dict(os.environ, SDL_AUDIODRIVER="dummy")
    full_env.update(env or {})
    for key, value in list(full_env.items()):
        if value is None:
            del full_env[key]
    proc = subprocess.run([BIN, *args], input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=full_env, cwd=REPO, timeout=DEADLINE_S)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


class Interactive:
    """The binary with a pipe for stdin that stays open, so keys can wait for output."""

    def __init__(self, args, env=None):
        full_env = dict(os.environ, SDL_AUDIODRIVER="dummy")
        full_env.update(env or {})
        self.proc = subprocess.Popen([BIN, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=full_env, cwd=REPO)
        self.chunks = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in iter(self.proc.stdout.readline, b""):
            self.chunks.append(line.decode("utf-8", "replace"))

    def output(self):
        return "".join(self.chunks)

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def wait_for(self, pattern, count=1):
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
        deadline = time.time() + DEADLINE_S
        while len(regex.findall(self.output())) < count:
            check(self.proc.poll() is None or len(regex.findall(self.output())) >= count,
                  f"exited ({self.proc.returncode}) before {pattern!r}", self.output())
            check(time.time() < deadline, f"timed out waiting for {pattern!r}", self.output())
            time.sleep(0.05)

    def finish(self):
        self.proc.stdin.close()
        code = self.proc.wait(timeout=DEADLINE_S)
        self.reader.join(timeout=30)
        return code, self.output()


def keys(*lines):
    return "".join(line + "\n" for line in lines).encode()


CAPTION = re.compile(r"^\[caption\] (?!failed|no frame|still)", re.M)


# ---------------------------------------------------------------------------------------------- tmux


class Tmux:
    """One private tmux server with one pane running bash, for driving the binary on a real TTY."""

    def __init__(self, workdir, width=120, height=40):
        self.workdir = workdir
        self.socket = os.path.join(workdir, "tmux.sock")
        env = dict(os.environ, SDL_AUDIODRIVER="dummy", TERM="xterm-256color", PS1="$ ")
        env.pop("TMUX", None)
        self.env = env
        self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height),
                  "bash --norc --noprofile")
        self.tmux("set-option", "-g", "history-limit", "50000")
        self.shell(f"cd {shlex.quote(REPO)} && stty -a > {self.path('stty_before')}")
        self.wait_file("stty_before")

    def path(self, name):
        return os.path.join(self.workdir, name)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.socket, *args], env=self.env, check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60).stdout.decode()

    def shell(self, command):
        self.tmux("send-keys", "-t", "t", "-l", command)
        self.tmux("send-keys", "-t", "t", "Enter")

    def type(self, text, enter=True):
        if text:
            self.tmux("send-keys", "-t", "t", "-l", text)
        if enter:
            self.tmux("send-keys", "-t", "t", "Enter")

    def ctrl_c(self):
        self.tmux("send-keys", "-t", "t", "C-c")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-J", "-t", "t", "-S", "-50000")

    def wait_file(self, name):
        deadline = time.time() + DEADLINE_S
        while not (os.path.exists(self.path(name)) and os.path.getsize(self.path(name)) > 0):
            check(time.time() < deadline, f"timed out waiting for {name}", self.screen())
            time.sleep(0.05)

    def reset_screen(self):
        """Forget earlier output, so the next wait_for only sees the next run. Keys typed for a run that
        ended first are still in the TTY's input queue: C-u drops them before `clear` is typed."""
        deadline = time.time() + DEADLINE_S
        while True:
            self.tmux("send-keys", "-t", "t", "C-u")
            self.shell("clear")
            time.sleep(0.3)
            self.tmux("clear-history", "-t", "t")
            if "Source:" not in self.screen():
                return
            check(time.time() < deadline, "cannot clear the pane", self.screen())

    def wait_for(self, pattern):
        deadline = time.time() + DEADLINE_S
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
        while time.time() < deadline:
            text = self.screen()
            if regex.search(text):
                return text
            time.sleep(0.1)
        raise Failure(f"timed out waiting for {pattern!r}\n--- screen ---\n{self.screen()[-3000:]}")

    def start_edgecap(self, args, env_prefix=""):
        """Starts the binary in the pane; its pid lands in a file, its exit code and `stty -a` after it."""
        return self.start_command("{env}{bin} {args}".format(
            env=env_prefix, bin=shlex.quote(BIN), args=" ".join(map(shlex.quote, args))))

    def start_command(self, command):
        for name in ("pid", "exit", "stty_after"):
            if os.path.exists(self.path(name)):
                os.remove(self.path(name))
        # exec keeps the pid; the pane's interactive bash runs the rest once the command has exited. Bash
        # itself restores the TTY after a job killed by a signal, but not after a normal exit: edgecap's
        # 130 is a normal exit, so `stty -a` below sees exactly what edgecap left behind.
        inner = "echo $$ > {pid}; exec {command}".format(pid=self.path("pid"), command=command)
        self.shell("bash -c {inner}; echo $? > {exit}; stty -a > {stty}".format(
            inner=shlex.quote(inner), exit=self.path("exit"), stty=self.path("stty_after")))
        deadline = time.time() + DEADLINE_S
        while not os.path.exists(self.path("pid")) or not open(self.path("pid")).read().strip():
            check(time.time() < deadline, "the command did not start", self.screen())
            time.sleep(0.05)
        return int(open(self.path("pid")).read().strip())

    def wait_exit(self):
        self.wait_file("stty_after")  # written by the pane's shell once edgecap has exited
        time.sleep(0.2)
        return int(open(self.path("exit")).read().strip()), self.screen()

    def terminal_restored(self):
        """The termios flags after the run equal those before it (sizes may differ after a resize)."""
        def flags(name):
            text = open(self.path(name)).read()
            return sorted(word for word in text.split() if re.fullmatch(r"-?[a-z0-9]+", word)
                          and word not in ("speed", "baud", "rows", "columns", "line"))
        before, after = flags("stty_before"), flags("stty_after")
        changed = sorted(set(before) ^ set(after))
        return not changed, changed

    def tty_flags_now(self):
        """`stty -a` of the pane's TTY, read from outside while the program runs."""
        tty = self.tmux("display-message", "-p", "-t", "t", "#{pane_tty}").strip()
        return subprocess.run(["stty", "-a", "-F", tty], stdout=subprocess.PIPE, timeout=30).stdout.decode()

    def close(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], env=self.env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)


def tty_scenario(body, fixture_kwargs=None, width=120, height=40):
    fixture = Fixture(**(fixture_kwargs or {}))
    tmux = Tmux(fixture.dir, width, height)
    try:
        body(fixture, tmux)
    finally:
        tmux.close()
        fixture.close()


MENU_PROMPT = r"Choose a model \(1-2\):"
PRECISION_PROMPT = r"Choose a quantization option \(1-4\):"
KEYS_READY = r"\? this help \| Q quit"


def expect_interrupted_and_restored(tmux, what):
    code, screen = tmux.wait_exit()
    check(code == EXIT["interrupted"], f"{what}: exit {code}, expected {EXIT['interrupted']}", screen)
    check("interrupted" in screen, f"{what}: no 'interrupted' message", screen)
    ok, changed = tmux.terminal_restored()
    check(ok, f"{what}: terminal mode not restored, stty flags changed: {changed}", screen)


def send_signal(tmux, pid, sig):
    if sig == signal.SIGINT:
        tmux.ctrl_c()  # through the TTY, as a user does it
    else:
        os.kill(pid, sig)


SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


# ------------------------------------------------------------------------------------------ scenarios


def scenario_menu_garbage():
    """Garbage, NUL/invalid UTF-8, out-of-range and 1 MB answers at both menus, then valid ones."""
    fx = Fixture()
    try:
        mb = b"x" * (1 << 20)
        stdin = (b"abc\n99\n-1\n\n\x00\xff\xfe\n" + mb + b"\n1\n" + mb + b"\n7\n\x1b[A\n1\n" + keys("s", "q"))
        code, out = run_piped(fx.args(), stdin)
        check(code == EXIT["ok"], f"exit {code}, expected 0", out)
        check(out.count("is not a number") >= 3, "garbage answers were not each answered with a hint", out)
        check("out of range" in out, "out-of-range answer not explained", out)
        check(CAPTION.search(out), "no caption after recovering from bad menu input", out)
    finally:
        fx.close()


def scenario_menu_long_line_output_bounded():
    """A 1 MB answer must not be echoed back whole: the hint quotes a short prefix."""
    fx = Fixture()
    try:
        mb = b"x" * (1 << 20)
        code, out = run_piped(fx.args(), mb + b"\n" + mb + b"\nq\n")
        check(code == EXIT["ok"], f"exit {code}", out[:2000])
        check(len(out) < 64 * 1024, f"{len(out)} bytes of output for two 1 MB answers (the answer is echoed "
              "whole; quote a short prefix in parse_choice's hint)", out[:1500])
    finally:
        fx.close()


def scenario_menu_eof():
    """EOF at each menu and in the key loop quits cleanly with exit 0 and says so."""
    fx = Fixture()
    try:
        for stdin, what, message in [(b"", "EOF at the model menu", "no choice made"),
                                     (b"1\n", "EOF at the precision menu", "no choice made"),
                                     (b"1\n1\n", "EOF in the key loop", "end of input")]:
            code, out = run_piped(fx.args(), stdin)
            check(code == EXIT["ok"], f"{what}: exit {code}, expected 0", out)
            check(message in out, f"{what}: no '{message}' message", out)
        code, out = run_piped(fx.args(), b"q\n")
        check(code == EXIT["ok"], f"q at the menu: exit {code}", out)
    finally:
        fx.close()


def scenario_signal_at_menu():
    def body(fx, tmux):
        for sig in SIGNALS:
            pid = tmux.start_edgecap(fx.args())
            tmux.wait_for(MENU_PROMPT + r"\s*$")
            send_signal(tmux, pid, sig)
            expect_interrupted_and_restored(tmux, f"{sig.name} at the model menu")
            tmux.reset_screen()
    tty_scenario(body)


def scenario_signal_during_loading():
    """The signal lands right after the precision answer, at several delays: during the load, the
    warm-up captions and the first turns of the key loop. Every moment ends the same way."""
    def body(fx, tmux):
        for i, delay in enumerate([0.0, 0.05, 0.15, 0.4]):
            sig = SIGNALS[i % len(SIGNALS)]
            pid = tmux.start_edgecap(fx.args())
            tmux.wait_for(MENU_PROMPT)
            tmux.type("1")
            tmux.wait_for(PRECISION_PROMPT)
            tmux.type("1")
            time.sleep(delay)
            send_signal(tmux, pid, sig)
            expect_interrupted_and_restored(tmux, f"{sig.name} {delay * 1000:.0f} ms after choosing FP32")
            tmux.reset_screen()
    tty_scenario(body)


def scenario_signal_during_captioning():
    """In the key loop the terminal is raw (no echo, no line buffering): the signal must restore it."""
    def body(fx, tmux):
        for sig in SIGNALS:
            pid = tmux.start_edgecap(fx.args("--model", "original", "--precision", "fp32"))
            tmux.wait_for(KEYS_READY)
            tmux.type("s", enter=False)
            tmux.wait_for(CAPTION)
            check("-icanon" in tmux.tty_flags_now().split(), "the key loop did not put the TTY in raw mode, "
                  "so this scenario would not test restoring it", tmux.screen())
            tmux.type("s", enter=False)  # and one more in flight when the signal arrives
            send_signal(tmux, pid, sig)
            expect_interrupted_and_restored(tmux, f"{sig.name} while captioning")
            tmux.reset_screen()
    tty_scenario(body)


def scenario_stty_check_detects_raw_mode():
    """Self-test of the stty comparison: a program that leaves the TTY raw and exits must be caught."""
    def body(fx, tmux):
        tmux.start_command("bash -c 'stty -icanon -echo; echo interrupted; exit 130'")
        code, screen = tmux.wait_exit()
        check(code == 130, f"exit {code}", screen)
        ok, changed = tmux.terminal_restored()
        check(not ok and "-icanon" in changed and "-echo" in changed,
              f"the stty comparison did not notice raw mode left behind (changed: {changed})", screen)
        tmux.shell("stty sane")
    tty_scenario(body)


def scenario_terminal_resize():
    """SIGWINCH while the key loop runs: nothing breaks, keys still work, the terminal is restored."""
    def body(fx, tmux):
        pid = tmux.start_edgecap(fx.args("--model", "original", "--precision", "fp32"))
        tmux.wait_for(KEYS_READY)
        for width, height in [(60, 15), (200, 50), (20, 5), (120, 40)]:
            tmux.tmux("resize-window", "-t", "t", "-x", str(width), "-y", str(height))
            os.kill(pid, signal.SIGWINCH)  # as the resize does; sent too in case tmux coalesced it
            time.sleep(0.2)
        tmux.type("s", enter=False)
        tmux.wait_for(CAPTION)
        tmux.type("q", enter=False)
        code, screen = tmux.wait_exit()
        check(code == EXIT["ok"], f"exit {code} after resizes", screen)
        ok, changed = tmux.terminal_restored()
        check(ok, f"terminal not restored after resizes: {changed}", screen)
    tty_scenario(body)


def scenario_no_display_window():
    """--window without a display: a clear message, then the app carries on in terminal mode."""
    fx = Fixture()
    try:
        code, out = run_piped(fx.args("--window", "--model", "original", "--precision", "fp32"),
                              keys("s", "q"), env={"DISPLAY": None, "WAYLAND_DISPLAY": None})
        check("display" in out.lower(), "no message about the missing display", out)
        check(code == EXIT["ok"] and CAPTION.search(out),
              f"exit {code} and no caption: --window without a display should fall back to terminal mode "
              "(it exits with a UsageError instead)", out)
    finally:
        fx.close()


def scenario_no_audio_device():
    fx = Fixture()
    try:
        args = [a for a in fx.args("--model", "original", "--precision", "fp32") if a != "--no-speech"]
        code, out = run_piped(args, keys("s", "r", "q"), env={"SDL_AUDIODRIVER": "nonexistent"})
        check(code == EXIT["ok"], f"exit {code} without an audio device", out)
        check("no audio device" in out, "the speech status does not say there is no audio device", out)
        check(CAPTION.search(out), "no caption printed without an audio device", out)
        wav = os.path.join(fx.dir, "out.wav")
        code, out = run_piped(args + ["--wav", wav], keys("s", "q"), env={"SDL_AUDIODRIVER": "nonexistent"})
        check(code == EXIT["ok"] and os.path.getsize(wav) > 1000, "--wav not written without an audio device", out)
        # --wav is the one case where audio is required: an unwritable path is exit 5 naming it.
        bad = "/nonexistent/dir/out.wav"
        code, out = run_piped(args + ["--wav", bad], keys("s", "q"), env={"SDL_AUDIODRIVER": "nonexistent"})
        check(code == EXIT["audio"], f"unwritable --wav: exit {code}, expected {EXIT['audio']}", out)
        check(bad in out, "unwritable --wav: the message does not name the path", out)
    finally:
        fx.close()


def scenario_switch_to_broken_model_keeps_running():
    """M to a pruned file that loads but breaks the contract: the error is shown, the old model stays."""
    for broken in ("broken_wrong-shape.pt", "broken_no-step.pt", "broken_bad-json.pt"):
        fx = Fixture(pruned=broken)
        try:
            code, out = run_piped(fx.args("--model", "original", "--precision", "fp32"),
                                  keys("s", "m", "2", "1", "s", "p", "q"))
            check(code == EXIT["ok"], f"{broken}: exit {code}", out)
            after = out.split("[menu] current:", 1)[-1]
            failed = "could not load" in after or "not available" in after
            check(failed, f"{broken}: the failed switch was not reported", out)
            check("keeping Original Model + FP32" in after or "no change; keeping Original Model + FP32" in after,
                  f"{broken}: does not say the previous model is kept", out)
            check(len(CAPTION.findall(after)) >= 1, f"{broken}: S does not caption after the failed switch", out)
            check("Model:      Original Model + FP32" in after, f"{broken}: P does not report the old model", out)
        finally:
            fx.close()


def scenario_model_file_checks():
    fx = Fixture()
    try:
        model = os.path.join(fx.models, ORIGINAL)
        for path, what in [("/dev/zero", "a character device"), (fx.dir, "a directory"),
                           (os.path.join(fx.dir, "missing.pt"), "a missing file")]:
            code, out = run_piped(fx.args("--model", path, "--precision", "fp32"))
            check(code in (EXIT["usage"], EXIT["model"]), f"--model {what}: exit {code}", out)
            check(path in out, f"--model {what}: the message does not name the path", out)
        # What was loaded is printed: path, size, and the SHA-256 (a prefix of the real digest).
        code, out = run_piped(fx.args("--model", model, "--precision", "fp32"), keys("q"))
        check(code == EXIT["ok"], f"exit {code} loading a good model by path", out)
        digest = hashlib.sha256(open(model, "rb").read()).hexdigest()
        match = re.search(r"sha256 ([0-9a-f]{8,64})", out)
        check(match and digest.startswith(match.group(1)), f"printed sha256 is not the file's ({digest})", out)
        check(model in out, "the loaded path is not printed", out)
        size = os.path.getsize(model)
        check(f"{size / 1000:.1f} KB" in out or f"{size / 1024:.1f} KB" in out or f"{size} bytes" in out,
              "the file size is not printed", out)
        code, out = run_piped(fx.args("--model", "original", "--precision", "fp16"))
        check(code in (EXIT["model"], EXIT["usage"]), f"fp16 on CPU: exit {code}", out)
        check("fp16" in out.lower() or "half" in out.lower(), "fp16 on CPU: no reason given", out)
        # Truncated and missing default models: exit 3 with the path.
        data = open(model, "rb").read()
        with open(model, "wb") as f:
            f.write(data[: len(data) // 2])
        code, out = run_piped(fx.args("--model", "original", "--precision", "fp32"))
        check(code == EXIT["model"], f"truncated model: exit {code}, expected 3", out)
        check(model in out, "truncated model: the message does not name the file", out)
        os.remove(model)
        code, out = run_piped(fx.args("--model", "original", "--precision", "fp32"))
        check(code == EXIT["model"], f"missing model: exit {code}, expected 3", out)
    finally:
        fx.close()


def scenario_source_faults():
    fx = Fixture(bad_frame=True)
    try:
        code, out = run_piped(fx.args("--model", "original", "--precision", "fp32", "--source", "7"))
        check(code == EXIT["source"], f"--source 7 (no camera): exit {code}, expected 4", out)
        check("demo" in out, "--source 7: the message does not suggest --source demo", out)
        code, out = run_piped(fx.args("--model", "original", "--precision", "fp32", "--source",
                                      os.path.join(fx.dir, "missing.mp4")))
        check(code == EXIT["source"], f"missing video: exit {code}, expected 4", out)
        # A folder with an unreadable file: skipped with a warning that names it; captions continue.
        stdin = keys(*(["s"] * 4), "q")
        code, out = run_piped(fx.args("--model", "original", "--precision", "fp32", "--source", fx.frames), stdin)
        check(code == EXIT["ok"], f"folder with an unreadable file: exit {code}", out)
        check(len(CAPTION.findall(out)) >= 1, "no caption from a folder with one unreadable file", out)
        check("0_unreadable.png" in out, "the skipped file is not named", out)
    finally:
        fx.close()


BOMB = os.path.join(REPO, "tests", "reliability", "data", "jpeg_bomb_19721x45634.jpg")


def scenario_image_bomb():
    """A 201-byte JPEG (found by fuzz_frame_decode) whose header declares 19721x45634 pixels: OpenCV
    allocates 2.7 GB for it (5-9 GB peak RSS through edgecap). With OpenCV's own cap set, imread throws
    instead. Either way the file must be reported as unreadable and skipped, never end the app."""
    import resource
    fx = Fixture()
    try:
        good = os.path.join(fx.frames, "frame0.png")
        folder = os.path.join(fx.dir, "bombfolder")
        os.makedirs(folder)
        shutil.copy(BOMB, os.path.join(folder, "a_bomb.jpg"))
        shutil.copy(good, os.path.join(folder, "b_good.png"))
        base = ["--models-dir", fx.models, "--model", "original", "--precision", "fp32", "--no-speech"]
        cap = {"OPENCV_IO_MAX_IMAGE_PIXELS": str(1 << 24)}
        # (a) OpenCV's cap in force (what a deployment can set): imread throws a cv::Exception.
        code, out = run_piped(["caption", *base, good, BOMB], env=cap)
        check("internal error" not in out and code == EXIT["source"] and good in out and "jpeg_bomb" in out,
              f"caption mode, capped OpenCV: exit {code}; expected the good image captioned and the bomb "
              "skipped as unreadable (exit 4)", out)
        code, out = run_piped(base + ["--source", folder], keys("s", "q"), env=cap)
        check("internal error" not in out and code == EXIT["ok"] and CAPTION.search(out) and "a_bomb.jpg" in out,
              f"folder with the bomb, capped OpenCV: exit {code}; expected it skipped with a warning", out)

        # (b) No cap, 3 GB of address space (a small board): the decode cannot be allowed to take it all.
        def small_machine():
            resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        proc = subprocess.run([BIN, "caption", *base, good, BOMB], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, cwd=REPO, timeout=DEADLINE_S, preexec_fn=small_machine,
                              env=dict(os.environ, SDL_AUDIODRIVER="dummy"))
        out = proc.stdout.decode("utf-8", "replace")
        check("internal error" not in out and proc.returncode == EXIT["source"] and "jpeg_bomb" in out,
              f"caption mode in 3 GB: exit {proc.returncode}; expected the bomb skipped as unreadable", out)
    finally:
        fx.close()


class MjpegServer:
    """An IP camera stand-in: multipart/x-mixed-replace MJPEG over HTTP on 127.0.0.1, 10 frames a second.
    stop() closes the connection and the port (the camera is unplugged); start() brings it back."""

    def __init__(self):
        import socket
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.server = None

    def start(self):
        import http.server
        import io
        import socketserver
        from PIL import Image
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while not owner.stopping:
                        buf = io.BytesIO()
                        Image.new("RGB", (160, 120), ((i * 10) % 256, 100, 50)).save(buf, "JPEG")
                        data = buf.getvalue()
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                         % len(data) + data + b"\r\n")
                        i += 1
                        time.sleep(0.1)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.stopping = False
        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.stopping = True
        self.server.shutdown()
        self.server.server_close()
        time.sleep(0.3)  # the streaming handler notices and closes its connection

    def url(self):
        return f"http://127.0.0.1:{self.port}/stream.mjpg"


FRAME_AGE = re.compile(r"^\[caption\] (?!failed|no frame|still).*frame age (\d+) ms", re.M)


def scenario_stream_stalls_and_recovers():
    """A live stream (camera) that stops delivering: the app says so and keeps running, S captions the
    last frame (its age shows how old), and frames come back on their own when the stream returns."""
    fx = Fixture()
    cam = MjpegServer()
    cam.start()
    try:
        app = Interactive(fx.args("--model", "original", "--precision", "fp32", "--source", cam.url()))
        app.wait_for(KEYS_READY)
        app.send("s\n")
        app.wait_for(FRAME_AGE, count=1)
        cam.stop()
        app.wait_for(r"stopped delivering frames; reconnecting")
        app.wait_for(r"\[source\] no frame for a while \(camera stalled\?\); still trying")
        app.send("s\n")
        app.wait_for(FRAME_AGE, count=2)
        stalled_age = int(FRAME_AGE.findall(app.output())[1])
        check(stalled_age >= 1000, f"a caption during the stall has frame age {stalled_age} ms", app.output())
        cam.start()
        resumed = False
        for n in range(3, 3 + 60):  # reconnect back-off is at most 5 s; a caption every ~0.5 s
            time.sleep(0.5)
            app.send("s\n")
            app.wait_for(FRAME_AGE, count=n)
            if int(FRAME_AGE.findall(app.output())[-1]) < stalled_age / 2:
                resumed = True
                break
        check(resumed, "frames did not come back after the stream returned", app.output())
        app.send("q\n")
        code, out = app.finish()
        check(code == EXIT["ok"], f"exit {code} after a stalled and recovered stream", out)
        # Reconnect attempts fail while the stream is down; without -v the backends' own lines (FFmpeg's
        # "[tcp @ 0x..] Connection refused", OpenCV/GStreamer warnings) stay quiet: edgecap says it once.
        noise = [line for line in out.splitlines() if "[tcp @" in line or "GStreamer" in line
                 or "global ./modules" in line]
        check(not noise, f"backend log lines during reconnect: {noise[:3]}", out)
    finally:
        if not cam.stopping:
            cam.stop()
        fx.close()


MAKE_VIDEO = None  # set by --make-video (tests/reliability/make_test_video.cpp)


def scenario_video_faults():
    """Videos that end, are cut in half (index lost) or are damaged in the middle, through the binary."""
    check(MAKE_VIDEO, "needs --make-video PATH (the edgecap_make_test_video helper)")
    fx = Fixture()
    try:
        clip = os.path.join(fx.dir, "clip.avi")
        subprocess.run([MAKE_VIDEO, clip, "60", "30"], check=True, timeout=120)
        data = open(clip, "rb").read()
        cut, damaged = os.path.join(fx.dir, "cut.avi"), os.path.join(fx.dir, "damaged.avi")
        open(cut, "wb").write(data[: len(data) // 2])
        middle = bytearray(data)
        for i in range(len(data) * 2 // 5, len(data) * 3 // 5):
            middle[i] = (i * 131) & 0xFF
        open(damaged, "wb").write(bytes(middle))
        base = ["--model", "original", "--precision", "fp32"]
        ends = {"whole video": r"\[source\] end of stream",
                "truncated video": r"\[source\] .*stopped at frame \d+ of 60 \(file truncated or unreadable\)",
                "damaged video": r"\[source\] (end of stream|.*stopped at frame)"}
        for video, what in [(clip, "whole video"), (cut, "truncated video"), (damaged, "damaged video")]:
            app = Interactive(fx.args(*base, "--source", video, "--no-loop"))
            app.wait_for(KEYS_READY)
            app.send("s\n")
            app.wait_for(CAPTION)
            app.wait_for(ends[what])  # the end, or where the file broke, is reported
            app.send("s\n")  # the last frame still captions
            app.wait_for(CAPTION, count=2)
            app.send("q\n")
            code, out = app.finish()
            check(code == EXIT["ok"], f"{what} with --no-loop: exit {code}", out)
        # Looping over a truncated file keeps going (rewinds to the intact part) and quits cleanly.
        app = Interactive(fx.args(*base, "--source", cut))
        app.wait_for(KEYS_READY)
        time.sleep(2.5)  # longer than the intact half plays
        app.send("s\n")
        app.wait_for(CAPTION)
        app.send("q\n")
        code, out = app.finish()
        check(code == EXIT["ok"], f"looping a truncated video: exit {code}", out)
    finally:
        fx.close()


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in sorted(globals().items())
             if name.startswith("scenario_")}


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    global MAKE_VIDEO
    if argv[1] == "--make-video":
        MAKE_VIDEO = argv[2]
        argv = argv[:1] + argv[3:]
    if argv[1] == "--list":
        print("\n".join(SCENARIOS))
        return 0
    check_bin = os.access(BIN, os.X_OK)
    if not check_bin:
        print(f"binary_faults.py: {BIN} is not an executable; set EDGECAP_BIN", file=sys.stderr)
        return 2
    failed = 0
    for name in argv[1:]:
        start = time.time()
        try:
            SCENARIOS[name]()
            print(f"PASS {name} ({time.time() - start:.1f} s)")
        except Failure as e:
            failed += 1
            print(f"FAIL {name}: {e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
