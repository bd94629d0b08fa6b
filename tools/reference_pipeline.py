#!/usr/bin/python3
"""The seed's captioning path in Python, as a reference for edgecap's speed (tools/compare_python.py).

    /usr/bin/python3 tools/reference_pipeline.py models/lightweight_captioning_model.pt samples/scenes \
        --iterations 30 --warmup 3 --threads 2 --json

What runs (--mode):
  eager (default): the seed's way -- a PyTorch eager nn.Module (tools/edgecap_model.Captioner, BatchNorm
    folded as in the export) holding the SAME weights as the file (its state_dict, loaded into the module),
    called from Python; for an *.int8.pt file the eager INT8 structure the export made
    (edgecap_model.quantize_int8: static INT8 encoder, dynamic INT8 Linear/LSTMCell, the engine the file
    names) given the file's own int8 weights and quantization parameters.
  script: the same TorchScript file edgecap loads, through torch.jit.load (for an INT8 file the quantized
    engine named in its metadata is selected before loading, as edgecap does), its encode/step called
    from Python -- what a Python app shipping this file would do; the stricter comparison.
Preprocessing is the seed's: OpenCV BGR frame -> RGB, resize to the metadata's input size (INTER_AREA when
shrinking 2x or more, else INTER_LINEAR, the same rule as src/inference/preprocess.cpp), / scale, - mean,
/ std. Decoding is greedy, the loop in Python, argmax per step, stopping at <end> or max_caption_length --
the seed's search. Both modes give the same captions as edgecap on the shipped models (tests/python).

Reported (JSON with --json): per-caption model latency (preprocess + encode + decode of a decoded frame in
memory, warm-up excluded; image file decoding excluded on both sides), load time, and start-up-to-first-
caption: from this process's exec (read from /proc, so interpreter start and `import torch` count) to the
first caption's text.
"""
import argparse
import json
import os
import statistics
import sys
import time


def seconds_since_process_start() -> float:
    """Wall seconds since this process was exec'd (Linux /proc), so interpreter start-up is counted."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    start_ticks = int(fields[19])  # field 22 (starttime), counted after the ")" that ends the command name
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def read_bgr(path: str, cv2, np):
    """An 8-bit BGR frame as OpenCV delivers it (the seed's camera frames), or None."""
    if cv2 is not None:
        return cv2.imread(path, cv2.IMREAD_COLOR)
    from PIL import Image
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))[:, :, ::-1].copy()
    except OSError:
        return None


