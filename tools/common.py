"""Shared helpers of the edgecap Python tools: vocabulary, metadata, saving/loading model files, the
contract check and greedy/beam decoding through the exported ``encode``/``step`` methods."""
import hashlib
import os
import sys
import time
import json
import re
from typing import Dict, List, Optional, Sequence, Tuple

import torch

SPECIALS = ["<pad>", "<start>", "<end>", "<unk>"]
PAD, START, END, UNK = 0, 1, 2, 3
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
MAX_CAPTION_LENGTH = 20
METADATA_NAME = "edgecap.json"


# ---- text -------------------------------------------------------------------------------------------
def tokenize(caption: str) -> List[str]:
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", caption.lower())


def build_vocab(captions: Sequence[str], min_count: int = 1) -> List[str]:
    counts: Dict[str, int] = {}
    for cap in captions:
        for w in tokenize(cap):
            counts[w] = counts.get(w, 0) + 1
    words = sorted(w for w, n in counts.items() if n >= min_count)
    return SPECIALS + words


def encode_caption(caption: str, index: Dict[str, int], max_len: int = MAX_CAPTION_LENGTH) -> List[int]:
    ids = [index.get(w, UNK) for w in tokenize(caption)][:max_len - 1]
    return [START] + ids + [END]


def decode_ids(ids: Sequence[int], vocab: Sequence[str]) -> str:
    words = []
    for i in ids:
        if i == END:
            break
        if i in (PAD, START):
            continue
        words.append(vocab[i])
    return " ".join(words)


# ---- metadata ---------------------------------------------------------------------------------------
def make_metadata(*, vocab: List[str], cfg, variant: str, variant_detail: str, precision: str,
                  parameters: int, nonzero_parameters: int, macs: int, training: dict,
                  model_name: str = "lightweight_captioning_model") -> dict:
    meta = {
        "format_version": 1,
        "model_name": model_name,
        "variant": variant,
        "variant_detail": variant_detail,
        "precision": precision,
        "vocab": list(vocab),
        "special_tokens": {"pad": PAD, "start": START, "end": END, "unk": UNK},
        "input": {"height": cfg.image_size, "width": cfg.image_size, "channel_order": "RGB",
                  "scale": 255.0, "mean": MEAN, "std": STD},
        "max_caption_length": MAX_CAPTION_LENGTH,
        "architecture": {"name": "cnn-attention-lstm", "encoder_dim": cfg.encoder_dim,
                         "embed_dim": cfg.embed_dim, "attention_dim": cfg.attention_dim,
                         "decoder_dim": cfg.decoder_dim, "grid_h": cfg.grid, "grid_w": cfg.grid,
                         "conv_channels": list(cfg.conv_channels),
                         "conv_strides": list(cfg.conv_strides), "conv_dilations": cfg.dilations},
        "parameters": int(parameters),
        "nonzero_parameters": int(nonzero_parameters),
        "macs": int(macs),
        "macs_note": "multiply-accumulates of encode + 15 decoder steps, batch 1 (conv, linear, LSTMCell)",
        "training": training,
    }
    if precision == "int8":
        meta["quantized_engine"] = "qnnpack"
    return meta


def save_scripted(module: torch.jit.ScriptModule, path: str, metadata: Optional[dict],
                  raw_metadata: Optional[str] = None) -> None:
    extra = {}
    if raw_metadata is not None:
        extra[METADATA_NAME] = raw_metadata
    elif metadata is not None:
        extra[METADATA_NAME] = json.dumps(metadata, indent=1)
    torch.jit.save(module, path, _extra_files=extra)


def read_metadata(path: str) -> dict:
    """edgecap.json straight from the TorchScript zip, without loading the module ({} when absent)."""
    import zipfile
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith("/extra/" + METADATA_NAME):
                return json.loads(z.read(name))
    return {}


def select_engine_for(path: str) -> None:
    """Select the quantized engine an INT8 file names BEFORE loading it: its packed weights are packed for
    the engine in force at load time (another engine's packing runs, several times slower)."""
    try:
        early = read_metadata(path)
    except (OSError, ValueError):
        return  # torch.jit.load reports the problem
    if early.get("precision") == "int8":
        torch.backends.quantized.engine = early.get("quantized_engine", "qnnpack")


def load_scripted(path: str) -> Tuple[torch.jit.ScriptModule, dict]:
    """Load a model file and its metadata (raises ValueError when the metadata is missing or bad)."""
    select_engine_for(path)
    extra = {METADATA_NAME: ""}
    module = torch.jit.load(path, map_location="cpu", _extra_files=extra)
    module.eval()
    text = extra[METADATA_NAME]
    if not text:
        raise ValueError(f"{path}: no {METADATA_NAME} metadata")
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: {METADATA_NAME} is not valid JSON ({e})")
    return module, meta


