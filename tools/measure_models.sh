#!/bin/bash
# Every figure the docs quote about the four model files, measured in one run, so that shipping new weights
# is: put the files in place, run this, copy the numbers from $OUT/summary.md into README.md,
# models/README.md and docs/BENCHMARKS.md.
#
#   tools/measure_models.sh                      # the committed files; accuracy + INT8 agreement + timing
#   TIMING=0 tools/measure_models.sh             # accuracy and agreement only (a busy machine)
#   SUMMARY_ONLY=1 OUT=runs/measure tools/measure_models.sh   # only rewrite summary.md from $OUT
#   ACCURACY=0 OUT=runs/measure tools/measure_models.sh       # timing only, on a quiet machine, into an $OUT
#                                                              # whose accuracy a TIMING=0 run already measured
#   MODELS_DIR=runs/cand PRUNED_DIR=runs/cand OUT=runs/measure_cand TIMING=0 tools/measure_models.sh
#
# What it runs (each command is also named in the docs next to the figure it gives):
#   accuracy   tools/evaluate.py F --data $DATA --split test --beam 3 (all four files),
#              --data $CHECK --split test (all four) and --data $DATA --split val (the two FP32 files);
#              the pruned-vs-original and INT8-vs-FP32 recall gaps with their 95% paired bootstrap
#              intervals (tools/compare_evals.py) in summary.md
#   agreement  EDGECAP_NATIVE_STEP=0 / 1 build/edgecap caption --model F --precision int8 --beam B on the
#              1,000 test images, B = 1 and 3: how many captions the native INT8 step and the file's own
#              TorchScript step agree on
#   timing     (TIMING=1) tools/evaluate.py F --limit 20 --latency 100 --threads 1 (Python TorchScript),
#              build/edgecap bench --iterations 60 --warmup 5 --threads 1 --out $BENCH_OUT, and
#              tools/compare_python.py --runs 5 --threads 1 for each FP32 file. Run timing with nothing
#              else on the machine, and quote medians and ratios from one run.
# The scene sets come from tools/datagen/generate_scenes.py (models/README.md, Reproduce):
#   $DATA  = data/scenes_v1.3 (or any full --seed 0 set: the same test and val splits byte for byte; the
#            summary gives each split's n, so a set generated with a small --val shows as such)
#   $CHECK = data/scenes_check_s7 (--seed 7 --train 16 --val 16 --test 2000)
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
PY="${PY:-/usr/bin/python3}"
BIN="${BIN:-build/edgecap}"
DATA="${DATA:-data/scenes_v1.3}"
CHECK="${CHECK:-data/scenes_check_s7}"
MODELS_DIR="${MODELS_DIR:-models}"
PRUNED_DIR="${PRUNED_DIR:-pruning_results}"
OUT="${OUT:-runs/measure}"
BENCH_OUT="${BENCH_OUT:-$OUT/bench}"
TIMING="${TIMING:-1}"
SUMMARY_ONLY="${SUMMARY_ONLY:-0}"
ACCURACY="${ACCURACY:-1}"
THREADS="${THREADS:-2}"  # for accuracy only; timing is always 1 thread

ORIG="$MODELS_DIR/lightweight_captioning_model.pt"
PRUNED="$PRUNED_DIR/Pruning_epoch_1_checkpoint.pt"

die() { echo "measure_models.sh: $*" >&2; exit 1; }
for f in "$ORIG" "${ORIG%.pt}.int8.pt" "$PRUNED" "${PRUNED%.pt}.int8.pt"; do
    [ -f "$f" ] || die "model file $f not found (set MODELS_DIR / PRUNED_DIR)"
done
[ -f "$DATA/test.jsonl" ] || die "$DATA/test.jsonl not found: generate the scenes first (models/README.md, Reproduce)"
[ -f "$CHECK/test.jsonl" ] || die "$CHECK/test.jsonl not found: generate_scenes.py --out $CHECK --seed 7 --train 16 --val 16 --test 2000"
[ -x "$BIN" ] || die "$BIN not found: scripts/build.sh"

