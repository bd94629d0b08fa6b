#!/usr/bin/python3
"""Pick varied test scenes and copy them to samples/scenes/ (committed).

    /usr/bin/python3 tools/datagen/make_samples.py --data data/scenes --out samples/scenes --n 16

Greedy choice over the test split: each pick maximises what is not covered
yet (categories, backgrounds, counts, colours, relations, held-out sources
and pairs).  Images are copied byte for byte; ground_truth.jsonl keeps the
dataset's line format with image paths relative to the output folder.
"""
import argparse
import json
import os
import shutil


def features(rec, meta):
    held = meta["held_out"]["sources"]
    pairs = [frozenset(p) for p in meta["held_out"]["pairs"]]
    cats = {o["category"] for o in rec["objects"]}
    f = {("cat", c) for c in cats}
    f.add(("bg", rec["background"]))
    f |= {("count", o["count"]) for o in rec["objects"]}
    f |= {("ncat", len(cats))}
    f |= {("colour", o["colour"]) for o in rec["objects"] if o["colour"]}
    f |= {("rel", r["relation"]) for r in rec["relations"]}
    f |= {("src", o["source"]) for o in rec["objects"]}
    if any(held.get(o["category"]) == o["source"] for o in rec["objects"]):
        f.add(("held", "source"))
    if any(p <= cats for p in pairs):
        f.add(("held", "pair"))
    return f


def pick(records, meta, n):
    weights = {"cat": 1.0, "bg": 3.0, "count": 2.0, "ncat": 2.0, "colour": 1.5, "rel": 2.0,
               "src": 2.0, "held": 3.0}
    covered, chosen = set(), []
    feats = [features(r, meta) for r in records]
    for _ in range(min(n, len(records))):
        best, best_score = None, -1.0
        for i, f in enumerate(feats):
            if i in chosen:
                continue
            score = sum(weights[k] for k, _ in f - covered)
            if score > best_score:  # ties: the earliest scene, so the choice is stable
                best, best_score = i, score
        chosen.append(best)
        covered |= feats[best]
    return [records[i] for i in sorted(chosen)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/scenes")
    ap.add_argument("--out", default="samples/scenes")
    ap.add_argument("--n", type=int, default=16)
    args = ap.parse_args(argv)
    with open(os.path.join(args.data, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    with open(os.path.join(args.data, "test.jsonl"), encoding="utf-8") as f:
        records = [json.loads(l) for l in f]
    chosen = pick(records, meta, args.n)
    os.makedirs(args.out, exist_ok=True)
    for old in os.listdir(args.out):
        if old.endswith(".png"):
            os.remove(os.path.join(args.out, old))
    with open(os.path.join(args.out, "ground_truth.jsonl"), "w", encoding="utf-8") as f:
        for r in chosen:
            name = os.path.basename(r["image"])
            shutil.copyfile(os.path.join(args.data, r["image"]), os.path.join(args.out, name))
            r = dict(r, image=name)
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    total = sum(os.path.getsize(os.path.join(args.out, x)) for x in os.listdir(args.out))
    print(f"{len(chosen)} scenes, {total} bytes in {args.out}")


if __name__ == "__main__":
    main()
