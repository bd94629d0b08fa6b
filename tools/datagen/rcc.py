"""Read Qt binary resource files (``.rcc``, format versions 1-3), such as the
activity bundles of Debian's ``gcompris-qt-data``.

    files = read_rcc("/usr/share/gcompris-qt/rcc/explore_farm_animals.rcc")
    png = files["gcompris/src/activities/explore_farm_animals/resource/horse.png"]

Layout (Qt's ``qresource.cpp``; all integers big-endian): a 20-byte header
("qres", version, tree offset, data offset, names offset) plus 4 bytes of flags
from version 3 on; a tree of 14-byte nodes (22 from version 2 on: a trailing
modification time): name offset (u32), flags (u16), then either child count and
first child index (directories, flag 0x02) or locale (u16 + u16) and data offset
(files).  A name is a u16 length, a u32 hash and UTF-16BE characters.  File data
is a u32 size and the bytes; with flag 0x01 (zlib) the bytes begin with the
u32 uncompressed size.  Flag 0x04 (zstd) is refused with a clear error: Python
has no zstd module in Debian 12's standard library.
"""
from __future__ import annotations

import struct
import zlib

COMPRESSED_ZLIB = 0x01
DIRECTORY = 0x02
COMPRESSED_ZSTD = 0x04


class RccError(ValueError):
    pass


def parse_rcc(blob: bytes, origin: str = "<bytes>") -> dict[str, bytes]:
    """Every file of an .rcc image: path (without the leading ':/') -> contents."""
    if len(blob) < 20 or blob[:4] != b"qres":
        raise RccError(f"{origin}: not a Qt resource file (no 'qres' magic)")
    version, tree, data, names = struct.unpack_from(">IIII", blob, 4)
    if version not in (1, 2, 3):
        raise RccError(f"{origin}: unsupported rcc format version {version}")
    node_size = 14 if version == 1 else 22
    for name, off in (("tree", tree), ("data", data), ("names", names)):
        if off >= len(blob):
            raise RccError(f"{origin}: {name} offset {off} beyond the end of the file ({len(blob)} bytes)")

    def node(i: int) -> int:
        at = tree + i * node_size
        if at + node_size > len(blob):
            raise RccError(f"{origin}: tree node {i} beyond the end of the file")
        return at

    def name_of(i: int) -> str:
        (name_off,) = struct.unpack_from(">I", blob, node(i))
        at = names + name_off
        if at + 6 > len(blob):
            raise RccError(f"{origin}: name of node {i} beyond the end of the file")
        (length,) = struct.unpack_from(">H", blob, at)
        raw = blob[at + 6: at + 6 + 2 * length]
        if len(raw) != 2 * length:
            raise RccError(f"{origin}: name of node {i} is truncated")
        return raw.decode("utf-16-be")

    def contents(i: int, flags: int, path: str) -> bytes:
        (data_off,) = struct.unpack_from(">I", blob, node(i) + 10)
        at = data + data_off
        if at + 4 > len(blob):
            raise RccError(f"{origin}: data of {path} beyond the end of the file")
        (size,) = struct.unpack_from(">I", blob, at)
        raw = blob[at + 4: at + 4 + size]
        if len(raw) != size:
            raise RccError(f"{origin}: data of {path} is truncated")
        if flags & COMPRESSED_ZSTD:
            raise RccError(f"{origin}: {path} is zstd-compressed, which this reader does not support")
        if flags & COMPRESSED_ZLIB:
            if size < 4:
                raise RccError(f"{origin}: compressed data of {path} is too short")
            (expected,) = struct.unpack_from(">I", raw, 0)
            try:
                out = zlib.decompress(raw[4:])
            except zlib.error as e:
                raise RccError(f"{origin}: {path}: {e}") from None
            if len(out) != expected:
                raise RccError(f"{origin}: {path} inflated to {len(out)} bytes, header says {expected}")
            return out
        return raw

    files: dict[str, bytes] = {}
    seen: set[int] = set()

    def walk(i: int, path: str) -> None:
        if i in seen:
            raise RccError(f"{origin}: the resource tree loops at node {i}")
        seen.add(i)
        (flags,) = struct.unpack_from(">H", blob, node(i) + 4)
        if flags & DIRECTORY:
            count, first = struct.unpack_from(">II", blob, node(i) + 6)
            for c in range(first, first + count):
                walk(c, f"{path}/{name_of(c)}" if path else name_of(c))
        else:
            files[path] = contents(i, flags, path)

    walk(0, "")  # the root directory has no name
    return files


def read_rcc(path: str) -> dict[str, bytes]:
    with open(path, "rb") as f:
        return parse_rcc(f.read(), path)