mkdir -p "$OUT/eval" "$OUT/agreement"
stamp() { echo "[$(date -u +%H:%M:%S)] $*"; }

if [ "$ACCURACY" != 1 ] && [ "$SUMMARY_ONLY" != 1 ]; then
    [ "$TIMING" = 1 ] || die "ACCURACY=0 with TIMING=0 measures nothing (SUMMARY_ONLY=1 rewrites the summary)"
    for f in "$OUT"/eval/{original,original.int8,pruned,pruned.int8}_test.json \
             "$OUT"/agreement/{original,pruned}_b{1,3}_native{0,1}.tsv; do
        [ -f "$f" ] || die "ACCURACY=0 needs $f from a TIMING=0 run into the same OUT"
    done
fi

if [ "$SUMMARY_ONLY" != 1 ]; then

# name file pairs: original, original.int8, pruned, pruned.int8
declare -A FILE=([original]="$ORIG" [original.int8]="${ORIG%.pt}.int8.pt"
                 [pruned]="$PRUNED" [pruned.int8]="${PRUNED%.pt}.int8.pt")
NAMES=(original original.int8 pruned pruned.int8)

if [ "$ACCURACY" = 1 ]; then
stamp "accuracy ($DATA test with beam 3, $CHECK test, $DATA val for FP32)"
for n in "${NAMES[@]}"; do
    "$PY" tools/evaluate.py "${FILE[$n]}" --data "$DATA" --split test --beam 3 --threads "$THREADS" \
        --out "$OUT/eval/${n}_test.json" > "$OUT/eval/${n}_test.txt"
    "$PY" tools/evaluate.py "${FILE[$n]}" --data "$CHECK" --split test --threads "$THREADS" \
        --out "$OUT/eval/${n}_check.json" > "$OUT/eval/${n}_check.txt"
done
for n in original pruned; do
    "$PY" tools/evaluate.py "${FILE[$n]}" --data "$DATA" --split val --threads "$THREADS" \
        --out "$OUT/eval/${n}_val.json" > "$OUT/eval/${n}_val.txt"
done

