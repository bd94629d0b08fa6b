"""Composition of one scene and its captions.

A scene is 1-3 object categories with 1-3 instances each on a background.
Everything random comes from the numpy Generator passed in, so a scene is a
pure function of (sprites, split plan, seed).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

import grammar as G
from backgrounds import make_background
from colour import ARBITRARY_COLOUR, measure_colour, recolour
from restyle import restyle
from sources import SOURCE_FAMILY

# --- where categories may appear --------------------------------------------
_ALL_GROUND = ("grass", "beach", "road", "snow", "room")
_OUTDOOR = ("grass", "beach", "road", "snow")
_INDOOR = ("room",)
SCENE_BACKGROUNDS: dict[str, tuple[str, ...]] = {}


def _set(cats, bgs):
    for c in cats.split(","):
        SCENE_BACKGROUNDS[c.strip()] = tuple(bgs) + ("plain",)


_set("person", _ALL_GROUND)
_set("bicycle, car, motorcycle, bus, truck, traffic light, stop sign, fire hydrant", ("road", "snow"))
_set("skateboard", ("road",))
_set("train", ("grass", "snow"))
_set("boat", ("beach",))
_set("airplane, kite", ("grass", "beach", "road", "snow"))
_set("bird", ("grass", "beach", "snow", "road"))
_set("bench", ("grass", "road", "snow"))
_set("dog", ("grass", "beach", "snow", "road", "room"))
_set("cat", ("grass", "room"))
_set("horse, sheep, cow, elephant, zebra, giraffe", ("grass",))
_set("bear", ("grass", "snow"))
_set("backpack, umbrella, handbag, suitcase", ("grass", "beach", "road", "room"))
_set("frisbee, sports ball", ("grass", "beach"))
_set("skis", ("snow",))
_set("tennis racket", ("grass", "room"))
_set("tie, bottle, wine glass, cup, fork, knife, spoon, bowl, banana, apple, sandwich, orange, "
     "broccoli, carrot, hot dog, pizza, donut, cake, chair, couch, potted plant, bed, dining table, "
     "toilet, tv, laptop, mouse, remote, keyboard, cell phone, microwave, oven, toaster, sink, "
     "refrigerator, book, clock, vase, scissors, teddy bear, toothbrush", _INDOOR)
# picnic things also appear outdoors
_set("bottle, cup, wine glass, sandwich, apple, banana, orange, hot dog, pizza, donut, cake, book, "
     "cell phone, teddy bear, bowl", ("room", "grass", "beach"))
_set("chair, potted plant, dining table", ("room", "grass"))

# Always in the sky on outdoor backgrounds; birds sometimes.
SKY_CATEGORIES = {"airplane", "kite"}
# Hung on the wall in rooms.
WALL_CATEGORIES = {"clock"}
# Sprites with writing or a handedness that a mirror image would falsify.
NO_FLIP = {"stop sign", "clock", "keyboard", "book", "cell phone", "laptop", "tv"}

# chance of a plain background; otherwise one of the first category's backgrounds by weight
PLAIN_P = 0.2
BACKGROUND_WEIGHTS = {"grass": 0.25, "beach": 0.25, "road": 0.2, "snow": 0.15, "room": 0.25}
N_CATEGORIES_P = [0.4, 0.4, 0.2]  # 1, 2, 3 categories
COUNT_P = [0.55, 0.3, 0.15]       # 1, 2, 3 instances
# longest side of an instance as a fraction of the image side
SIZE_CLASSES = {"small": (0.2, 0.28), "medium": (0.3, 0.42), "large": (0.46, 0.62)}
# Rough real-world size so a cup is not drawn as big as a bus (times the class range).
_TINY = ("fork, knife, spoon, mouse, remote, cell phone, toothbrush, scissors, apple, orange, "
         "banana, carrot, donut, sports ball, frisbee, tie, cup, wine glass, bird, hot dog, "
         "sandwich, broccoli, book, clock, bottle, bowl, vase")
_MEDIUM = ("cat, dog, backpack, handbag, suitcase, umbrella, laptop, teddy bear, toaster, microwave, "
           "potted plant, chair, fire hydrant, stop sign, skateboard, tennis racket, pizza, cake, "
           "sheep, tv, sink, toilet, keyboard, skis, kite, traffic light")
CATEGORY_SCALE = {c.strip(): 0.65 for c in _TINY.split(",")}
CATEGORY_SCALE.update({c.strip(): 0.82 for c in _MEDIUM.split(",")})
MAX_OVERLAP = 0.18  # intersection / smaller box area
NEXT_TO_GAP = 0.06       # horizontal gap (fraction of the image) for "next to"
NEXT_TO_BASELINE = 0.08  # and at most this difference in the bottom edges
MAX_CAPTION_WORDS = 18


@dataclass
class SplitPlan:
    """What a split may use: sprites per category, and forbidden pairs."""
    name: str
    sprites: dict          # category -> source -> [Sprite]
    forbidden_pairs: set = field(default_factory=set)   # frozensets
    # test only: scenes that force a held-out source or pair
    held_out_sources: dict = field(default_factory=dict)  # category -> source
    held_out_pairs: list = field(default_factory=list)    # [(a, b)]
    force_p: float = 0.0
    # train only: chance that a sprite is redrawn in a random style (restyle.py);
    # 0 draws nothing from the generator, so val/test do not depend on it
    restyle: float = 0.0


@dataclass
class Group:
    category: str
    count: int
    sprite: object = None
    image: Image.Image = None
    colour: str | None = None
    size_class: str = "medium"
    in_sky: bool = False
    restyled: bool | None = None   # None: the split does not restyle
    boxes: list = field(default_factory=list)


def _choice(rng, seq, p=None):
    return seq[int(rng.choice(len(seq), p=p))]


def _categories_for(bg, plan):
    return [c for c in plan.sprites if bg in SCENE_BACKGROUNDS.get(c, ())]


def _pick_categories(rng, plan, bg, n, must=()):
    cats = list(must)
    pool = [c for c in _categories_for(bg, plan) if c not in cats]
    # weight ~ 1/#backgrounds so rare-context categories still appear often
    w = np.array([1.0 / len(SCENE_BACKGROUNDS[c]) for c in pool])
    tries = 0
    while len(cats) < n and pool and tries < 50:
        tries += 1
        c = _choice(rng, pool, w / w.sum())
        if any(frozenset((c, o)) in plan.forbidden_pairs for o in cats):
            continue
        cats.append(c)
        k = pool.index(c)
        pool.pop(k)
        w = np.delete(w, k)
    return cats


def _plan_scene(rng, plan):
    """Choose background and categories; returns (bg, plain_colour, cats, forced_source)."""
    forced_source = {}
    must = ()
    if plan.force_p and rng.random() < plan.force_p:
        if rng.random() < 0.5 and plan.held_out_pairs:
            must = tuple(_choice(rng, plan.held_out_pairs))
        elif plan.held_out_sources:
            c = _choice(rng, sorted(plan.held_out_sources))
            forced_source[c] = plan.held_out_sources[c]
            must = (c,)
    if not must:
        # the first category is uniform over categories, so indoor things that
        # share one background are not rarer than outdoor ones
        must = (_choice(rng, sorted(plan.sprites)),)
    bgs = [b for b in G.BACKGROUNDS if b != "plain" and all(b in SCENE_BACKGROUNDS[c] for c in must)]
    if not bgs or rng.random() < PLAIN_P:
        bg = "plain"
    else:
        p = np.array([BACKGROUND_WEIGHTS[b] for b in bgs])
        bg = _choice(rng, bgs, p / p.sum())
    n = max(len(must), 1 + int(rng.choice(3, p=N_CATEGORIES_P)))
    cats = _pick_categories(rng, plan, bg, n, must)
    return bg, cats, forced_source


def _box_overlap(a, b):
    ix = min(a[2], b[2]) - max(a[0], b[0])
    iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    area = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / max(area, 1)


def _place(rng, w, h, size, hz, region, placed):
    """Top-left corner for a w x h box in region ('ground', 'sky', 'wall', 'any')."""
    for _ in range(40):
        x0 = int(rng.integers(0, max(1, size - w + 1)))
        if region == "ground":
            lo = hz + 3
            y1 = int(rng.integers(min(lo, size - 1), size + 1))
            y0 = y1 - h
            if y0 < 0:
                continue
        elif region in ("sky", "wall"):
            if hz - h - 2 < 0:
                return None
            y0 = int(rng.integers(0, hz - h - 1))
        else:
            y0 = int(rng.integers(0, max(1, size - h + 1)))
        box = (x0, y0, x0 + w, y0 + h)
        if all(_box_overlap(box, p) <= MAX_OVERLAP for p in placed):
            return box
    return None


def _union(boxes):
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def relation_between(a: Group, b: Group, size: int) -> str | None:
    """Spatial relation of group a to group b, or None when it is not clear.
    Every instance of a must lie on the stated side of every instance of b."""
    tol = 2
    if a.in_sky != b.in_sky:
        return "above" if a.in_sky else "below"
    ua, ub = _union(a.boxes), _union(b.boxes)
    side = "left of" if ua[2] <= ub[0] + tol else "right of" if ub[2] <= ua[0] + tol else None
    if side:
        # two single things side by side at the same depth and close: "next to"
        gap = max(ub[0] - ua[2], ua[0] - ub[2])
        if (a.count == 1 and b.count == 1 and gap <= NEXT_TO_GAP * size
                and abs(ua[3] - ub[3]) <= NEXT_TO_BASELINE * size):
            return "next to"
        return side
    if ua[3] <= ub[1] + tol:
        return "above"
    if ub[3] <= ua[1] + tol:
        return "below"
    # overlapping extents: only "next to" when single instances nearly touch
    if a.count == 1 and b.count == 1:
        ba, bb = a.boxes[0], b.boxes[0]
        dy = abs((ba[1] + ba[3]) - (bb[1] + bb[3])) / 2
        if dy < 0.15 * size and _box_overlap(ba, bb) < 0.1:
            return "next to"
    return None


def _np(g: Group, with_colour: bool) -> str:
    return G.noun_phrase(g.category, g.count, g.colour if with_colour else None)


def _objects_phrase(groups, with_colour):
    return G.join_phrases([_np(g, with_colour) for g in groups])


def make_captions(groups, bg, plain_colour, relations, rng):
    ground = [g for g in groups if not g.in_sky]
    sky = [g for g in groups if g.in_sky]
    bgp = G.background_phrase(bg, plain_colour)

    def scene_phrase(with_colour):
        if ground and sky:
            return (f"{_objects_phrase(ground, with_colour)} {bgp} with "
                    f"{_objects_phrase(sky, with_colour)} in the sky")
        if sky and bg != "plain":
            return f"{_objects_phrase(sky, with_colour)} {G.SKY_PHRASES[bg]}"
        return f"{_objects_phrase(groups, with_colour)} {bgp}"

    has_colour = any(g.colour for g in groups)
    caps = [scene_phrase(False)]
    caps.append(scene_phrase(True) if has_colour else f"a picture of {scene_phrase(False)}")
    first = groups[0]
    ex = G.existential(first.category, first.count)
    caps.append(f"{ex} {scene_phrase(bool(has_colour and rng.random() < 0.5))}")
    if relations:
        r = relations[int(rng.integers(len(relations)))]
        ga = next(g for g in groups if g.category == r["subject"])
        gb = next(g for g in groups if g.category == r["object"])
        wc = bool(rng.random() < 0.5)
        caps.append(f"{_np(ga, wc)} {G.RELATION_PHRASES[r['relation']]} {_np(gb, wc)}")
    caps.append(_objects_phrase(groups, has_colour))
    short = [c for c in caps if len(c.split()) <= MAX_CAPTION_WORDS]
    return short or [min(caps, key=lambda c: len(c.split()))]


def generate_scene(rng: np.random.Generator, plan: SplitPlan, size: int = 128):
    """Returns (PIL RGB image, record dict without id/image)."""
    bg, cats, forced = _plan_scene(rng, plan)
    groups = []
    seen_colours = set()  # so a plain background never hides an object of its colour
    for c in cats:
        by_source = plan.sprites[c]
        source = forced.get(c)
        if source is None:
            families = sorted({SOURCE_FAMILY.get(s, s) for s in by_source})
            fam = _choice(rng, families)
            source = _choice(rng, sorted(s for s in by_source if SOURCE_FAMILY.get(s, s) == fam))
        sprite = _choice(rng, by_source[source])
        g = Group(c, 1 + int(rng.choice(3, p=COUNT_P)), sprite)
        img = sprite.image
        if c in ARBITRARY_COLOUR:
            img = recolour(img, rng)
        if plan.restyle > 0:
            g.restyled = bool(rng.random() < plan.restyle)
            if g.restyled:
                img = restyle(img, rng)
        if c in ARBITRARY_COLOUR:
            g.colour, _ = measure_colour(img)
            seen_colours.add(g.colour)
        elif bg == "plain":
            seen_colours.add(measure_colour(img)[0])
        g.image = img
        g.in_sky = bg not in ("plain", "room") and (
            c in SKY_CATEGORIES or (c == "bird" and rng.random() < 0.4))
        groups.append(g)
    plain_colour = None
    if bg == "plain":
        free = [c for c in G.PLAIN_BACKGROUND_COLOURS if c not in seen_colours]
        plain_colour = _choice(rng, free or G.PLAIN_BACKGROUND_COLOURS)
    bg_arr, hz = make_background(bg, rng, size, plain_colour)

    total = sum(g.count for g in groups)
    classes = ["small", "medium", "large"] if total <= 2 else (["small", "medium"] if total <= 5 else ["small"])
    for g in groups:
        g.size_class = _choice(rng, classes)

    # place big things first; drop instances that do not fit
    placed = []
    instances = []  # (group, box, flipped image)
    order = sorted(range(len(groups)), key=lambda i: -SIZE_CLASSES[groups[i].size_class][0])
    for gi in order:
        g = groups[gi]
        lo, hi = SIZE_CLASSES[g.size_class]
        for _ in range(g.count):
            side = rng.uniform(lo, hi) * size * CATEGORY_SCALE.get(g.category, 1.0)
            w0, h0 = g.image.size
            s = side / max(w0, h0)
            w, h = max(3, round(w0 * s)), max(3, round(h0 * s))
            if hz is None:
                region = "any"
            elif g.in_sky:
                region = "sky"
            elif bg == "room" and g.category in WALL_CATEGORIES:
                region = "wall"
            else:
                region = "ground"
            box = _place(rng, w, h, size, hz, region, placed)
            if box is None:
                continue
            im = g.image.resize((w, h), Image.LANCZOS)
            if g.category not in NO_FLIP and rng.random() < 0.5:
                im = im.transpose(Image.FLIP_LEFT_RIGHT)
            placed.append(box)
            g.boxes.append(box)
            instances.append((g, box, im))
    groups = [g for g in groups if g.boxes]
    for g in groups:
        g.count = len(g.boxes)
    if not groups:  # extremely rare: retry with the same stream
        return generate_scene(rng, plan, size)

    canvas = Image.fromarray(bg_arr)
    # soft shadows under things standing on the ground
    if hz is not None:
        sh = Image.new("L", (size, size), 0)
        d = ImageDraw.Draw(sh)
        for g, box, _ in instances:
            if g.in_sky or (bg == "room" and g.category in WALL_CATEGORIES):
                continue
            cx, w = (box[0] + box[2]) / 2, box[2] - box[0]
            d.ellipse([cx - 0.45 * w, box[3] - 0.07 * w - 1, cx + 0.45 * w, box[3] + 0.07 * w + 1], fill=110)
        sh = sh.filter(ImageFilter.GaussianBlur(2))
        arr = np.asarray(canvas).astype(np.float32) * (1.0 - np.asarray(sh, np.float32)[..., None] / 255.0 * 0.6)
        canvas = Image.fromarray(arr.astype(np.uint8))
    canvas = canvas.convert("RGBA")
    for g, box, im in sorted(instances, key=lambda t: (not t[0].in_sky, t[1][3])):
        canvas.alpha_composite(im, (box[0], box[1]))
    arr = np.asarray(canvas.convert("RGB")).astype(np.float32)
    # mild camera-like variation: exposure, contrast, sensor noise
    gain = rng.uniform(0.9, 1.1)
    contrast = rng.uniform(0.9, 1.1)
    arr = (arr - 128.0) * contrast + 128.0 * gain + (gain - 1.0) * 0
    arr += rng.normal(0.0, rng.uniform(0.5, 3.0), arr.shape).astype(np.float32)
    image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))

    # mention the most visible groups first
    groups.sort(key=lambda g: -sum((b[2] - b[0]) * (b[3] - b[1]) for b in g.boxes))
    relations = []
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            r = relation_between(groups[i], groups[j], size)
            if r:
                relations.append({"subject": groups[i].category, "relation": r,
                                  "object": groups[j].category})
    captions = make_captions(groups, bg, plain_colour, relations, rng)
    record = {
        "captions": captions,
        "objects": [{"category": g.category, "count": g.count, "colour": g.colour,
                     "source": g.sprite.source,
                     "boxes": [list(map(int, b)) for b in g.boxes],
                     **({} if g.restyled is None else {"restyled": g.restyled})} for g in groups],
        "background": bg,
        "background_colour": plain_colour,
        "relations": relations,
    }
    return image, record
