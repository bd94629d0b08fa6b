"""Textured renders of 0 A.D.'s animal meshes as sprite cut-outs (the train-only ``0ad-3d`` source).

The held-out test split keeps Tux Paint's photos of a horse, a dog and a sheep; training had no photo-like
picture of those three but GCompris's few cut-outs and one 0 A.D. portrait each, and the model called many
of the held-out photos "cow" (the Tux Paint cows are training pictures).  0 A.D. (apt 0ad-data,
CC-BY-SA-3.0, Wildfire Games) ships its animals as skinned meshes with painted, photo-like skins: 7 horse
meshes (a pony among them) with 20 coats, a mastiff and a wolfhound, sheep, cattle, zebus, elephants,
bears, zebras, giraffes and birds (crow, hawk, seagull, chicken, peacock).  ``MODELS`` pairs each mesh
with the skins the game's own actor files (art/actors/fauna/*.xml and their variants) give it; every
category gets the same number of renders, so the source does not make a 3-D skin a cue for one animal.
The held-out test split keeps Sweet Home 3D's cats (standing and sitting, rendered), which no training
source drew as a 3-D body: the game has no house cat, so its lioness and tiger are made house-cat shaped
(``house_cat``: shorter legs, a larger head, a tail that hangs) and drawn in house-cat coats
(``recolour``: the skin's light and shade, stripes included, in new colours; ``COATS``).

A mesh file is 0 A.D.'s PMD (``read_pmd``): from version 3 on its vertices are stored in the bind pose,
which for these animals is standing on four legs (the crow, hawk and seagull fly, wings level:
``FLYING`` are seen from above or below).  ``render`` draws one with render3d's z-buffer: a seeded
mesh and skin, a view mostly from the side (where a photo of an animal is taken from), smooth Lambert
shading from the mesh's normals, the skin sampled at each pixel's interpolated texture coordinate.

tools/install_data_sources.sh keeps only the members ``MEMBERS`` names (``extract``), under data/0ad/meshes
with their paths in the game's archive; a missing file gives None, so the generator skips the source.
"""
from __future__ import annotations

import math
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image

import render3d

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MESH_DIR = os.environ.get("EDGECAP_0AD_MESH_DIR", os.path.join(_REPO, "data", "0ad", "meshes"))

# category -> [(mesh under art/meshes without .dae, [skins under art/textures/skins])], from the actors
_COW_SKINS = ["skeletal/animal_cattle_beige.png", "skeletal/animal_cattle_black_and_white.png",
              "skeletal/animal_zebu_white_and_brown.png"]