def load_eager(path: str, meta: dict):
    """(eager nn.Module, metadata) holding the weights of `path`. FP32: the file's state_dict loaded into
    a BatchNorm-folded Captioner. INT8: the same structure the export quantized (quantize_int8: static
    INT8 encoder, dynamic INT8 Linear/LSTMCell), given the file's own int8 weights and quantization
    parameters -- the eager model of exactly what the file holds."""
    import torch
    from edgecap_model import Captioner, ModelConfig, copy_int8_weights, fold_batchnorm, quantize_int8
    arch = meta["architecture"]
    cfg = ModelConfig(vocab_size=len(meta["vocab"]), conv_channels=list(arch["conv_channels"]),
                      conv_strides=list(arch["conv_strides"]),
                      conv_dilations=list(arch.get("conv_dilations", [])), embed_dim=arch["embed_dim"],
                      attention_dim=arch["attention_dim"], decoder_dim=arch["decoder_dim"],
                      image_size=meta["input"]["height"])
    model = fold_batchnorm(Captioner(cfg)).eval()
    scripted = torch.jit.load(path, map_location="cpu")
    if meta.get("precision") == "int8":
        size = cfg.image_size
        model = quantize_int8(model, torch.zeros(1, 3, size, size), meta.get("quantized_engine", "onednn"))
        copy_int8_weights(model, scripted)
    else:
        # strict: every tensor of the file must land in the module, or this is not the same model
        model.load_state_dict(scripted.state_dict(), strict=True)
    return model.eval(), meta


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def list_images(inputs):
    paths = []
    for item in inputs:
        if os.path.isdir(item):
            paths += sorted(os.path.join(item, n) for n in os.listdir(item) if n.lower().endswith(IMAGE_EXTENSIONS))
        else:
            paths.append(item)
    if not paths:
        sys.exit(f"no images in {inputs}")
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="TorchScript model file (edgecap contract)")
    ap.add_argument("images", nargs="+", help="image files or folders")
    ap.add_argument("--iterations", type=int, default=30, help="timed captions (cycling over the images)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed captions after the first one")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = leave torch's default)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ap.add_argument("--mode", choices=("eager", "script"), default="eager",
                    help="eager nn.Module with the file's weights (the seed's way) or the TorchScript file")
    args = ap.parse_args()

    # imports are part of start-up and are timed as such
    try:
        import cv2
    except ImportError:  # Debian's python3-opencv missing: PIL decodes and resizes instead (said in the output)
        cv2 = None
    import numpy as np
    # Quantized linear ops warn on every call that qnnpack ignores reduce_range (true in both the eager
    # dynamic Linear and the exported graph); glog would print that line per call, costing time in the
    # loop being measured. edgecap reports it once. GLOG_minloglevel must be set before libglog loads.
    os.environ.setdefault("GLOG_minloglevel", "2")
    import warnings
    warnings.filterwarnings("ignore", message=".*reduce_range.*")
    import torch

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import load_scripted, read_metadata, select_engine_for

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    # Quantized weights are packed for the engine in force when the file is loaded; selecting it only
    # afterwards (as common.load_scripted does) leaves INT8 several times slower. edgecap selects it first,
    # and so does the seed before quantizing, so the reference does too.
    early = read_metadata(args.model)
    select_engine_for(args.model)
    if args.mode == "eager":
        module, meta = load_eager(args.model, early)
    else:
        module, meta = load_scripted(args.model)
    load_ms = (time.perf_counter() - t0) * 1000
    inp = meta["input"]
    size = (inp["width"], inp["height"])
    mean = np.array(inp["mean"], dtype=np.float32).reshape(3, 1, 1)
    std = np.array(inp["std"], dtype=np.float32).reshape(3, 1, 1)
    scale = float(inp.get("scale", 255.0))
    vocab = meta["vocab"]
    special = meta["special_tokens"]
    start_id, end_id = special["start"], special["end"]
    max_len = meta["max_caption_length"]
    rgb = inp.get("channel_order", "RGB") == "RGB"

    frames = []
    names = []
    for path in list_images(args.images):
        frame = read_bgr(path, cv2, np)
        if frame is None:
            print(f"warning: cannot read {path}", file=sys.stderr)
            continue
        frames.append(frame)
        names.append(os.path.basename(path))

    def preprocess(frame):
        if rgb:
            img = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if cv2 is not None else np.ascontiguousarray(frame[:, :, ::-1])
        else:
            img = frame
        h, w = img.shape[:2]
        if (w, h) != size:
            if cv2 is not None:
                shrink = w >= 2 * size[0] or h >= 2 * size[1]
                img = cv2.resize(img, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            else:
                from PIL import Image
                img = np.asarray(Image.fromarray(img).resize(size, Image.BILINEAR))
        x = img.transpose(2, 0, 1).astype(np.float32) / scale
        x = (x - mean) / std
        return torch.from_numpy(x).unsqueeze(0)

    def caption(frame):
        t_start = time.perf_counter()
        with torch.inference_mode():
            x = preprocess(frame)
            t_pre = time.perf_counter()
            state = module.encode(x)
            t_enc = time.perf_counter()
            token = torch.tensor([start_id], dtype=torch.long)
            words = []
            steps = 0
            for _ in range(max_len):
                logp, state = module.step(token, state)
                steps += 1
                token = logp.argmax(1)
                idx = int(token)
                if idx == end_id:
                    break
                if idx not in (special.get("pad", 0), start_id):
                    words.append(vocab[idx] if 0 <= idx < len(vocab) else "<unk>")
            t_end = time.perf_counter()
        return " ".join(words), {"total_ms": (t_end - t_start) * 1000, "preprocess_ms": (t_pre - t_start) * 1000,
                                 "encode_ms": (t_enc - t_pre) * 1000, "decode_ms": (t_end - t_enc) * 1000,
                                 "steps": steps}

    first_text, first = caption(frames[0])
    startup_ms = seconds_since_process_start() * 1000
    for i in range(args.warmup):
        caption(frames[(i + 1) % len(frames)])
    timed = []
    captions = {names[0]: first_text}
    for i in range(args.iterations):
        k = i % len(frames)
        text, t = caption(frames[k])
        captions.setdefault(names[k], text)
        timed.append(t)
    lat = [t["total_ms"] for t in timed]
    result = {
        "model": args.model,
        "precision": meta.get("precision"),
        "quantized_engine": torch.backends.quantized.engine if meta.get("precision") == "int8" else "",
        "mode": args.mode,
        "runtime": ("python eager nn.Module " if args.mode == "eager" else "python TorchScript (torch.jit.load) ")
        + torch.__version__,
        "preprocess": "OpenCV " + cv2.__version__ if cv2 is not None else "PIL (python3-opencv not installed)",
        "threads": torch.get_num_threads(),
        "images": len(frames),
        "load_ms": load_ms,
        "first_caption_ms": first["total_ms"],
        "startup_to_first_caption_ms": startup_ms,
        "iterations": len(lat),
        "latency_ms": {"median": statistics.median(lat) if lat else None,
                       "mean": statistics.fmean(lat) if lat else None,
                       "min": min(lat) if lat else None, "max": max(lat) if lat else None},
        "stages_ms": {k: statistics.median([t[k] for t in timed]) if timed else None
                      for k in ("preprocess_ms", "encode_ms", "decode_ms")},
        "steps_per_caption": statistics.fmean([t["steps"] for t in timed]) if timed else None,
        "captions": captions,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.model}: load {load_ms:.0f} ms, start-up to first caption {startup_ms:.0f} ms")
        if lat:
            print(f"latency per caption: median {result['latency_ms']['median']:.2f} ms over {len(lat)} "
                  f"(threads {result['threads']})")
        for name, text in list(captions.items())[:5]:
            print(f"  {name}: {text}")


if __name__ == "__main__":
    main()
