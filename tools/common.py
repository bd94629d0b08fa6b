"""Shared helpers of the edgecap Python tools: vocabulary, metadata, saving/loading model files, the
contract check and greedy/beam decoding through the exported ``encode``/``step`` methods."""
import io
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
                         "conv_strides": list(cfg.conv_strides)},
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


def load_scripted(path: str) -> Tuple[torch.jit.ScriptModule, dict]:
    """Load a model file and its metadata (raises ValueError when the metadata is missing or bad)."""
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
    if meta.get("precision") == "int8":
        torch.backends.quantized.engine = meta.get("quantized_engine", "qnnpack")
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