_HORSE_COATS = ["bay_01", "bay_02", "beige", "black", "brown", "cherrybay", "gray", "halflinger", "tan", "white"]
MODELS: dict[str, list[tuple[str, list[str]]]] = {
    "horse": [
        ("skeletal/horse_celtic", [f"skeletal/horse_{c}.png" for c in _HORSE_COATS + ["skewbald"]]),
        ("skeletal/horse_breed", [f"skeletal/horse_{c}.png" for c in _HORSE_COATS]),
        ("skeletal/horse_lusitano", [f"skeletal/horse_{c}.png" for c in (
            "beige", "black", "brown", "brown_spotted_01", "cherrybay", "gray", "halflinger", "lusitano_01",
            "lusitano_02", "palomino_01", "palomino_02", "tan", "white")]),
        ("skeletal/horse_marwari", [f"skeletal/horse_{c}.png" for c in (
            "beige", "brown", "brown_spotted_01", "cherrybay", "gray", "halflinger", "tan", "white")]),
        ("skeletal/horse_persian", [f"skeletal/horse_{c}.png" for c in (
            "bay_01", "bay_02", "black", "brown", "cherrybay", "cream_spotted_01", "cream_spotted_02",
            "dark_chestnut", "fading_black", "gray", "halflinger", "palomino_01", "palomino_02")]),
        ("skeletal/horse_tessalian", [f"skeletal/horse_{c}.png" for c in (
            "bay_01", "bay_02", "black", "brown", "cherrybay", "dark_chestnut", "fading_black", "gray",
            "halflinger", "palomino_01", "palomino_02")]),
        ("skeletal/pony", [f"skeletal/horse_{c}.png" for c in ("bay_01", "bay_02", "beige", "brown")]),
    ],
    "dog": [
        ("skeletal/mastiff_no_spikes", ["skeletal/brit/mastiff_b_01.png", "skeletal/brit/mastiff_b_02.png"]),
        ("skeletal/wolfhound", ["skeletal/brit/wolfhound.png"]),
    ],
    "sheep": [
        ("skeletal/sheep", ["skeletal/animal_sheep_no_player_color_a.dds"]),
        ("gaia/temp_sheep2", ["skeletal/animal_sheep_no_player_color_a.dds"]),
    ],
    "cow": [
        ("skeletal/cattle_female_a", _COW_SKINS),
        ("skeletal/cattle_female_b", _COW_SKINS),
        ("skeletal/bull_a", ["skeletal/animal_cattle_black.png"]),
        ("skeletal/bull_b", ["skeletal/animal_cattle_black.png"]),
        ("skeletal/zebu", [f"skeletal/animal_zebu{c}.png" for c in (
            "", "_black", "_black_and_brown", "_black_and_white", "_brown")]),
    ],
    "elephant": [
        ("skeletal/elephant", ["skeletal/animal_elephant.dds", "skeletal/animal_elephant2.dds"]),
        ("skeletal/elephant_african_bush", ["skeletal/animal-elephant-base.dds"]),
        ("skeletal/elephant_african_forest", ["skeletal/animal-elephant-base.dds"]),
        ("skeletal/elephant_asian_male", ["skeletal/animal-elephant-asian-base.png"]),
    ],
    "bear": [
        ("skeletal/bear", ["skeletal/animal_bear_black.png", "skeletal/animal_bear_brown.png"]),
        ("skeletal/bear_polar", ["skeletal/animal_bear_white.png"]),
    ],
    "zebra": [
        ("skeletal/zebra", ["skeletal/animal_zebra.dds"]),
        ("skeletal/horse", ["skeletal/animal_zebra_2.png"]),
    ],
    "giraffe": [
        ("skeletal/giraffe_adult", ["skeletal/animal_giraffe.png", "skeletal/animal_giraffeb.png"]),
    ],
    # no house cat in the game: its lioness and tiger (the felid body, standing) in house-cat coats, the
    # skin's light and shade kept and its colours replaced (COATS, "skin#coat")
    "cat": [
        ("skeletal/animal_lioness", [f"skeletal/animal_lioness.png#{c}" for c in (
            "black", "white", "cream", "grey", "ginger", "piebald")]),
        ("skeletal/tiger", [f"skeletal/animal_tiger.png#{c}" for c in ("grey", "ginger", "brown")]),
    ],
    "bird": [
        ("skeletal/crow", ["skeletal/animal_crow.png"]),
        ("skeletal/hawk", ["skeletal/animal_hawk.png", "skeletal/animal_hawk2.png"]),
        ("skeletal/seagull", ["skeletal/animal_seagull.png"]),
        ("skeletal/chicken", ["skeletal/animal_chicken.dds", "skeletal/animal_chicken_b.dds"]),
        ("skeletal/peacock", ["skeletal/animal_peacock.png"]),
    ],
}
# the big cats made house-cat shaped (house_cat): mesh -> (z where the neck meets the head, which is
# toward -z; the belly's height, below which are the legs; z where a straight tail leaves the body, or
# None where the tail already hangs)
CAT_SHAPE = {"skeletal/animal_lioness": (-1.75, 1.3, 2.3), "skeletal/tiger": (-2.0, 1.1, None)}
# meshes whose bind pose is in flight, wings spread level: seen from above or below, not edge-on
FLYING = {"skeletal/crow", "skeletal/hawk", "skeletal/seagull"}
# a coat: the skin's brightness (its 2nd..98th percentile stretched to 0..1) mapped from the dark colour
# to the light one; "piebald" is white with black patches
COATS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "black": ((0.04, 0.04, 0.05), (0.30, 0.28, 0.27)),
    "white": ((0.62, 0.62, 0.62), (0.98, 0.97, 0.95)),
    "cream": ((0.52, 0.42, 0.32), (0.95, 0.89, 0.78)),
    "grey": ((0.16, 0.16, 0.16), (0.80, 0.78, 0.75)),
    "ginger": ((0.42, 0.20, 0.07), (0.99, 0.74, 0.45)),
    "brown": ((0.18, 0.12, 0.07), (0.72, 0.60, 0.44)),
    "piebald": ((0.62, 0.62, 0.62), (0.98, 0.97, 0.95)),
}
RENDERS_PER_CATEGORY = 24


