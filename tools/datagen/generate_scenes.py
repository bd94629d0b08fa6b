#!/usr/bin/python3
"""Generate the edgecap procedural scene dataset.

    /usr/bin/python3 tools/datagen/generate_scenes.py --out data/scenes \
        --train 20000 --val 1000 --test 1000 --size 128 --seed 0 --workers 2

Writes images/<split>/<id>.png, <split>.jsonl (one scene per line) and
meta.json.  Scene i of a split is a pure function of (seed, split, i), so the
output is byte-identical for any number of workers.
"""
from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import os
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import numpy as np  # noqa: E402

import grammar as G  # noqa: E402
import sources  # noqa: E402
import splits  # noqa: E402
from backgrounds import photo_textures  # noqa: E402
from scene import generate_scene  # noqa: E402

GENERATOR_VERSION = "1.12.0"
SPLIT_IDS = {"train": 0, "val": 1, "test": 2}

_plans = None  # set by load_plans in the parent before forking; workers inherit it


def scene_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, SPLIT_IDS[split], index])))


def scene_id(split: str, index: int) -> str:
    return f"{split}_{index:06d}"


def make_one(split: str, index: int, seed: int, size: int):
    """(image, record) for scene `index` of `split`."""
    image, rec = generate_scene(scene_rng(seed, split, index), _plans[split], size)
    sid = scene_id(split, index)
    record = {"id": sid, "image": f"images/{split}/{sid}.png"}
    record.update(rec)
    return image, record


def _work(args):
    split, index, seed, size, out = args
    cpu = time.process_time()
    image, record = make_one(split, index, seed, size)
    image.save(os.path.join(out, record["image"]), format="PNG", optimize=False, compress_level=6)
    return record, time.process_time() - cpu


_plans_extra = None


def load_plans(extra_sources=()):
    """The split plans; extra_sources: train-only sources for the train split (--extra-sources)."""
    global _plans, _plans_extra
    if _plans is None or _plans_extra != tuple(extra_sources):
        _plans = splits.build_plans(sources.load_sprites(), tuple(extra_sources))
        _plans_extra = tuple(extra_sources)
        photo_textures()  # load before forking so workers share them
    return _plans


class Progress:
    def __init__(self, total, label, stream=sys.stderr):
        self.total, self.label, self.stream = total, label, stream
        self.start = time.time()
        self.last = 0.0

    def update(self, n):
        now = time.time()
        if now - self.last < 0.5 and n < self.total:
            return
        self.last = now
        el = max(now - self.start, 1e-9)
        rate = n / el
        eta = (self.total - n) / rate if rate > 0 else float("inf")
        frac = n / max(self.total, 1)
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r{self.label:5s} [{bar:<30s}] {n}/{self.total} "
                          f"{rate:7.1f} scenes/s  ETA {eta:6.1f}s")
        if n >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def vocabulary_words():
    return G.vocabulary(sorted(_plans["test"].sprites))


def split_seed(args, split: str) -> int:
    """The seed of a split's scenes: --train-seed for train when given, else --seed."""
    return args.train_seed if split == "train" and args.train_seed is not None else args.seed