def check_contract(path: str) -> dict:
    """The validation docs/MODEL_CONTRACT.md asks of the C++ loader, in Python. Returns the metadata or
    raises ValueError naming the rule that failed."""
    module, meta = load_scripted(path)

    def need(cond: bool, rule: str) -> None:
        if not cond:
            raise ValueError(f"{path}: {rule}")

    need(meta.get("format_version") == 1, "format_version == 1")
    vocab = meta.get("vocab") or []
    need(len(vocab) > 0, "vocab non-empty")
    for name, idx in meta.get("special_tokens", {}).items():
        need(isinstance(idx, int) and 0 <= idx < len(vocab), f"special token {name} inside vocab")
    inp = meta.get("input", {})
    need(inp.get("height", 0) > 0 and inp.get("width", 0) > 0, "input sizes positive")
    need(len(inp.get("mean", [])) == 3 and len(inp.get("std", [])) == 3, "mean/std of length 3")
    need(all(s > 0 for s in inp.get("std", [])), "std > 0")
    need(1 <= meta.get("max_caption_length", 0) <= 200, "max_caption_length in 1..200")
    need(hasattr(module, "encode") and hasattr(module, "step"), "module has encode and step")
    with torch.no_grad():
        state = module.encode(torch.zeros(1, 3, inp["height"], inp["width"]))
        start = meta["special_tokens"]["start"]
        logp, state = module.step(torch.tensor([start], dtype=torch.long), state)
    need(tuple(logp.shape) == (1, len(vocab)), f"step returns [1, V] log-probs with V == len(vocab) "
                                                f"(got {list(logp.shape)}, V={len(vocab)})")
    need(all(t.dim() > 0 and t.size(0) == 1 for t in state.values()), "state tensors have dim 0 == 1")
    return meta


# ---- decoding through encode/step ---------------------------------------------------------------------
@torch.no_grad()
def greedy_decode(module, images: torch.Tensor, max_len: int = MAX_CAPTION_LENGTH) -> List[List[int]]:
    state = module.encode(images)
    B = images.size(0)
    tokens = torch.full((B,), START, dtype=torch.long)
    out = [[] for _ in range(B)]
    done = torch.zeros(B, dtype=torch.bool)
    for _ in range(max_len):
        logp, state = module.step(tokens, state)
        tokens = logp.argmax(1)
        for b in range(B):
            if not done[b]:
                out[b].append(int(tokens[b]))
        done |= tokens == END
        if bool(done.all()):
            break
    return out


@torch.no_grad()
def beam_decode(module, image: torch.Tensor, beam: int = 3, max_len: int = MAX_CAPTION_LENGTH,
                length_norm: bool = True) -> List[int]:
    """Beam search for one image [1,3,H,W]; reorders the state on dim 0 like the C++ side."""
    state = module.encode(image)
    state = {k: v.expand(beam, *v.shape[1:]).contiguous() for k, v in state.items()}
    tokens = torch.full((beam,), START, dtype=torch.long)
    scores = torch.zeros(beam)
    scores[1:] = float("-inf")  # all beams start identical: keep only one alive at first
    seqs: List[List[int]] = [[] for _ in range(beam)]
    finished: List[Tuple[float, List[int]]] = []
    for t in range(max_len):
        logp, state = module.step(tokens, state)
        V = logp.size(1)
        cand = (scores.unsqueeze(1) + logp.float()).view(-1)
        top, idx = cand.topk(beam * 2)
        new_seqs, new_scores, parents, new_tokens = [], [], [], []
        for s, i in zip(top.tolist(), idx.tolist()):
            if s == float("-inf"):
                continue
            parent, word = i // V, i % V
            seq = seqs[parent] + [word]
            if word == END:
                norm = s / len(seq) if length_norm else s
                finished.append((norm, seq))
            else:
                new_seqs.append(seq)
                new_scores.append(s)
                parents.append(parent)
                new_tokens.append(word)
            if len(new_seqs) == beam:
                break
        if len(finished) >= beam or not new_seqs:
            break
        while len(new_seqs) < beam:  # pad with dead beams so tensors keep their size
            new_seqs.append(new_seqs[0])
            new_scores.append(float("-inf"))
            parents.append(parents[0])
            new_tokens.append(new_tokens[0])
        p = torch.tensor(parents, dtype=torch.long)
        state = {k: v.index_select(0, p) for k, v in state.items()}
        seqs, scores = new_seqs, torch.tensor(new_scores)
        tokens = torch.tensor(new_tokens, dtype=torch.long)
    if not finished:  # nothing reached <end>: best unfinished beam
        best = int(scores.argmax())
        return seqs[best]
    return max(finished, key=lambda f: f[0])[1]