def mesh_member(mesh: str) -> str:
    return f"art/meshes/{mesh}.dae.cached.pmd"


def skin_member(skin: str) -> str:
    """The archive member of a skin; a coat ("skin#coat") is drawn on its skin's file."""
    return f"art/textures/skins/{skin.partition('#')[0]}.cached.dds"


def recolour(texture: np.ndarray, coat: str) -> np.ndarray:
    """texture [H,W,3] in 0..1 in COATS[coat]: its brightness kept as light and shade (stripes stay
    stripes), its colours replaced.  Deterministic: the piebald patches come from a fixed seed."""
    if coat not in COATS:
        raise ValueError(f"zeroad3d: no coat {coat!r} (COATS: {', '.join(COATS)})")
    lum = texture @ np.array([0.299, 0.587, 0.114], np.float32)
    lo, hi = np.percentile(lum, [2, 98])
    t = np.clip((lum - lo) / max(hi - lo, 1e-6), 0, 1)[..., None]
    dark, light = (np.array(c, np.float32) for c in COATS[coat])
    out = dark + (light - dark) * t
    if coat == "piebald":  # smooth noise over the skin, its darkest third black
        h, w = lum.shape
        grid = np.random.default_rng(7).random((6, 6)).astype(np.float32)
        noise = np.asarray(Image.fromarray(grid).resize((w, h), Image.BILINEAR))
        out = np.where((noise < np.percentile(noise, 33))[..., None], 0.06 + 0.2 * t, out)
    return out.astype(np.float32)


MEMBERS = sorted({mesh_member(m) for pairs in MODELS.values() for m, _ in pairs} |
                 {skin_member(s) for pairs in MODELS.values() for _, skins in pairs for s in skins})


class PmdError(ValueError):
    pass


