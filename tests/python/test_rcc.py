"""Tests for the Qt .rcc reader (tools/datagen/rcc.py) and the GCompris photo cut-out.

Run: /usr/bin/python3 -m pytest tests/python/test_rcc.py
The reader is checked against .rcc images written here by a small writer that follows Qt's
rcc layout, so nothing here needs the installed package; the tests of the curated GCompris
pictures are in test_datagen.py, with the other train-only sources.
"""
import os
import struct
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "datagen"))

import rcc  # noqa: E402
import sources  # noqa: E402


def write_rcc(tree: dict, version: int = 3, compress=()) -> bytes:
    """An .rcc image of `tree` (nested dicts; leaves are bytes).  Files named in `compress` are stored
    zlib-compressed.  Nodes are laid out breadth first, as Qt's rcc does: a directory's children are
    consecutive."""
    names, data = bytearray(), bytearray()
    name_at: dict[str, int] = {}

    def name_offset(name: str) -> int:
        if name not in name_at:
            name_at[name] = len(names)
            raw = name.encode("utf-16-be")
            names.extend(struct.pack(">HI", len(name), 0) + raw)
        return name_at[name]

    nodes = [("", tree)]
    order = []  # (name, payload, first child index)
    i = 0
    while i < len(nodes):
        name, payload = nodes[i]
        first = len(nodes)
        if isinstance(payload, dict):
            nodes.extend(sorted(payload.items()))
        order.append((name, payload, first))
        i += 1
    node_size = 14 if version == 1 else 22
    tree_bytes = bytearray()
    for name, payload, first in order:
        off = name_offset(name) if name else 0
        if isinstance(payload, dict):
            entry = struct.pack(">IHII", off, 0x02, len(payload), first)
        else:
            flags, body = 0, payload
            if name in compress:
                flags, body = 0x01, struct.pack(">I", len(payload)) + zlib.compress(payload)
            entry = struct.pack(">IHHHI", off, flags, 0, 0, len(data))
            data.extend(struct.pack(">I", len(body)) + body)
        tree_bytes.extend(entry + b"\0" * (node_size - len(entry)))
    header_size = 20 if version < 3 else 24
    tree_off = header_size
    data_off = tree_off + len(tree_bytes)
    names_off = data_off + len(data)
    header = b"qres" + struct.pack(">IIII", version, tree_off, data_off, names_off)
    if version >= 3:
        header += struct.pack(">I", 0x01 if compress else 0)
    return header + bytes(tree_bytes) + bytes(data) + bytes(names)


TREE = {"gcompris": {"src": {"activities": {"farm": {"resource": {
    "horse.svg": b"<svg/>" * 40, "cat.webp": bytes(range(256)) * 3, "README": b"Licence: CC0"}}}}},
    "top.txt": b"hello"}


@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize("compress", [(), ("horse.svg", "cat.webp")])
def test_reads_every_file_of_a_written_rcc(version, compress):
    files = rcc.parse_rcc(write_rcc(TREE, version, compress))
    base = "gcompris/src/activities/farm/resource/"
    assert files == {base + "horse.svg": b"<svg/>" * 40, base + "cat.webp": bytes(range(256)) * 3,
                     base + "README": b"Licence: CC0", "top.txt": b"hello"}


def test_rejects_what_is_not_an_rcc():
    with pytest.raises(rcc.RccError, match="no 'qres' magic"):
        rcc.parse_rcc(b"PK\x03\x04" + b"\0" * 40)
    blob = bytearray(write_rcc(TREE))
    struct.pack_into(">I", blob, 4, 7)
    with pytest.raises(rcc.RccError, match="unsupported rcc format version 7"):
        rcc.parse_rcc(bytes(blob))


def test_truncated_or_corrupt_data_is_an_error_not_garbage():
    blob = write_rcc(TREE, 3, ("horse.svg",))
    names_off = struct.unpack_from(">I", blob, 16)[0]
    with pytest.raises(rcc.RccError):
        rcc.parse_rcc(blob[:names_off - 10])  # names cut off, data of the last file partly gone
    # a compressed file whose declared size disagrees with what inflates
    files_ok = rcc.parse_rcc(blob)
    bad = bytearray(blob)
    data_off = struct.unpack_from(">I", blob, 12)[0]
    pos = bytes(bad).index(struct.pack(">I", len(b"<svg/>" * 40)), data_off)
    struct.pack_into(">I", bad, pos, 9999)
    with pytest.raises(rcc.RccError, match="header says 9999"):
        rcc.parse_rcc(bytes(bad))
    assert len(files_ok) == 4


def test_zstd_files_are_refused_by_name():
    blob = bytearray(write_rcc({"a.png": b"x" * 10}))
    tree_off = struct.unpack_from(">I", blob, 8)[0]
    struct.pack_into(">H", blob, tree_off + 22 + 4, 0x04)  # the file node (index 1)
    with pytest.raises(rcc.RccError, match="a.png is zstd-compressed"):
        rcc.parse_rcc(bytes(blob))


def test_grabcut_separates_a_photo_object_from_its_background():
    """A textured orange disc on a noisy green field: the cut-out's alpha covers the disc, not the field."""
    rng = np.random.default_rng(0)
    h, w = 240, 320
    field = np.clip(np.array([70, 140, 60]) + rng.normal(0, 18, (h, w, 3)), 0, 255)
    yy, xx = np.mgrid[:h, :w]
    disc = (yy - 120) ** 2 + (xx - 170) ** 2 < 70 ** 2
    obj = np.clip(np.array([230, 140, 40]) + rng.normal(0, 18, (h, w, 3)), 0, 255)
    photo = Image.fromarray(np.where(disc[..., None], obj, field).astype(np.uint8), "RGB")
    cut = sources.grabcut_cutout(photo, (0.25, 0.1, 0.85, 0.95))
    alpha = np.asarray(cut)[:, :, 3] > 0
    assert cut.size == photo.size
    iou = (alpha & disc).sum() / (alpha | disc).sum()
    assert iou > 0.9, iou
    again = sources.grabcut_cutout(photo, (0.25, 0.1, 0.85, 0.95))
    assert np.array_equal(np.asarray(again), np.asarray(cut))  # seeded: the same pixels every time


def test_without_opencv_a_photo_is_skipped_not_fatal(monkeypatch):
    """The loader catches OSError: a machine without python3-opencv loses the GCompris photos, not the run."""
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 raises ImportError
    with pytest.raises(OSError, match="python3-opencv"):
        sources.grabcut_cutout(Image.new("RGB", (40, 30)), (0.1, 0.1, 0.9, 0.9))
