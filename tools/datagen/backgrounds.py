"""Procedural backgrounds: grass, beach, road, snow, room and plain colours.

Each maker returns an RGB uint8 array (H, W, 3) and the horizon row: objects
that stand on the ground have their feet below it, objects in the sky (or on
a wall, for rooms) are above it.  Plain backgrounds have no horizon (None).
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

# Prototype RGB per plain background colour; jitter keeps each inside its term.
PLAIN_RGB = {
    "white": (242, 242, 238), "gray": (128, 128, 128), "black": (18, 18, 22),
    "blue": (40, 90, 200), "green": (50, 150, 60), "yellow": (240, 215, 40),
    "pink": (240, 130, 190), "red": (200, 30, 35), "orange": (240, 140, 30),
    "purple": (120, 50, 170), "brown": (110, 70, 35),
}


# Photo textures from apt mate-backgrounds and tuxpaint-data (optional): a
# region of a procedural background is sometimes filled with a crop of a real
# photo of the same stuff, so the model also sees camera-like texture.
PHOTO_FILES = {
    "grass": ["/usr/share/backgrounds/mate/nature/GreenMeadow.jpg"],
    "sky": ["/usr/share/tuxpaint/templates/sun_behind_clouds.jpg",
            ("/usr/share/backgrounds/mate/nature/Storm.jpg", (0.0, 0.0, 1.0, 0.45))],
    "sea": [("/usr/share/tuxpaint/templates/ocean_waves.jpg", (0.0, 0.05, 1.0, 0.45))],
    "floor": ["/usr/share/backgrounds/mate/nature/Wood.jpg"],
}
PHOTO_P = 0.35
_PHOTO_MAX = 384
_photos = None


def photo_textures() -> dict:
    """kind -> [uint8 arrays]; loaded once per process, empty when not installed."""
    global _photos
    if _photos is None:
        _photos = {}
        for kind, files in PHOTO_FILES.items():
            for entry in files:
                path, box = entry if isinstance(entry, tuple) else (entry, (0.0, 0.0, 1.0, 1.0))
                try:
                    with Image.open(path) as im:
                        im.draft("RGB", (_PHOTO_MAX * 2, _PHOTO_MAX * 2))
                        im = im.convert("RGB")
                        W, H = im.size
                        im = im.crop((int(box[0] * W), int(box[1] * H), int(box[2] * W), int(box[3] * H)))
                        im.thumbnail((_PHOTO_MAX, _PHOTO_MAX), Image.BILINEAR)
                        _photos.setdefault(kind, []).append(np.asarray(im))
                except OSError:
                    continue
    return _photos


# Fine textures are shrunk and mirror-tiled so grass blades are not as tall as a dog.
_PHOTO_TILES = {"grass": 3}


def _photo_patch(rng, kind, h, w):
    """A random crop of a photo of `kind`, resized to h x w, or None."""
    photos = photo_textures().get(kind)
    if not photos or h < 2 or w < 2 or rng.random() >= PHOTO_P:
        return None
    tiles = _PHOTO_TILES.get(kind, 1)
    if tiles > 1:
        tw, th = -(-w // tiles), -(-h // tiles)
        tile = _photo_crop(rng, photos, th, tw)
        row = np.concatenate([tile if i % 2 == 0 else tile[:, ::-1] for i in range(tiles)], axis=1)
        grid = np.concatenate([row if j % 2 == 0 else row[::-1] for j in range(tiles)], axis=0)
        return grid[:h, :w] * rng.uniform(0.85, 1.1)
    return _photo_crop(rng, photos, h, w) * rng.uniform(0.85, 1.1)


def _photo_crop(rng, photos, h, w):
    src = photos[int(rng.integers(len(photos)))]
    H, W = src.shape[:2]
    cw = rng.uniform(0.35, 1.0) * W
    ch = cw * h / w
    if ch > H:
        ch, cw = H, H * w / h
    x0 = rng.uniform(0, W - cw)
    y0 = rng.uniform(0, H - ch)
    crop = Image.fromarray(src).resize((w, h), Image.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
    return np.asarray(crop).astype(np.float32)


def _noise(rng, h, w, cell, amp):
    """Smooth value noise: random grid of (h/cell, w/cell) upsampled bilinearly."""
    gh, gw = max(2, h // cell + 2), max(2, w // cell + 2)
    grid = rng.normal(0.0, 1.0, (gh, gw)).astype(np.float32)
    img = Image.fromarray(grid, "F").resize((w, h), Image.BILINEAR)
    return np.asarray(img) * amp


def _vgrad(h, w, top, bottom):
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    top = np.asarray(top, np.float32)
    bottom = np.asarray(bottom, np.float32)
    return np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3)).copy()


def _sky(rng, h, w):
    photo = _photo_patch(rng, "sky", h, w)
    if photo is not None:
        return photo
    top = np.array([70, 130, 210]) + rng.integers(-20, 20, 3)
    bottom = np.array([175, 210, 240]) + rng.integers(-15, 15, 3)
    sky = _vgrad(h, w, top, bottom)
    if rng.random() < 0.6:  # soft clouds
        cl = np.clip(_noise(rng, h, w, 12, 1.0) + _noise(rng, h, w, 5, 0.4) - 0.6, 0, 1)
        sky += cl[..., None] * (250 - sky) * 0.8
    return sky


def _ground(rng, h, w, base, var, cell=6, fine=18.0):
    g = np.broadcast_to(np.asarray(base, np.float32), (h, w, 3)).copy()
    g += _noise(rng, h, w, cell, var)[..., None]
    g += rng.normal(0.0, fine, (h, w, 1)).astype(np.float32) * 0.5
    return g


def grass(rng, size):
    hz = int(size * rng.uniform(0.3, 0.5))
    img = np.empty((size, size, 3), np.float32)
    img[:hz] = _sky(rng, hz, size)
    gr = _photo_patch(rng, "grass", size - hz, size)
    if gr is None:
        base = np.array([70, 140, 50]) + rng.integers(-20, 20, 3)
        gr = _ground(rng, size - hz, size, base, 14.0, cell=5, fine=30.0)
    gr *= np.linspace(0.85, 1.1, size - hz, dtype=np.float32)[:, None, None]
    img[hz:] = gr
    # distant tree line
    if rng.random() < 0.5:
        prof = hz - np.abs(_noise(rng, 1, size, 6, 5.0)[0]) - 2
        ys = np.arange(hz)[:, None]
        mask = ys >= prof[None, :]
        img[:hz][mask] = (np.array([40, 90, 40]) + rng.integers(-10, 10, 3))
    return img, hz


def beach(rng, size):
    hz = int(size * rng.uniform(0.3, 0.45))
    sea_end = hz + int(size * rng.uniform(0.08, 0.18))
    img = np.empty((size, size, 3), np.float32)
    img[:hz] = _sky(rng, hz, size)
    sea_photo = _photo_patch(rng, "sea", sea_end - hz, size)
    if sea_photo is not None:
        img[hz:sea_end] = sea_photo
    else:
        sea = np.array([30, 110, 170]) + rng.integers(-15, 15, 3)
        img[hz:sea_end] = _ground(rng, sea_end - hz, size, sea, 8.0, cell=3, fine=10.0)
    sand = np.array([220, 195, 145]) + rng.integers(-15, 15, 3)
    img[sea_end:] = _ground(rng, size - sea_end, size, sand, 10.0, cell=8, fine=12.0)
    img[sea_end:sea_end + 2] = 240  # surf line
    return img, sea_end


def road(rng, size):
    hz = int(size * rng.uniform(0.3, 0.45))
    img = np.empty((size, size, 3), np.float32)
    img[:hz] = _sky(rng, hz, size)
    verge = np.array([90, 130, 60]) + rng.integers(-15, 15, 3)
    img[hz:] = _ground(rng, size - hz, size, verge, 12.0)
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(pil)
    vx = size * rng.uniform(0.35, 0.65)
    # gray asphalt: one brightness offset for all channels, a small tint at most
    asphalt = tuple(int(x) for x in np.array([90, 90, 95]) + rng.integers(-25, 25) + rng.integers(-4, 5, 3))
    spread = size * rng.uniform(0.9, 1.6)
    d.polygon([(vx - 6, hz), (vx + 6, hz), (vx + spread, size), (vx - spread, size)], fill=asphalt)
    # dashed centre line in perspective
    n = 6
    for i in range(n):
        t0, t1 = (i + 0.2) / n, (i + 0.6) / n
        y0, y1 = hz + (size - hz) * t0 ** 1.5, hz + (size - hz) * t1 ** 1.5
        d.line([(vx, y0), (vx, y1)], fill=(235, 235, 225), width=max(1, int(1 + 3 * t1)))
    img = np.asarray(pil).astype(np.float32)
    img[hz:] += rng.normal(0, 6, (size - hz, size, 1)).astype(np.float32)
    return img, hz


def snow(rng, size):
    hz = int(size * rng.uniform(0.3, 0.5))
    img = np.empty((size, size, 3), np.float32)
    sky = _sky(rng, hz, size)
    img[:hz] = sky * 0.6 + 200 * 0.4  # hazy winter sky
    base = np.array([238, 242, 250]) + rng.integers(-8, 6, 3)
    g = _ground(rng, size - hz, size, base, 6.0, cell=10, fine=5.0)
    g[..., 2] += 6
    img[hz:] = g
    return img, hz


def room(rng, size):
    hz = int(size * rng.uniform(0.4, 0.6))
    img = np.empty((size, size, 3), np.float32)
    wall = np.array([rng.integers(150, 235), rng.integers(150, 235), rng.integers(140, 225)])
    img[:hz] = _ground(rng, hz, size, wall, 4.0, cell=16, fine=3.0)
    kind = rng.integers(3)
    photo = _photo_patch(rng, "floor", size - hz, size) if kind == 0 else None
    if photo is not None:  # a real wooden floor
        fl = photo
    elif kind == 0:  # wooden planks
        base = np.array([150, 100, 60]) + rng.integers(-25, 25, 3)
        fl = _ground(rng, size - hz, size, base, 8.0, cell=4, fine=8.0)
        rows = np.arange(size - hz)
        fl[(rows % max(3, (size - hz) // 6)) == 0] *= 0.75
    elif kind == 1:  # carpet
        base = np.array([rng.integers(60, 200), rng.integers(60, 200), rng.integers(60, 200)])
        fl = _ground(rng, size - hz, size, base, 5.0, cell=3, fine=14.0)
    else:  # tiles
        base = np.array([200, 200, 195]) + rng.integers(-30, 20, 3)
        fl = _ground(rng, size - hz, size, base, 3.0, cell=8, fine=4.0)
        step = int(rng.integers(10, 18))
        fl[:, ::step] *= 0.8
        fl[::max(4, step // 2)] *= 0.85
    img[hz:] = fl
    img[hz:hz + 2] *= 0.7  # skirting shadow
    return img, hz


def plain(rng, size, colour):
    base = np.array(PLAIN_RGB[colour], np.float32) + rng.integers(-10, 10, 3)
    img = np.broadcast_to(base, (size, size, 3)).copy()
    img += _noise(rng, size, size, 32, 6.0)[..., None]
    return img, None


MAKERS = {"grass": grass, "beach": beach, "road": road, "snow": snow, "room": room}


def make_background(kind, rng, size, plain_colour=None):
    if kind == "plain":
        img, hz = plain(rng, size, plain_colour)
    else:
        img, hz = MAKERS[kind](rng, size)
    return np.clip(img, 0, 255).astype(np.uint8), hz
