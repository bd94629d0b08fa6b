#!/usr/bin/python3
"""Compare two model files evaluated on the same split, image by image: each metric of A and B, the difference
B - A, and its 95% paired bootstrap confidence interval (images resampled with replacement, the same images
for both files, so what the two files have in common cancels; an object's count and colour stay with its
image). Reads the JSON that tools/evaluate.py writes (it keeps every image's caption) and re-scores the
captions with evaluate.py's own parser against the split's ground truth.

    /usr/bin/python3 tools/evaluate.py models/lightweight_captioning_model.pt --data data/scenes_v1.3 \\
        --split test --out runs/eval/a.json
    /usr/bin/python3 tools/evaluate.py runs/leg/original.pt --data data/scenes_v1.3 --split test \\
        --out runs/eval/b.json
    /usr/bin/python3 tools/compare_evals.py runs/eval/a.json runs/eval/b.json

An interval that excludes 0 says the difference is larger than what resampling the scenes gives; one that
includes 0 says this split cannot tell the two files apart on that metric. The two files must have been
evaluated on the same images of the same split (checked by image id).
"""
import argparse
import json
import os
import sys
from typing import Dict, List, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import read_split  # noqa: E402
from evaluate import attribute_scores, dataset_categories, held_out_sources  # noqa: E402

# metric -> (numerator, denominator) among the per-image tallies of evaluate.attribute_scores
METRICS = {"object_recall": ("recalled", "objects"), "count_accuracy": ("count_ok", "objects"),
           "colour_accuracy": ("colour_ok", "coloured"),
           "object_recall_held_out_sources": ("recalled_held", "objects_held"),
           "object_recall_seen_sources": ("recalled_seen", "objects_seen"),
           "object_precision": ("mentions_true", "mentions")}


def tallies(captions: List[str], records: List[dict], categories, held: Dict[str, str]) -> Dict[str, np.ndarray]:
    """Per-image counts [N] for every numerator and denominator of METRICS."""
    keys = sorted({k for pair in METRICS.values() for k in pair})
    rows = [attribute_scores([c], [r], categories, held)["counts"] for c, r in zip(captions, records)]
    return {k: np.array([row.get(k, 0) for row in rows], dtype=np.float64) for k in keys}


def paired_bootstrap(a: Dict[str, np.ndarray], b: Dict[str, np.ndarray], resamples: int = 2000,
                     seed: int = 0) -> Dict[str, dict]:
    """metric -> {a, b, diff, ci95: [lo, hi]} (ratios of sums; None where a denominator is 0)."""
    n = len(next(iter(a.values())))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    out = {}
    for name, (num, den) in METRICS.items():
        if a[den].sum() == 0 or b[den].sum() == 0:
            continue
        ra, rb = a[num].sum() / a[den].sum(), b[num].sum() / b[den].sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = b[num][idx].sum(1) / b[den][idx].sum(1) - a[num][idx].sum(1) / a[den][idx].sum(1)
        boot = boot[np.isfinite(boot)]
        lo, hi = np.percentile(boot, [2.5, 97.5])
        out[name] = {"a": ra, "b": rb, "diff": rb - ra, "ci95": [float(lo), float(hi)]}
    return out


def load(path: str, decode: str) -> dict:
    with open(path) as f:
        r = json.load(f)
    caps = r.get("captions")
    if not caps or decode not in caps:
        raise ValueError(f"{path}: no per-image {decode} captions (evaluate it again with this tools/evaluate.py"
                         f"{' and --beam ' + decode[4:] if decode.startswith('beam') else ''})")
    return r


def compare(path_a: str, path_b: str, decode: str = "greedy", data: Optional[str] = None,
            resamples: int = 2000, seed: int = 0) -> dict:
    ra, rb = load(path_a, decode), load(path_b, decode)
    if ra["split"] != rb["split"] or ra["captions"]["ids"] != rb["captions"]["ids"]:
        raise ValueError(f"{path_a} and {path_b} were not evaluated on the same images of one split")
    root = data or ra["data"]
    records = {r["id"]: r for r in read_split(root, ra["split"])}
    missing = [i for i in ra["captions"]["ids"] if i not in records]
    if missing:
        raise ValueError(f"{root} {ra['split']} split has no image {missing[0]} (give --data: the set evaluated)")
    recs = [records[i] for i in ra["captions"]["ids"]]
    categories, held = dataset_categories(root, recs), held_out_sources(root)
    ta = tallies(ra["captions"][decode], recs, categories, held)
    tb = tallies(rb["captions"][decode], recs, categories, held)
    return {"a": path_a, "b": path_b, "split": ra["split"], "images": len(recs), "decode": decode,
            "resamples": resamples, "seed": seed, "metrics": paired_bootstrap(ta, tb, resamples, seed)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="evaluate.py JSON of file A (the reference)")
    ap.add_argument("b", help="evaluate.py JSON of file B")
    ap.add_argument("--decode", default="greedy", help="greedy or beamK (as evaluated)")
    ap.add_argument("--data", help="the scene set evaluated (default: the path in A's JSON)")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="also write the comparison as JSON")
    args = ap.parse_args()
    try:
        res = compare(args.a, args.b, args.decode, args.data, args.resamples, args.seed)
    except (ValueError, OSError, KeyError) as exc:
        sys.exit(f"compare_evals: {exc}")
    print(f"{res['split']} split, {res['images']} images, {res['decode']}; B - A with 95% paired bootstrap "
          f"interval ({res['resamples']} resamples)\n  A = {args.a}\n  B = {args.b}")
    for name, m in res["metrics"].items():
        lo, hi = m["ci95"]
        print(f"  {name:32s} A {100 * m['a']:5.1f}  B {100 * m['b']:5.1f}  B-A {100 * m['diff']:+5.1f}  "
              f"[{100 * lo:+5.1f}, {100 * hi:+5.1f}]")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