# ---- data -------------------------------------------------------------------------------------------
def repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_split(root: str, split: str) -> List[dict]:
    with open(os.path.join(root, f"{split}.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def load_images(root: str, split: str, records: List[dict], size: int, cache_dir: Optional[str] = None,
                log=print) -> torch.Tensor:
    """All images of a split as one uint8 tensor [N,3,size,size], cached under data/cache/."""
    import numpy as np
    from PIL import Image

    jsonl = os.path.join(root, f"{split}.jsonl")
    st = os.stat(jsonl)
    key = hashlib.sha1(f"{os.path.abspath(root)}|{split}|{st.st_size}|{st.st_mtime_ns}|{size}|{len(records)}"
                       .encode()).hexdigest()[:16]
    cache_dir = cache_dir or os.path.join(repo_root(), "data", "cache")
    cache = os.path.join(cache_dir, f"{split}_{size}_{key}.npy")
    if os.path.exists(cache):
        arr = np.load(cache, mmap_mode=None)
        if arr.shape[0] == len(records):
            return torch.from_numpy(arr)
    arr = np.empty((len(records), 3, size, size), dtype=np.uint8)
    t0 = time.time()
    for i, rec in enumerate(records):
        with Image.open(os.path.join(root, rec["image"])) as im:
            im = im.convert("RGB")
            if im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            arr[i] = np.asarray(im).transpose(2, 0, 1)
        if (i + 1) % 5000 == 0:
            log(f"  loaded {i + 1}/{len(records)} {split} images ({time.time() - t0:.0f}s)")
    os.makedirs(cache_dir, exist_ok=True)
    tmp = f"{cache}.{os.getpid()}.tmp.npy"  # per process: two runs may fill the same cache at once
    np.save(tmp, arr)
    os.replace(tmp, cache)
    return torch.from_numpy(arr)


def normalise(images_u8: torch.Tensor) -> torch.Tensor:
    x = images_u8.float().div_(255.0)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


FAKE_CATEGORIES = ["car", "cup", "umbrella", "chair", "apple", "kite"]
FAKE_COLOURS = {"red": (220, 30, 30), "blue": (30, 60, 220), "yellow": (235, 220, 30),
                "green": (30, 170, 40), "black": (15, 15, 15), "white": (245, 245, 245)}
FAKE_BACKGROUNDS = {"grass": (90, 160, 70), "beach": (225, 205, 150), "snow": (235, 240, 250),
                    "road": (90, 90, 95)}


def write_fake_dataset(root: str, n_train: int = 300, n_val: int = 60, n_test: int = 60, seed: int = 0) -> None:
    """A stand-in dataset in the real format: coloured shapes named like COCO categories. For developing
    the tools before the real generator's output exists; the images are trivially easy."""
    import random

    from PIL import Image, ImageDraw
    sys.path.insert(0, os.path.join(repo_root(), "tools"))
    from datagen.grammar import background_phrase, noun_phrase

    rng = random.Random(seed)
    shapes = {c: i for i, c in enumerate(FAKE_CATEGORIES)}
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        os.makedirs(os.path.join(root, "images", split), exist_ok=True)
        lines = []
        for k in range(n):
            sid = f"{split}_{k:06d}"
            bg = rng.choice(list(FAKE_BACKGROUNDS))
            im = Image.new("RGB", (128, 128), FAKE_BACKGROUNDS[bg])
            d = ImageDraw.Draw(im)
            cats = rng.sample(FAKE_CATEGORIES, rng.randint(1, 2))
            objects, slots = [], list(range(4))
            rng.shuffle(slots)
            xs = []
            for ci, cat in enumerate(cats):
                count = rng.randint(1, 2)
                colour = rng.choice(list(FAKE_COLOURS))
                boxes = []
                for _ in range(count):
                    s = slots.pop()
                    x0, y0 = 8 + 30 * s, 40 + rng.randint(-10, 30)
                    box = [x0, y0, x0 + 24, y0 + 24]
                    shape = shapes[cat]
                    fill = FAKE_COLOURS[colour]
                    if shape % 3 == 0:
                        d.rectangle(box, fill=fill)
                    elif shape % 3 == 1:
                        d.ellipse(box, fill=fill)
                    else:
                        d.polygon([(x0 + 12, y0), (x0, y0 + 24), (x0 + 24, y0 + 24)], fill=fill)
                    if shape >= 3:
                        d.line([box[0], box[1], box[2], box[3]], fill=(128, 0, 128), width=3)
                    boxes.append(box)
                objects.append({"category": cat, "count": count, "colour": colour, "source": "fake",
                                "boxes": boxes})
                xs.append(sum(b[0] for b in boxes) / len(boxes))
            phrases = [noun_phrase(o["category"], o["count"]) for o in objects]
            cphrases = [noun_phrase(o["category"], o["count"], o["colour"]) for o in objects]
            bgp = background_phrase(bg)
            captions = [" and ".join(phrases) + " " + bgp, " and ".join(cphrases) + " " + bgp]
            relations = []
            if len(objects) == 2:
                a, b = objects
                rel = "left of" if xs[0] < xs[1] else "right of"
                relations.append({"subject": a["category"], "relation": rel, "object": b["category"]})
                captions.append(f"{cphrases[0]} to the {rel.split()[0]} of {cphrases[1]}")
            path = f"images/{split}/{sid}.png"
            im.save(os.path.join(root, path))
            lines.append(json.dumps({"id": sid, "image": path, "captions": captions, "objects": objects,
                                     "background": bg, "relations": relations}))
        with open(os.path.join(root, f"{split}.jsonl"), "w") as f:
            f.write("\n".join(lines) + "\n")
