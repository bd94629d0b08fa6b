"""Recolouring of sprites and naming of the colour a viewer would report.

The colour stated in a caption is *measured* from the visible pixels after
recolouring, never assumed from the recolour parameters: each visible pixel
is mapped to one of the 11 basic colour terms (or to none when it is
ambiguous), and a term is reported only when it clearly dominates.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from grammar import COLOUR_TERMS

# A term is reported when it covers at least this share of the visible
# pixels and at least DOMINANCE_RATIO times the runner-up's share.
DOMINANCE_SHARE = 0.5
DOMINANCE_RATIO = 2.5
_ALPHA_VISIBLE = 128

# Categories whose real-world colour is arbitrary: these get recoloured and
# their colour is named.  Others (bananas, zebras, stop signs...) keep their
# natural colours and their "colour" is null.
ARBITRARY_COLOUR = {
    "car", "bus", "truck", "bicycle", "motorcycle", "boat", "umbrella",
    "handbag", "backpack", "suitcase", "tie", "kite", "frisbee", "skateboard",
    "cup", "bowl", "vase", "chair", "couch", "book", "toothbrush",
}

# term -> (hue on PIL's 0..255 scale, value range for the painted pixels)
_PAINT = {
    "red": (0, 130, 250), "orange": (20, 200, 255), "yellow": (38, 200, 255),
    "green": (85, 90, 230), "blue": (155, 110, 245), "purple": (195, 110, 235),
    "pink": (226, 190, 255), "brown": (18, 60, 135),
}
PAINT_TERMS = sorted(_PAINT)

_TERM_INDEX = {t: i for i, t in enumerate(COLOUR_TERMS)}
_NONE = -1


def pixel_terms(rgb: np.ndarray) -> np.ndarray:
    """Colour-term index per pixel for an (..., 3) uint8 array; -1 = ambiguous."""
    c = rgb.astype(np.float32) / 255.0
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    mx = c.max(axis=-1)
    mn = c.min(axis=-1)
    chroma = mx - mn
    v = mx
    s = np.where(mx > 0, chroma / np.maximum(mx, 1e-6), 0.0)
    # hue in degrees
    safe = np.maximum(chroma, 1e-6)
    h = np.where(mx == r, ((g - b) / safe) % 6.0,
                 np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0)) * 60.0

    out = np.full(rgb.shape[:-1], _NONE, dtype=np.int8)
    T = _TERM_INDEX
    chromatic = (s >= 0.28) & (chroma >= 0.12) & (v >= 0.25)
    neutral = (s < 0.15) | (chroma < 0.07)
    out[(v < 0.2)] = T["black"]
    out[neutral & (v >= 0.2) & (v < 0.85)] = T["gray"]
    out[neutral & (v >= 0.85)] = T["white"]

    red = chromatic & ((h < 12) | (h >= 345))
    orange = chromatic & (h >= 18) & (h < 40)
    yellow = chromatic & (h >= 48) & (h < 68)
    green = chromatic & (h >= 80) & (h < 160)
    blue = chromatic & (h >= 190) & (h < 250)
    purple = chromatic & (h >= 262) & (h < 290)
    pink = chromatic & (h >= 300) & (h < 335)
    # dark oranges/reds read as brown; pale reds as pink
    brown = chromatic & (h >= 8) & (h < 45) & (v < 0.55)
    pale_red = red & (v > 0.8) & (s < 0.5)
    out[red & (v >= 0.4)] = T["red"]
    out[orange & (v >= 0.7)] = T["orange"]
    out[yellow & (v >= 0.65)] = T["yellow"]
    out[green] = T["green"]
    out[blue] = T["blue"]
    out[purple] = T["purple"]
    out[pink & (v >= 0.5)] = T["pink"]
    out[pale_red] = T["pink"]
    out[brown] = T["brown"]
    return out


def measure_colour(img: Image.Image) -> tuple[str | None, dict[str, float]]:
    """Dominant colour term of the visible pixels of an RGBA image, or None."""
    a = np.asarray(img.convert("RGBA"))
    vis = a[..., 3] >= _ALPHA_VISIBLE
    n = int(vis.sum())
    if n == 0:
        return None, {}
    terms = pixel_terms(a[..., :3][vis])
    counts = np.bincount(terms[terms >= 0].astype(np.int64), minlength=len(COLOUR_TERMS))
    shares = counts / n
    order = np.argsort(-shares, kind="stable")
    top, second = shares[order[0]], shares[order[1]]
    dist = {COLOUR_TERMS[i]: round(float(shares[i]), 3) for i in order[:3] if shares[i] > 0}
    if top >= DOMINANCE_SHARE and top >= DOMINANCE_RATIO * second:
        return COLOUR_TERMS[order[0]], dist
    return None, dist


def recolour(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Randomly recolour the saturated parts of a sprite (tyres, glass and
    outlines stay as they are): keep, rotate the hue, or make them neutral."""
    mode = rng.choice(3, p=[0.15, 0.7, 0.15])
    if mode == 0:
        return img
    rgba = np.asarray(img.convert("RGBA"))
    hsv = np.asarray(img.convert("RGB").convert("HSV")).copy()
    sat = hsv[..., 1] > 60
    if mode == 1:
        # paint toward one chromatic term (uniformly chosen, so colours are
        # balanced); shading is kept, the measured colour decides the label
        term = PAINT_TERMS[int(rng.integers(len(PAINT_TERMS)))]
        hue, v_lo, v_hi = _PAINT[term]
        h = (hue + rng.integers(-5, 6, hsv.shape[:2])) % 256
        s = np.maximum(hsv[..., 1], int(rng.integers(150, 230)))
        v = v_lo + hsv[..., 2].astype(np.float32) * (v_hi - v_lo) / 255.0
        hsv[..., 0] = np.where(sat, h, hsv[..., 0]).astype(np.uint8)
        hsv[..., 1] = np.where(sat, s, hsv[..., 1]).astype(np.uint8)
        hsv[..., 2] = np.where(sat, v, hsv[..., 2]).astype(np.uint8)
        rgb = np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"))
    else:
        gray = np.asarray(img.convert("RGB").convert("L")).astype(np.float32)
        target = float(rng.choice([0.25, 0.6, 1.35]))  # black-ish, gray, white-ish
        lum = np.clip(gray * target + (40 if target > 1 else 0), 0, 255)
        rgb = np.asarray(img.convert("RGB")).copy()
        for ch in range(3):
            rgb[..., ch] = np.where(sat, lum, rgb[..., ch]).astype(np.uint8)
    out = np.dstack([rgb, rgba[..., 3]])
    return Image.fromarray(out, "RGBA")
