#!/usr/bin/python3
"""Where a model's counts go wrong: its captions of a split, matched to the ground truth as evaluate.py
matches them (the same caption parser), broken down by true count, stated count and instance size.

    build/edgecap caption --model models/lightweight_captioning_model.pt --threads 1 \
        data/scenes_v1.3/images/test/*.png > runs/captions_test.tsv
    /usr/bin/python3 tools/count_errors.py runs/captions_test.tsv --data data/scenes_v1.3 --split test

The captions file has one `path<TAB>caption` line per image (what `edgecap caption` prints); an image is
matched to its scene by the file name. For each ground-truth object: not named, or named with a count
(the first mention of its category). Multi-instance objects are bucketed by the shorter side of their
smallest instance's box, in pixels of the 128x128 scene. Prints the breakdown; --out writes it as JSON.
"""
import argparse
import json
import os
import sys
from collections import Counter
from typing import Dict, List, Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate as ev  # noqa: E402

SIZE_BUCKETS = ((16, "<16"), (24, "16-24"), (32, "24-32"), (None, "32+"))


def size_bucket(side: int) -> str:
    for limit, name in SIZE_BUCKETS:
        if limit is None or side < limit:
            return name
    raise AssertionError("unreachable")


def read_captions(path: str) -> Dict[str, str]:
    """scene id (image file name without extension) -> caption."""
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            if "\t" not in line:
                raise SystemExit(f"{path}:{n}: expected 'path<TAB>caption', got {line[:80]!r}")
            image, caption = line.split("\t", 1)
            out[os.path.splitext(os.path.basename(image))[0]] = caption
    return out


def count_errors(records: List[dict], captions: Dict[str, str], categories: Sequence[str],
                 held_out: Dict[str, str]) -> dict:
    """The breakdown for the scenes in `records`; every scene needs a caption."""
    missing = [r["id"] for r in records if r["id"] not in captions]
    if missing:
        raise ValueError(f"{len(missing)} scenes have no caption, e.g. {missing[0]}")
    stated = Counter()                      # (true count, stated count or "miss")
    totals = Counter()
    by_size = {name: Counter() for _, name in SIZE_BUCKETS}
    for r in records:
        first = {}
        for m in ev.parse_mentions(ev.tokenize(captions[r["id"]]), categories):
            first.setdefault(m.category, m)
        for o in r["objects"]:
            k = o["count"]
            group = "held_out" if held_out.get(o["category"]) == o["source"] else "seen"
            totals["objects"] += 1
            totals[group + "_objects"] += 1
            m = first.get(o["category"])
            if m is None:
                stated[(k, "miss")] += 1
                continue
            ok = m.count == k
            totals["named"] += 1
            totals[group + "_named"] += 1
            totals["count_ok"] += ok
            totals[group + "_count_ok"] += ok
            stated[(k, m.count)] += 1
            if k > 1:
                side = min(min(b[2] - b[0], b[3] - b[1]) for b in o["boxes"])
                bucket = by_size[size_bucket(side)]
                bucket["named"] += 1
                bucket["count_ok"] += ok
    by_true_count: Dict[str, Dict[str, int]] = {}
    for (true, said), n in sorted(stated.items(), key=lambda item: (item[0][0], str(item[0][1]))):
        by_true_count.setdefault(str(true), {})[str(said)] = n
    return {
        "totals": dict(totals),
        "by_true_count": by_true_count,
        "multi_instance_by_smallest_side": {name: dict(c) for name, c in by_size.items()},
    }


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} = {100.0 * a / b:.1f}%" if b else f"{a}/0"


def report(result: dict) -> str:
    t = result["totals"]
    lines = [
        f"counts right: {_pct(t.get('count_ok', 0), t.get('objects', 0))} of the objects; "
        f"when named {_pct(t.get('count_ok', 0), t.get('named', 0))}",
        f"  seen sources, when named: {_pct(t.get('seen_count_ok', 0), t.get('seen_named', 0))}; "
        f"held-out sources, when named: {_pct(t.get('held_out_count_ok', 0), t.get('held_out_named', 0))}",
        f"  not named: {_pct(t.get('objects', 0) - t.get('named', 0), t.get('objects', 0))}",
    ]
    for k, row in result["by_true_count"].items():
        lines.append(f"true count {k}: stated " + ", ".join(f"{s}: {n}" for s, n in row.items()))
    lines.append("multi-instance objects counted right when named, by smallest instance side (px): " + ", ".join(
        f"{name} {_pct(c.get('count_ok', 0), c.get('named', 0))}"
        for name, c in result["multi_instance_by_smallest_side"].items()))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("captions", help="path<TAB>caption lines, e.g. edgecap caption's output")
    ap.add_argument("--data", default="data/scenes_v1.3", help="dataset root (default %(default)s)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", help="write the breakdown as JSON here")
    args = ap.parse_args(argv)
    records = ev.read_split(args.data, args.split)
    result = count_errors(records, read_captions(args.captions), ev.dataset_categories(args.data, records),
                          ev.held_out_sources(args.data))
    print(report(result))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
