#!/usr/bin/python3
"""Soak of the real binary: the interactive app, driven through a pipe, captions N frames and switches the
model M times with the `M` menu, while its RSS, open fds and threads are read from /proc/<pid>.

    EDGECAP_BIN=build/edgecap /usr/bin/python3 tests/reliability/app_soak.py [CAPTIONS] [SWITCHES] [LIMIT_MB]

It complements tests/reliability/soak_driver.cpp (the core, 10,000+ captions): this one covers what only
the app does per caption and per switch (the caption worker, the performance monitor, the status line, the
menus, speech off). Models are the tiny test models copied into a temp models dir; frames come from a temp
folder. Warm-up is the first 10 % of captions and at least one full round of variants; growth after it is
compared with LIMIT_MB (default 4: the app adds a frame copy per caption job and per-stage samples that the
session statistics keep by design, 8 bytes x 6 stages per caption, ~0.5 MB for 10,000 captions).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.environ.get("EDGECAP_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BIN = os.environ.get("EDGECAP_BIN") or os.path.join(REPO, "build", "edgecap")
DATA = os.path.join(REPO, "tests", "data")
CAPTION = re.compile(rb"^\[caption\] (?!failed|no frame|still)", re.M)
NOW_RUNNING = re.compile(rb"\[menu\] now running")
# (menu answer for the model, menu answer for the precision): original FP32, original INT8, pruned BF16
VARIANTS = [("1", "1"), ("1", "4"), ("2", "3")]


def proc_reading(pid):
    status = open(f"/proc/{pid}/status").read()
    rss_kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    hwm_kb = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss_kb / 1024.0, hwm_kb / 1024.0, fds, threads


def main(argv):
    captions = int(argv[1]) if len(argv) > 1 else 2000
    switches = int(argv[2]) if len(argv) > 2 else 40
    limit_mb = float(argv[3]) if len(argv) > 3 else 4.0
    work = tempfile.mkdtemp(prefix="edgecap-appsoak-")
    try:
        models, pruned, frames = (os.path.join(work, d) for d in ("models", "pruned", "frames"))
        for d in (models, pruned, frames):
            os.makedirs(d)
        for directory, name in ((models, "lightweight_captioning_model"), (pruned, "Pruning_epoch_1_checkpoint")):
            shutil.copy(os.path.join(DATA, "tiny_model.pt"), os.path.join(directory, name + ".pt"))
            shutil.copy(os.path.join(DATA, "tiny_model.int8.pt"), os.path.join(directory, name + ".int8.pt"))
        from PIL import Image
        for i in range(4):
            Image.new("RGB", (320 + 40 * i, 240), (30 * i, 200 - 40 * i, 90)).save(os.path.join(frames, f"f{i}.png"))
        args = [BIN, "--models-dir", models, "--pruned-dir", pruned, "--source", frames, "--no-speech",
                "--model", "original", "--precision", "fp32"]
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=dict(os.environ, SDL_AUDIODRIVER="dummy"), cwd=REPO)
        out = bytearray()
        counts = {"captions": 0, "switches": 0}
        lock = threading.Lock()

        def reader():
            for line in iter(proc.stdout.readline, b""):
                with lock:
                    if len(out) < 1 << 16:
                        out.extend(line)
                    if CAPTION.match(line):
                        counts["captions"] += 1
                    if NOW_RUNNING.search(line):
                        counts["switches"] += 1

        threading.Thread(target=reader, daemon=True).start()

        def wait(key, value):
            deadline = time.time() + 300  # only so a hang fails; nothing here is timed
            while True:
                with lock:
                    if counts[key] >= value:
                        return
                if proc.poll() is not None or time.time() > deadline:
                    sys.exit(f"app_soak: app stopped or hung waiting for {key} >= {value} "
                             f"(exit {proc.poll()})\n{out[-3000:].decode('utf-8', 'replace')}")
                time.sleep(0.002)

        def send(text):
            proc.stdin.write(text.encode())
            proc.stdin.flush()

        start = proc_reading(proc.pid)
        t0 = time.time()
        per_switch = max(1, captions // (switches + 1))
        warm_after = max(captions // 10, per_switch * len(VARIANTS))
        warm = None
        samples = []
        variant = 0
        for n in range(1, captions + 1):
            send("s\n")
            wait("captions", n)
            if n % per_switch == 0 and counts["switches"] < switches and n < captions:
                variant = (variant + 1) % len(VARIANTS)
                model, precision = VARIANTS[variant]
                send(f"m\n{model}\n{precision}\n")
                wait("switches", counts["switches"] + 1)
            if warm is None and n >= warm_after:
                warm = proc_reading(proc.pid)
            if warm is not None and n % 50 == 0:
                samples.append(proc_reading(proc.pid)[0])
        end = proc_reading(proc.pid)
        seconds = time.time() - t0
        send("q\n")
        code = proc.wait(timeout=300)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    growth = end[0] - warm[0]
    print(f"app soak: {counts['captions']} captions, {counts['switches']} model switches (M menu), "
          f"{seconds:.1f} s, exit {code}")
    print(f"rss_mb: start {start[0]:.1f}  warm {warm[0]:.1f} (after {warm_after} captions)  end {end[0]:.1f}  "
          f"peak {end[1]:.1f}  (min/max after warm-up {min(samples):.1f}/{max(samples):.1f})")
    print(f"growth_after_warmup_mb: {growth:.2f} (limit {limit_mb:.1f})")
    print(f"fds: start {start[2]}  warm {warm[2]}  end {end[2]}")
    print(f"threads: start {start[3]}  warm {warm[3]}  end {end[3]}")
    failures = []
    if code != 0:
        failures.append(f"exit {code}")
    if growth > limit_mb:
        failures.append(f"RSS grew {growth:.2f} MB after warm-up")
    if end[2] > warm[2]:
        failures.append(f"{end[2] - warm[2]} file descriptors not closed")
    if end[3] > warm[3]:
        failures.append(f"{end[3] - warm[3]} threads not joined")
    if counts["switches"] < switches:
        failures.append(f"only {counts['switches']} of {switches} switches")
    for f in failures:
        print("FAIL:", f)
    print("result:", "FAIL" if failures else "PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