stamp "native INT8 step vs the file's TorchScript step ($DATA test images, greedy and beam 3)"
for n in original pruned; do
    for beam in 1 3; do
        for native in 0 1; do
            EDGECAP_NATIVE_STEP=$native "$BIN" caption --model "${FILE[$n]}" --precision int8 --beam $beam \
                --threads 1 "$DATA"/images/test/*.png > "$OUT/agreement/${n}_b${beam}_native${native}.tsv"
        done
    done
done
fi  # ACCURACY

if [ "$TIMING" = 1 ]; then
    stamp "timing: Python TorchScript latency (1 thread)"
    for n in "${NAMES[@]}"; do
        "$PY" tools/evaluate.py "${FILE[$n]}" --data "$DATA" --split test --limit 20 --latency 100 --threads 1 \
            --out "$OUT/eval/${n}_latency.json" > "$OUT/eval/${n}_latency.txt"
    done
    stamp "timing: edgecap bench -> $BENCH_OUT"
    "$BIN" bench --models-dir "$MODELS_DIR" --pruned-dir "$PRUNED_DIR" --iterations 60 --warmup 5 --threads 1 \
        --out "$BENCH_OUT" > "$OUT/bench_stdout.txt"
    stamp "timing: edgecap vs Python"
    for n in original pruned; do
        "$PY" tools/compare_python.py --edgecap "$BIN" --model "${FILE[$n]}" --runs 5 --threads 1 \
            --out "$BENCH_OUT/compare_${n}.json" > "$OUT/compare_${n}.txt"
    done
fi

fi  # SUMMARY_ONLY

stamp "summary -> $OUT/summary.md"
"$PY" - "$OUT" "$TIMING" "$BENCH_OUT" <<'EOF'
import json, os, sys
out, timing, bench_out = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
names = ["original", "original.int8", "pruned", "pruned.int8"]
def load(name):
    path = os.path.join(out, "eval", name + ".json")
    return json.load(open(path)) if os.path.exists(path) else None
pct = lambda x: f"{100 * x:.1f}"
lines = ["# Model measurements", "",
         "| file | split | n | decode | recall % | counts % | colours % | BLEU-4 | seen / held-out recall % |",
         "|---|---|---|---|---|---|---|---|---|"]
for n in names:
    for split in ("test", "check", "val"):
        r = load(f"{n}_{split}")
        if r is None:
            continue
        for decode in ("greedy", "beam3"):
            g = r.get(decode)
            if not g:
                continue
            held = g.get("object_recall_held_out_sources")
            seen = g.get("object_recall_seen_sources")
            sh = f"{pct(seen)} / {pct(held)}" if held is not None and seen is not None else ""
            lines.append(f"| {n} | {split} | {r['images']} | {decode} | {pct(g['object_recall'])} | {pct(g['count_accuracy'])} | "
                         f"{pct(g['colour_accuracy'])} | {g['bleu4']:.3f} | {sh} |")
sys.path.insert(0, "tools")
from compare_evals import compare
def interval(a, b):
    """the 95% paired bootstrap interval of the recall difference (tools/compare_evals.py), as text"""
    try:
        lo, hi = compare(os.path.join(out, "eval", a + ".json"), os.path.join(out, "eval", b + ".json"))[
            "metrics"]["object_recall"]["ci95"]
    except (ValueError, KeyError, OSError) as exc:  # no per-image captions, or the scene set is not here
        return f" (no paired interval: {exc})"
    return f" (95% paired interval {100 * lo:+.1f} to {100 * hi:+.1f})"
lines += ["", "Greedy recall differences in points (targets: pruned within 3 of the original, INT8 within 2 of its FP32),",
          "with the 95% paired bootstrap interval over the split's scenes (tools/compare_evals.py):", ""]
for split in ("test", "check", "val"):
    o, p = load(f"original_{split}"), load(f"pruned_{split}")
    if o and p:
        lines.append(f"- {split}: pruned - original = {100 * (p['greedy']['object_recall'] - o['greedy']['object_recall']):+.1f}"
                     + interval(f"original_{split}", f"pruned_{split}"))
    for base in ("original", "pruned"):
        f, q = load(f"{base}_{split}"), load(f"{base}.int8_{split}")
        if f and q:
            lines.append(f"- {split}: {base} INT8 - FP32 = "
                         f"{100 * (q['greedy']['object_recall'] - f['greedy']['object_recall']):+.1f}"
                         + interval(f"{base}_{split}", f"{base}.int8_{split}"))
lines += ["", "Native INT8 step vs the file's TorchScript step (captions identical, of the test images):", ""]
for n in ("original", "pruned"):
    for beam in (1, 3):
        a = [open(os.path.join(out, "agreement", f"{n}_b{beam}_native{k}.tsv")).read().splitlines() for k in (0, 1)]
        same = sum(x == y for x, y in zip(*a))
        lines.append(f"- {n}, beam {beam}: {same} of {len(a[0])}" + ("" if len(a[0]) == len(a[1]) else " (line counts differ)"))
if timing:
    lines += ["", "Python TorchScript latency, 1 thread, median ms of 100:", ""]
    for n in names:
        r = load(f"{n}_latency")
        lat = r.get("latency") if r else None
        lines.append(f"- {n}: {lat['median_ms']:.2f} ms" if lat else f"- {n}: not measured")
    lines += ["", f"edgecap bench and the Python comparison: {bench_out}/bench.md, {bench_out}/compare_*.json"]
open(os.path.join(out, "summary.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
