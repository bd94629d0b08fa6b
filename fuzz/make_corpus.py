#!/usr/bin/python3
"""Write the small seed corpora of the libFuzzer targets (committed; rerun only to change them).

    /usr/bin/python3 fuzz/make_corpus.py

metadata/      the tiny test models' edgecap.json, the broken one, and a few near-miss variants, so the
               fuzzer starts from inputs that reach deep into validation instead of failing at the brace.
frame_decode/  two control bytes (model input size/order, decode flags) + a tiny image in each format
               OpenCV 4.6 on Debian decodes (PNG 8/16-bit, gray, RGBA, JPEG, BMP, PPM, TIFF, WebP).
"""
import io
import json
import os
import zipfile

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def extra_json(model_path: str) -> bytes:
    with zipfile.ZipFile(model_path) as z:
        name = next(n for n in z.namelist() if n.endswith("/extra/edgecap.json"))
        return z.read(name)


def write(folder: str, name: str, data: bytes) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def metadata_corpus() -> None:
    out = os.path.join(HERE, "corpus", "metadata")
    data = os.path.join(REPO, "tests", "data")
    fp32 = extra_json(os.path.join(data, "tiny_model.pt"))
    write(out, "tiny_fp32.json", fp32)
    write(out, "tiny_int8.json", extra_json(os.path.join(data, "tiny_model.int8.pt")))
    write(out, "broken_bad_json.json", extra_json(os.path.join(data, "broken_bad-json.pt")))
    meta = json.loads(fp32)
    variants = {
        "version2": lambda m: m.update(format_version=2),
        "empty_vocab": lambda m: m.update(vocab=[]),
        "end_outside_vocab": lambda m: m["special_tokens"].update(end=len(m["vocab"])),
        "negative_start": lambda m: m["special_tokens"].update(start=-1),
        "zero_std": lambda m: m["input"].update(std=[0.0, 0.2, 0.2]),
        "short_mean": lambda m: m["input"].update(mean=[0.5, 0.5]),
        "huge_size": lambda m: m["input"].update(height=2**31 - 1, width=-5),
        "string_size": lambda m: m["input"].update(height="32"),
        "max_len_0": lambda m: m.update(max_caption_length=0),
        "max_len_float": lambda m: m.update(max_caption_length=1e300),
        "no_input": lambda m: m.pop("input"),
        "vocab_not_strings": lambda m: m.update(vocab=[1, None, {}, []]),
        "top_level_array": None,
    }
    for name, change in variants.items():
        if change is None:
            text = json.dumps([meta])
        else:
            m = json.loads(fp32)
            change(m)
            text = json.dumps(m)
        write(out, name + ".json", text.encode())
    write(out, "minimal_object.json", b"{}")
    write(out, "utf8_bom_and_nul.json", b"\xef\xbb\xbf{\"model_name\": \"a\\u0000b\"}")


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def frame_corpus() -> None:
    out = os.path.join(HERE, "corpus", "frame_decode")
    rgb = Image.new("RGB", (9, 7))
    for x in range(9):
        for y in range(7):
            rgb.putpixel((x, y), (x * 28, y * 36, (x + y) * 16))
    # control bytes: [input size/order, decode flags | input width]; 0x1f/0x1f = 32x32 RGB, IMREAD_COLOR
    colour, unchanged = b"\x1f\x1f", b"\x9f\x9f"
    images = {
        "rgb.png": encode(rgb, "PNG"),
        "gray.png": encode(rgb.convert("L"), "PNG"),
        "rgba.png": encode(rgb.convert("RGBA"), "PNG"),
        "gray16.png": encode(rgb.convert("I").point(lambda v: v * 200).convert("I;16"), "PNG"),
        "rgb.jpg": encode(rgb, "JPEG", quality=80),
        "rgb.bmp": encode(rgb, "BMP"),
        "rgb.ppm": encode(rgb, "PPM"),
        "rgb.tiff": encode(rgb, "TIFF"),
        "rgb.webp": encode(rgb, "WEBP", quality=80),
        "one_pixel.png": encode(Image.new("RGB", (1, 1), (255, 0, 0)), "PNG"),
    }
    for name, data in images.items():
        write(out, "colour_" + name, colour + data)
        write(out, "unchanged_" + name, unchanged + data)
    write(out, "truncated_rgb.png", colour + images["rgb.png"][: len(images["rgb.png"]) // 2])
    write(out, "tiny_input_1x1.jpg", b"\x00\x00" + images["rgb.jpg"])


if __name__ == "__main__":
    metadata_corpus()
    frame_corpus()
    print("corpora written under", os.path.join(HERE, "corpus"))