def read_pmd(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """0 A.D.'s PMD mesh (versions 3 and 4; the game's ModelDef.cpp): positions [V,3], normals [V,3],
    the first texture coordinate [V,2] and triangles [F,3].  Bones, blends and prop points are skipped."""
    if data[:4] != b"PSMD" or len(data) < 16:
        raise PmdError("not a PMD mesh (no PSMD header)")
    version, = struct.unpack_from("<I", data, 4)
    if version not in (3, 4):
        raise PmdError(f"PMD version {version} (3 and 4 store the bind pose; only those are read)")
    try:
        o = 12
        nv, = struct.unpack_from("<I", data, o)
        o += 4
        nuv = 1
        if version >= 4:
            nuv, = struct.unpack_from("<I", data, o)
            o += 4
        if nuv < 1:
            raise PmdError("PMD mesh without texture coordinates")
        rec = 12 + 12 + 8 * nuv + 4 + 16  # position, normal, uv sets, 4 bone ids (u8), 4 weights (f32)
        raw = np.frombuffer(data, np.uint8, nv * rec, o).reshape(nv, rec)
        o += nv * rec
        floats = raw[:, :32].copy().view("<f4")
        nf, = struct.unpack_from("<I", data, o)
        o += 4
        faces = np.frombuffer(data, "<u2", nf * 3, o).reshape(nf, 3).astype(np.int64)
    except (struct.error, ValueError) as exc:
        raise PmdError(f"truncated PMD mesh: {exc}") from None
    if nf == 0 or faces.max() >= nv:
        raise PmdError("PMD triangles index past the vertices")
    return floats[:, 0:3], floats[:, 3:6], floats[:, 6:8], faces


def _pairs(category: str) -> list[tuple[str, str]]:
    return [(m, s) for m, skins in MODELS[category] for s in skins]


def house_cat(v: np.ndarray, mesh: str) -> np.ndarray:
    """A big cat's vertices in a house cat's proportions: legs 0.6 as long, the head 1.35 times as large
    (blended in over the neck so the mesh stays closed), a straight tail twice as thick and curving down.
    The normals are kept: scaling the head keeps them, and the legs' sides, upright, barely turn."""
    neck_z, belly, tail_z = CAT_SHAPE[mesh]
    v = v.copy()
    if tail_z is not None:
        tail = v[:, 2] > tail_z
        axis_y = np.median(v[tail, 1])
        v[tail, 0] *= 2.0
        v[tail, 1] = axis_y + 2.0 * (v[tail, 1] - axis_y)
        d = v[tail, 2] - tail_z
        v[tail, 1] -= 0.35 * d * d  # a parabola down: the tail hangs and its tip turns back
        v[tail, 2] = tail_z + d * 0.8
    y = v[:, 1]
    v[:, 1] = np.where(y < belly, 0.6 * y, y - 0.4 * belly)
    head = v[:, 2] < neck_z
    centre = np.array([0.0, v[head, 1].mean(), neck_z], np.float32)
    w = np.clip((neck_z - v[:, 2]) / 0.4, 0, 1)[:, None]
    w = w * w * (3 - 2 * w)  # smoothstep
    return (centre + (v - centre) * (1 + 0.35 * w)).astype(np.float32)


def render(ref: str, size: int = 112, mesh_dir: str | None = None) -> Image.Image | None:
    """The picture for "<category>/<n>"; None when the mesh or skin is not installed.  Every random
    choice comes from the CRC-32 of ref."""
    category, _, _ = ref.partition("/")
    if category not in MODELS:
        raise ValueError(f"zeroad3d: no meshes for {category!r}")
    root = MESH_DIR if mesh_dir is None else mesh_dir
    rng = np.random.default_rng(zlib.crc32(ref.encode()))
    pairs = _pairs(category)
    mesh, skin = pairs[rng.integers(len(pairs))]
    mesh_path, skin_path = os.path.join(root, mesh_member(mesh)), os.path.join(root, skin_member(skin))
    if not (os.path.exists(mesh_path) and os.path.exists(skin_path)):
        return None
    with open(mesh_path, "rb") as f:
        try:
            v, vn, uv, faces = read_pmd(f.read())
        except PmdError as exc:  # a damaged install: say which file (reinstall with install_data_sources.sh)
            raise PmdError(f"{mesh_path}: {exc}") from None
    if mesh in CAT_SHAPE:
        v = house_cat(v, mesh)
    with Image.open(skin_path) as im:  # DXT-compressed DDS, decoded by Pillow
        texture = np.asarray(im.convert("RGB"), np.float32) / 255
    if "#" in skin:
        texture = recolour(texture, skin.partition("#")[2])
    # the meshes stand on y = 0, their length along z: yaw +-pi/2 shows one side or the other.  Mostly a
    # side view, a quarter of them turned further toward the front or the back
    side = rng.choice([-1.0, 1.0]) * math.pi / 2
    yaw = side + (rng.uniform(-0.5, 0.5) if rng.random() < 0.75 else rng.uniform(-1.3, 1.3))
    if mesh in FLYING:  # from below or above, the spread wings in view
        pitch = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.1)
    else:
        pitch = rng.uniform(0.0, 0.45)  # from level to a little above
    rot = render3d._rotation(yaw, pitch, rng.uniform(-0.05, 0.05))
    light = np.array([rng.uniform(-0.7, 0.7), rng.uniform(0.5, 1.0), rng.uniform(0.3, 1.0)], np.float32)
    light /= np.linalg.norm(light)
    return render3d.render_textured(v, vn, uv, faces, texture, rot, light, ambient=rng.uniform(0.35, 0.55),
                                    size=size)


def extract(zip_path: str, dest: str) -> int:
    """Copy MEMBERS out of the game's public.zip into dest (their archive paths kept); the count copied."""
    import zipfile
    n = 0
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
        missing = [m for m in MEMBERS if m not in names]
        if missing:
            raise SystemExit(f"0ad-3d: {len(missing)} meshes/skins not in {zip_path}, e.g. {missing[0]}")
        for m in MEMBERS:
            path = os.path.join(dest, m)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(z.read(m))
            n += 1
    return n


def signature() -> str:
    """What an install was unpacked for: a hash of MEMBERS (install_data_sources.sh keeps it in .complete)."""
    import hashlib
    return f"{len(MEMBERS)}-" + hashlib.sha1("\n".join(MEMBERS).encode()).hexdigest()[:12]


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "signature":
        print(signature())
    elif len(sys.argv) == 4 and sys.argv[1] == "extract":
        print(f"0ad-3d: {extract(sys.argv[2], sys.argv[3])} meshes and skins unpacked into {sys.argv[3]}")
    else:
        raise SystemExit("usage: zeroad3d.py extract PUBLIC_ZIP DEST | zeroad3d.py signature")