def build_meta(args, counts, stats, timing):
    plans = _plans
    cats = sorted(plans["test"].sprites, key=G.CATEGORIES.index)
    cat_info = {}
    for c in cats:
        cat_info[c] = {
            "sources": {s: sorted(plans[s].sprites.get(c, {})) for s in splits.SPLITS},
            "sprites": {src: len(v) for src, v in sorted(plans["test"].sprites[c].items())},
            "scenes": {s: stats[s]["categories"].get(c, 0) for s in stats},
        }
    return {
        "generator": "edgecap tools/datagen/generate_scenes.py",
        "generator_version": GENERATOR_VERSION,
        "seed": args.seed,
        "train_seed": split_seed(args, "train"),
        "size": args.size,
        "extra_sources": {"train": list(_plans_extra or ())},
        "restyle": {"train": plans["train"].restyle, "val": plans["val"].restyle,
                    "test": plans["test"].restyle},
        "counts": counts,
        "categories": cats,
        "category_info": cat_info,
        "held_out": {
            "sources": {c: s for c, s in plans["test"].held_out_sources.items()},
            "pairs": [list(p) for p in plans["test"].held_out_pairs],
            "test_force_probability": splits.TEST_FORCE_P,
            "note": "held-out sources and pairs never occur in train or val; val follows the train distribution",
        },
        "photo_textures": {k: len(v) for k, v in sorted(photo_textures().items())},
        "colour_terms": G.COLOUR_TERMS,
        "number_words": G.NUMBER_WORDS[1:4],
        "background_words": G.background_words(),
        "backgrounds": G.BACKGROUNDS,
        "plain_background_colours": G.PLAIN_BACKGROUND_COLOURS,
        "relations": G.RELATIONS,
        "vocabulary": vocabulary_words(),
        "observed_vocabulary": {s: len(stats[s]["words"]) for s in stats},
        "word_counts_train": dict(sorted(stats.get("train", {"words": {}})["words"].items(),
                                         key=lambda kv: (-kv[1], kv[0]))),
        "box_format": "[x0, y0, x1, y1] in pixels, x1/y1 exclusive",
        "timing": timing,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="data/scenes")
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--val", type=int, default=1000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-seed", type=int, default=None,
                    help="seed of the train split only (default: --seed): new training scenes, the same "
                         "val and test scenes byte for byte")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--extra-sources", default="",
                    help="comma-separated train-only sprite sources (sources.TRAIN_ONLY_SOURCES: openclipart, gcompris, scratch, art4apps, 0ad, fluent-3d, render-3d, 0ad-3d)")
    ap.add_argument("--restyle", type=float, default=0.0,
                    help="train split: chance that a sprite is redrawn in a random style (restyle.py)")
    args = ap.parse_args(argv)
    if not 0.0 <= args.restyle <= 1.0:
        ap.error("--restyle must be in [0, 1]")

    t0 = time.time()
    extra = tuple(x for x in args.extra_sources.split(",") if x)
    try:
        load_plans(extra)
    except ValueError as exc:
        ap.error(str(exc))
    if extra and not any(s in extra for srcs in _plans["train"].sprites.values() for s in srcs):
        ap.error(f"--extra-sources {args.extra_sources}: none of its pictures are installed "
                 "(tools/install_data_sources.sh)")
    _plans["train"].restyle = args.restyle
    t_load = time.time() - t0
    counts = {"train": args.train, "val": args.val, "test": args.test}
    stats, timing = {}, {"sprite_loading_s": round(t_load, 2), "workers": args.workers}
    pool = mp.get_context("fork").Pool(args.workers) if args.workers > 1 else None
    try:
        for split in splits.SPLITS:
            n = counts[split]
            os.makedirs(os.path.join(args.out, "images", split), exist_ok=True)
            prog = Progress(n, split)
            seed = split_seed(args, split)
            jobs = ((split, i, seed, args.size, args.out) for i in range(1, n + 1))
            it = pool.imap(_work, jobs, chunksize=16) if pool else map(_work, jobs)
            st = {"categories": collections.Counter(), "words": collections.Counter()}
            ts = time.time()
            tmp = os.path.join(args.out, f"{split}.jsonl.tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                cpu = 0.0
                for k, (rec, cpu_s) in enumerate(it, 1):
                    cpu += cpu_s
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    for o in rec["objects"]:
                        st["categories"][o["category"]] += 1
                    for c in rec["captions"]:
                        st["words"].update(c.split())
                    prog.update(k)
            os.replace(tmp, os.path.join(args.out, f"{split}.jsonl"))
            el = time.time() - ts
            timing[split] = {"seconds": round(el, 2),
                             "scenes_per_second": round(n / el, 1) if el > 0 else None,
                             "wall_ms_per_scene_per_worker": round(1000 * el * args.workers / max(n, 1), 2),
                             # CPU time inside the workers: the cost per scene on one core,
                             # independent of what else the machine is running
                             "cpu_ms_per_scene": round(1000 * cpu / max(n, 1), 2)}
            stats[split] = st
    finally:
        if pool:
            pool.close()
            pool.join()
    meta = build_meta(args, counts, stats, timing)
    with open(os.path.join(args.out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"done: {sum(counts.values())} scenes in {time.time() - t0:.1f}s; "
          f"vocabulary {len(meta['vocabulary'])} words "
          f"(train uses {meta['observed_vocabulary'].get('train')}); {args.out}/meta.json", file=sys.stderr)


if __name__ == "__main__":
    main()
