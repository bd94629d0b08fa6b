#!/usr/bin/python3
"""edgecap (C++) vs the seed's Python path (tools/reference_pipeline.py) on the same weights and images.

    /usr/bin/python3 tools/compare_python.py --edgecap build/edgecap \
        --model models/lightweight_captioning_model.pt --images samples/scenes --runs 5 --threads 2

Three sides: edgecap; Python eager (`reference_pipeline.py --mode eager`: the seed's way, an nn.Module
holding the file's weights; for INT8 the eager INT8 structure with the file's int8 weights); Python
TorchScript (`--mode script`: the same file
edgecap loads, called from Python). The target is stated against eager, which is what the seed runs.

Per-caption latency: `edgecap bench --model M --precision P` and `reference_pipeline.py` caption the same
images with the same warm-up, iterations and intra-op threads; each reports the median model latency per
caption (preprocess + encode + greedy decode of a decoded frame). The sides take turns, run after run (the
order rotates every run), so drift of a shared machine hits all of them; the figure is the median of the
per-run medians. FP32 and INT8 (the file's .int8.pt sibling) are both measured.

Start-up to first caption: wall time from spawning the process to the first caption on its stdout --
`edgecap caption --json --model M --precision fp32 IMAGE` vs `reference_pipeline.py M IMAGE --iterations 0`
in each mode
(interpreter start, `import torch`, model load and the first, cold caption all count). Median of N.

Prints the ratios (Python / edgecap; FP32 / INT8) against the targets (edgecap >= 2x faster per caption
than Python for FP32; INT8 >= 1.3x faster than FP32) and writes everything as JSON with --out.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(REPO, "tools", "reference_pipeline.py")
TARGET_CPP_VS_PY = 2.0
TARGET_INT8_VS_FP32 = 1.3


def int8_sibling(path: str) -> str:
    return path[:-3] + ".int8.pt" if path.endswith(".pt") else path + ".int8.pt"


def find_edgecap() -> str:
    for d in ("build", "build-release", "build-bench", "build-lead"):
        p = os.path.join(REPO, d, "edgecap")
        if os.access(p, os.X_OK):
            return p
    sys.exit("edgecap binary not found: build it (cmake --build build) or pass --edgecap PATH")


def run_json(cmd, what: str) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{what} failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return proc


def edgecap_latency(args, model: str, precision: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        cmd = [args.edgecap, "bench", "--model", model, "--precision", precision, "--images", args.images,
               "--iterations", str(args.iterations), "--warmup", str(args.warmup), "--threads", str(args.threads),
               "--out", out]
        run_json(cmd, "edgecap bench")
        with open(os.path.join(out, "bench.json")) as f:
            report = json.load(f)
    v = report["variants"][0]
    if v["status"] != "ok":
        sys.exit(f"edgecap bench could not measure {model} {precision}: {v['reason']}")
    return {"median_ms": v["latency_ms"]["median"], "first_ms": v["first_inference_ms"], "load_ms": v["load_ms"],
            "cv": v["latency_ms"]["cv"], "environment": report["environment"]}


SIDES = ("edgecap", "python-eager", "python-script")


def python_latency(args, model: str, mode: str) -> dict:
    cmd = [args.python, REFERENCE, model, args.images, "--iterations", str(args.iterations), "--warmup",
           str(args.warmup), "--threads", str(args.threads), "--mode", mode, "--json"]
    r = json.loads(run_json(cmd, "reference_pipeline.py").stdout.strip().splitlines()[-1])
    return {"median_ms": r["latency_ms"]["median"], "first_ms": r["first_caption_ms"], "load_ms": r["load_ms"],
            "runtime": r["runtime"]}


def time_to_first_line(cmd) -> float:
    """Seconds from spawn to the first line on stdout (the first caption); the process is then reaped."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.stdout.read()
    if proc.wait() != 0 or not line.strip():
        sys.exit(f"no caption from: {' '.join(cmd)} (exit {proc.returncode})")
    return elapsed


