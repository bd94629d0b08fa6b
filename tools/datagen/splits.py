"""Train/val/test split design.

train and val are drawn from the same distribution.  test additionally
contains sprite sources and category pairs that train and val never show:

- HELD_OUT_SOURCES: for these categories, one whole sprite source (style)
  appears only in test, while the category's other sources appear everywhere
  (e.g. the Tux Paint photo of a dog is test-only; emoji and 3-D dogs train).
- HELD_OUT_PAIRS: these two categories never share a train/val scene; in test
  they do.
A share (TEST_FORCE_P) of test scenes is built around one of these; the rest
are ordinary scenes that may also use the held-out sources.
"""
from __future__ import annotations

from scene import SplitPlan

HELD_OUT_SOURCES = {
    "dog": "tuxpaint",
    "cat": "sh3d",
    "horse": "tuxpaint",
    "car": "tuxpaint",
    "cup": "sh3d",
    "apple": "emoji",
    "bird": "fluent",
    "chair": "emoji",
    "person": "tuxpaint",
    "sports ball": "sh3d",
    "teddy bear": "sh3d",
    "umbrella": "tuxpaint",
    "bus": "twemoji",
    "cake": "tuxpaint",
    "elephant": "fluent-flat",
    "banana": "twemoji",
    "pizza": "fluent",
    "donut": "fluent-flat",
    "tie": "twemoji",
    "toothbrush": "fluent",
    "laptop": "sh3d",
    "sheep": "tuxpaint",
    "clock": "tuxpaint",
    "bicycle": "sh3d",
}

HELD_OUT_PAIRS = [
    ("dog", "car"),
    ("cat", "couch"),
    ("person", "horse"),
    ("cup", "laptop"),
    ("bird", "bench"),
    ("banana", "orange"),
    ("bus", "traffic light"),
    ("sheep", "cow"),
]

TEST_FORCE_P = 0.5
SPLITS = ("train", "val", "test")


def group_by_source(sprites):
    out = {}
    for cat, ss in sprites.items():
        for s in ss:
            out.setdefault(cat, {}).setdefault(s.source, []).append(s)
    return out


def build_plans(sprites, extra_sources=()) -> dict[str, SplitPlan]:
    """extra_sources: train-only sources (sources.TRAIN_ONLY_SOURCES) the train split may use; val and
    test never use any of them, so they do not change with it."""
    from sources import TRAIN_ONLY_SOURCES
    train_only = {src for refs in TRAIN_ONLY_SOURCES.values() for src, _ in refs}
    unknown = set(extra_sources) - train_only
    if unknown:
        raise ValueError(f"unknown extra source(s) {sorted(unknown)}; known: {sorted(train_only)}")
    full = group_by_source(sprites)
    by = {c: {s: v for s, v in srcs.items() if s not in train_only} for c, srcs in full.items()}
    by = {c: srcs for c, srcs in by.items() if srcs}
    held_sources = {c: s for c, s in HELD_OUT_SOURCES.items()
                    if c in by and s in by[c] and len(by[c]) > 1}
    train_sprites = {c: {s: v for s, v in srcs.items() if held_sources.get(c) != s}
                     for c, srcs in by.items()}
    extra_train = {c: {s: v for s, v in full[c].items() if s in extra_sources} for c in by}
    train_plus = {c: {**train_sprites[c], **extra_train[c]} for c in by}
    pairs = [p for p in HELD_OUT_PAIRS if p[0] in by and p[1] in by]
    forbidden = {frozenset(p) for p in pairs}
    return {
        "train": SplitPlan("train", train_plus, forbidden),
        "val": SplitPlan("val", train_sprites, forbidden),
        "test": SplitPlan("test", by, set(), held_sources, pairs, TEST_FORCE_P),
    }
