"""Sprite restyling: training-time changes of drawing style.

The test split holds out whole sprite sources (the Tux Paint dog, the
Sweet Home 3-D cat, ...), so a model must name a dog drawn in a style it
never saw a dog in.  The sprites of one category are few (3-10 per source),
which lets a small encoder learn "this exact picture" instead of "this
shape".  `restyle` redraws a sprite in a random style built from a few
operations that differ between the real sources:

- flat:     colour quantisation to 3-8 colours (vector emoji vs shaded art)
- outline:  a dark contour of 1-2 px around the silhouette (cartoon styles)
- ink:      dark lines on the sprite's inner edges
- soft:     blur or a median filter (painted / low-resolution art)
- light:    a linear lighting gradient across the sprite (3-D renders)
- tone:     saturation and brightness scaled, hue kept
- shape:    aspect ratio stretched, a small rotation

Hue is never changed, so the colour a caption states stays true; the caller
measures the colour again after restyling anyway.  Only the train split uses
it (generate_scenes.py --restyle), and the draws come from the scene's own
generator, so output stays a pure function of (seed, split, index).
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

# chance that each operation is part of one restyle (at least one always is), in the order they are
# applied: colour-level first, lines after, geometry last
OPERATION_P = {"tone": 0.5, "light": 0.35, "flat": 0.4, "soft": 0.3, "ink": 0.25, "outline": 0.3,
               "shape": 0.5}
OPERATIONS = tuple(OPERATION_P)


def _alpha_crop(img: Image.Image) -> Image.Image:
    box = img.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
    return img.crop(box) if box else img


def _flat(img, rng):
    k = int(rng.integers(3, 9))
    rgb = img.convert("RGB").quantize(colors=k, method=Image.Quantize.MEDIANCUT).convert("RGB")
    return Image.merge("RGBA", (*rgb.split(), img.getchannel("A")))


def _outline(img, rng):
    width = int(rng.integers(1, 3))
    pad = width + 1
    big = Image.new("RGBA", (img.width + 2 * pad, img.height + 2 * pad), (0, 0, 0, 0))
    big.alpha_composite(img, (pad, pad))
    a = big.getchannel("A").point(lambda v: 255 if v > 96 else 0)
    ring = a.filter(ImageFilter.MaxFilter(2 * width + 1))
    shade = int(rng.integers(10, 70))
    line = Image.new("RGBA", big.size, (shade, shade, shade, 255))
    line.putalpha(ring)
    line.alpha_composite(big)
    return line


def _ink(img, rng):
    lum = img.convert("L").filter(ImageFilter.FIND_EDGES)
    e = np.asarray(lum, np.float32)
    thr = float(rng.uniform(40, 90))
    strength = float(rng.uniform(0.5, 0.9))
    mask = np.clip((e - thr) / 40.0, 0.0, 1.0) * strength
    arr = np.asarray(img).astype(np.float32)
    arr[..., :3] *= (1.0 - mask[..., None])
    return Image.fromarray(arr.astype(np.uint8), "RGBA")


def _soft(img, rng):
    if rng.random() < 0.5:
        r = float(rng.uniform(0.6, 1.6))
        rgb = img.convert("RGB").filter(ImageFilter.GaussianBlur(r))
    else:
        rgb = img.convert("RGB").filter(ImageFilter.MedianFilter(3 if rng.random() < 0.7 else 5))
    return Image.merge("RGBA", (*rgb.split(), img.getchannel("A")))


def _light(img, rng):
    h, w = img.height, img.width
    ang = float(rng.uniform(0, 2 * np.pi))
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    t = ((x / max(w - 1, 1) - 0.5) * np.cos(ang) + (y / max(h - 1, 1) - 0.5) * np.sin(ang))
    amp = float(rng.uniform(0.2, 0.45))
    gain = 1.0 + amp * 2.0 * t   # roughly 1 -/+ amp at the corners
    arr = np.asarray(img).astype(np.float32)
    arr[..., :3] = np.clip(arr[..., :3] * gain[..., None], 0, 255)
    return Image.fromarray(arr.astype(np.uint8), "RGBA")


def _tone(img, rng):
    hsv = np.asarray(img.convert("RGB").convert("HSV")).astype(np.float32)
    hsv[..., 1] *= float(rng.uniform(0.7, 1.3))
    hsv[..., 2] *= float(rng.uniform(0.85, 1.15))
    rgb = Image.fromarray(np.clip(hsv, 0, 255).astype(np.uint8), "HSV").convert("RGB")
    return Image.merge("RGBA", (*rgb.split(), img.getchannel("A")))


def _shape(img, rng):
    sx = float(np.exp(rng.uniform(-0.2, 0.2)))
    w, h = max(3, round(img.width * sx)), max(3, round(img.height / sx))
    out = img.resize((w, h), Image.BICUBIC)
    deg = float(rng.uniform(-12, 12))
    out = out.rotate(deg, resample=Image.BICUBIC, expand=True)
    return _alpha_crop(out)


_OPS = {"flat": _flat, "outline": _outline, "ink": _ink, "soft": _soft, "light": _light,
        "tone": _tone, "shape": _shape}


def pick_operations(rng: np.random.Generator) -> list[str]:
    ops = [op for op in OPERATIONS if rng.random() < OPERATION_P[op]]
    if not ops:
        ops = [OPERATIONS[int(rng.integers(len(OPERATIONS)))]]
    return ops


def restyle(img: Image.Image, rng: np.random.Generator, ops: list[str] | None = None) -> Image.Image:
    """A new RGBA sprite: `img` redrawn with `ops` (random when None)."""
    img = img.convert("RGBA")
    for op in (ops if ops is not None else pick_operations(rng)):
        img = _OPS[op](img, rng)
    return img