def first_image(images: str) -> str:
    if os.path.isdir(images):
        names = sorted(n for n in os.listdir(images) if n.lower().endswith((".png", ".jpg", ".jpeg", ".bmp")))
        if not names:
            sys.exit(f"no images in {images}")
        return os.path.join(images, names[0])
    return images


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edgecap", default=None, help="the edgecap binary (default: build*/edgecap)")
    ap.add_argument("--python", default="/usr/bin/python3", help="Python with torch and cv2 (Debian's)")
    ap.add_argument("--model", default=os.path.join(REPO, "models", "lightweight_captioning_model.pt"),
                    help="FP32 model file; its .int8.pt sibling is used for INT8")
    ap.add_argument("--images", default=os.path.join(REPO, "samples", "scenes"))
    ap.add_argument("--runs", type=int, default=5, help="alternating latency runs per side and precision")
    ap.add_argument("--startup-runs", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads for both sides")
    ap.add_argument("--no-int8", action="store_true")
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args()
    args.edgecap = args.edgecap or find_edgecap()
    if not os.path.exists(args.model):
        sys.exit(f"model {args.model} not found (pass --model; tests/data/tiny_model.pt works for a dry run)")

    precisions = ["fp32"] + ([] if args.no_int8 or not os.path.exists(int8_sibling(args.model)) else ["int8"])
    lat = {(side, p): [] for side in SIDES for p in precisions}
    env = None

    def rotated(run):
        k = run % len(SIDES)
        return SIDES[k:] + SIDES[:k]

    for run in range(args.runs):
        for p in precisions:
            model = args.model if p == "fp32" else int8_sibling(args.model)
            for side in rotated(run):
                if side == "edgecap":
                    r = edgecap_latency(args, args.model, p)
                else:
                    r = python_latency(args, model, side.split("-")[1])
                env = r.get("environment", env)
                lat[(side, p)].append(r)
                print(f"run {run + 1}/{args.runs} {p} {side:13s} median {r['median_ms']:.3f} ms", file=sys.stderr)

    image = first_image(args.images)
    startup = {side: [] for side in SIDES}
    for run in range(args.startup_runs):
        for side in rotated(run):
            if side == "edgecap":
                cmd = [args.edgecap, "caption", "--json", "--model", args.model, "--precision", "fp32",
                       "--threads", str(args.threads), image]
            else:
                cmd = [args.python, REFERENCE, args.model, image, "--iterations", "0", "--warmup", "0",
                       "--threads", str(args.threads), "--mode", side.split("-")[1], "--json"]
            startup[side].append(time_to_first_line(cmd) * 1000)

    def med(side, p):
        return statistics.median(r["median_ms"] for r in lat[(side, p)])

    result = {"model": args.model, "images": args.images, "runs": args.runs, "iterations": args.iterations,
              "warmup": args.warmup, "threads": args.threads, "machine": platform.node(),
              "cpu": (env or {}).get("cpu_model", platform.processor()), "environment": env,
              "python_runtimes": {side: lat[(side, "fp32")][0]["runtime"] for side in SIDES[1:]},
              "latency_ms": {}, "startup_ms": {}}
    for p in precisions:
        result["latency_ms"][p] = {side: med(side, p) for side in SIDES}
        result["latency_ms"][p]["per_run"] = {side: [r["median_ms"] for r in lat[(side, p)]] for side in SIDES}
    for side in SIDES:
        result["startup_ms"][side] = statistics.median(startup[side])
    result["startup_ms"]["per_run"] = startup
    ratios = {}
    for side in SIDES[1:]:
        mode = side.split("-")[1]
        for p in precisions:
            ratios[f"python_{mode}_over_edgecap_{p}"] = med(side, p) / med("edgecap", p)
        ratios[f"startup_python_{mode}_over_edgecap"] = result["startup_ms"][side] / result["startup_ms"]["edgecap"]
    if "int8" in precisions:
        for side in SIDES:
            ratios[f"{side.replace('-', '_')}_fp32_over_int8"] = med(side, "fp32") / med(side, "int8")
    result["ratios"] = ratios

    print(f"model {args.model} | images {args.images} | threads {args.threads} | {args.runs} runs x "
          f"{args.iterations} iterations (warm-up {args.warmup}) | {result['cpu']}")
    print(f"{'':30s}{'edgecap':>10s}{'py eager':>10s}{'py script':>10s}{'eager/edgecap':>15s}{'script/edgecap':>16s}")
    for p in precisions:
        e, pe, ps = (med(side, p) for side in SIDES)
        print(f"{'latency/caption ' + p.upper() + ' (ms)':30s}{e:10.3f}{pe:10.3f}{ps:10.3f}{pe / e:14.2f}x{ps / e:15.2f}x")
    e, pe, ps = (result["startup_ms"][side] for side in SIDES)
    print(f"{'start-up to 1st caption (ms)':30s}{e:10.0f}{pe:10.0f}{ps:10.0f}{pe / e:14.2f}x{ps / e:15.2f}x")
    verdict = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    r = ratios["python_eager_over_edgecap_fp32"]
    print(f"target edgecap >= {TARGET_CPP_VS_PY}x faster than Python (eager, the seed's way) per FP32 caption: "
          f"{r:.2f}x -> {verdict(r >= TARGET_CPP_VS_PY)}  (vs Python TorchScript: "
          f"{ratios['python_script_over_edgecap_fp32']:.2f}x)")
    if "int8" in precisions:
        r = ratios["edgecap_fp32_over_int8"]
        print(f"target INT8 >= {TARGET_INT8_VS_FP32}x faster than FP32 (edgecap): {r:.2f}x -> "
              f"{verdict(r >= TARGET_INT8_VS_FP32)}  (Python eager: {ratios['python_eager_fp32_over_int8']:.2f}x, "
              f"script: {ratios['python_script_fp32_over_int8']:.2f}x)")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
        print("wrote", args.out)


if __name__ == "__main__":
    main()
