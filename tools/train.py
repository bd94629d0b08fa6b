#!/usr/bin/python3
"""Train the edgecap captioner on the scene dataset (teacher forcing, cross-entropy, Adam).

    nohup nice /usr/bin/python3 tools/train.py --name original > runs/original.out 2>&1 &
    /usr/bin/python3 tools/train.py --name original --resume      # continue after a stop
    /usr/bin/python3 tools/train.py --name smoke --smoke          # ~200 images, < 2 minutes
    /usr/bin/python3 tools/train.py --name more --init runs/original/best.pt --epochs 20 --lr 5e-4 \
        --style-aug 0.5                                           # a new leg from trained weights
    /usr/bin/python3 tools/train.py --name deep --init runs/original/best.pt --deepen 2,3,4 \
        --complete-weight 20 --epochs 10 --lr 5e-4                # a deeper leg (how the shipped model grew)

Every epoch (and on SIGTERM/SIGINT) the full training state goes to runs/<name>/last.pt (model, optimiser,
epoch, position in the epoch, RNG states); --resume continues from there. The best epoch by validation
score goes to runs/<name>/best.pt. Per-epoch loss and validation scores go to runs/<name>/log.jsonl.
Each epoch uses one reference caption per image, drawn at random with colour-naming captions weighted x3
and, with --complete-weight W, captions that state every object, count and colour weighted W times more
(see caption_weight). Growing the --init model, each starting from the function it computes: --deepen
inserts identity-initialised conv blocks (edgecap_model.deepen), --widen adds copies of conv channels
(edgecap_model.widen), --densify makes the feature grid twice as fine (edgecap_model.densify).
Auxiliary loss (training only, not exported): a linear classifier on every encoder region predicts the
category (or background) and the colour of the object whose box covers that region (cross-entropy per
region, targets from the dataset's boxes). It gives the encoder a dense recognition signal, so the region
features that attention picks name the object; measured to learn recognition faster than captions alone.
With --count-weight W a second linear head on every region predicts how many instances of its object the
scene has (count_targets), weight W (default 0: no count head). Augmentation: small random shifts and
brightness/contrast jitter; no flips (they would swap "left of" and "right of") and no hue changes (they
would change colour words).
"""
import argparse
import json
import math
import os
import random
import signal
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (PAD, build_vocab, decode_ids, encode_caption, greedy_decode, load_images,  # noqa: E402
                    normalise, read_split, repo_root)
from edgecap_model import Captioner, ModelConfig, count_macs, count_parameters, deepen, densify, widen  # noqa: E402
from evaluate import dataset_categories, parse_mentions, score_captions, tokenize  # noqa: E402


class Stop(Exception):
    pass


_stop_requested = False


def _request_stop(signum, frame):
    global _stop_requested
    _stop_requested = True


COLOUR_WORDS = {"black", "white", "gray", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown"}


def caption_weight(caption: str, record=None, categories=None, complete_x: float = 1.0) -> float:
    """Sampling weight of a reference caption: captions that name object colours are preferred (x3), so
    the greedy caption tends to say the colour when the scene has one. Background colours ("a plain
    blue background") do not count. With a record, its categories and complete_x != 1, a caption that
    states every fact the evaluation scores (every object of the scene with its count, and the colour of
    every object that has one) is weighted complete_x times more: the greedy caption learns to say all
    of it rather than the shorter references that leave a colour or an object out."""
    words = caption.split()
    n = sum(1 for i, w in enumerate(words) if w in COLOUR_WORDS and not (i > 0 and words[i - 1] == "plain"))
    w = 3.0 if n else 1.0
    if record is not None and complete_x != 1.0 and is_complete(caption, record, categories):
        w *= complete_x
    return w


def is_complete(caption: str, record, categories) -> bool:
    """True if the caption names every object of the record with its true count and its colour (for the
    objects that have one), as evaluate.py parses captions."""
    by_cat = {}
    for m in parse_mentions(tokenize(caption), categories):
        by_cat.setdefault(m.category, m)
    for o in record["objects"]:
        m = by_cat.get(o["category"])
        if m is None or m.count != o["count"] or (o.get("colour") and m.colour != o["colour"]):
            return False
    return True


def caption_table(records, index, max_len, weighted=True, categories=None, complete_x: float = 1.0):
    """All captions as one padded [N_caps, L] tensor; per image a row of caption ids into it and the
    sampling weights of those captions ([N, max_caps], weight 0 = no caption)."""
    rows = []
    ids, weights = [], []
    for rec in records:
        ids.append([len(rows) + k for k in range(len(rec["captions"]))])
        weights.append([caption_weight(c, rec, categories, complete_x) if weighted else 1.0
                        for c in rec["captions"]])
        for cap in rec["captions"]:
            rows.append(encode_caption(cap, index, max_len))
    L = max(map(len, rows))
    table = torch.full((len(rows), L), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        table[i, :len(r)] = torch.tensor(r)
    K = max(map(len, ids))
    id_mat = torch.zeros(len(records), K, dtype=torch.long)
    w_mat = torch.zeros(len(records), K)
    for i, (a, w) in enumerate(zip(ids, weights)):
        id_mat[i, :len(a)] = torch.tensor(a)
        w_mat[i, :len(w)] = torch.tensor(w)
    return table, (id_mat, w_mat)


def sample_captions(spans, gen: torch.Generator) -> torch.Tensor:
    """One caption row per image, drawn with the caption weights."""
    id_mat, w_mat = spans
    pick = torch.multinomial(w_mat, 1, generator=gen).squeeze(1)
    return id_mat.gather(1, pick.unsqueeze(1)).squeeze(1)


def region_targets(records, grid, image_size, *values):
    """One [N, grid*grid] long tensor per function in `values`: value(object) in every region an instance
    box of that object covers (a later object overwrites an earlier one), 0 where no box is."""
    cell = image_size / grid
    out = [torch.zeros(len(records), grid * grid, dtype=torch.long) for _ in values]
    for n, rec in enumerate(records):
        for o in rec["objects"]:
            vs = [v(o) for v in values]
            for x0, y0, x1, y1 in o.get("boxes", []):
                gx0, gy0 = int(x0 // cell), int(y0 // cell)
                gx1, gy1 = int(max(x0, x1 - 1) // cell), int(max(y0, y1 - 1) // cell)
                for gy in range(max(gy0, 0), min(gy1, grid - 1) + 1):
                    for gx in range(max(gx0, 0), min(gx1, grid - 1) + 1):
                        for t, v in zip(out, vs):
                            t[n, gy * grid + gx] = v
    return out


def aux_targets(records, categories, colours, grid, image_size):
    """Per-region targets from the boxes: [N, grid*grid] category ids (0 = background) and colour ids
    (0 = none) of the object covering each region."""
    ci = {c: i + 1 for i, c in enumerate(categories)}
    ki = {c: i + 1 for i, c in enumerate(colours)}
    cat_t, col_t = region_targets(records, grid, image_size, lambda o: ci.get(o["category"], 0),
                                  lambda o: ki.get(o.get("colour"), 0))
    return cat_t, col_t


def count_targets(records, grid, image_size, max_count):
    """Per-region count targets ([N, grid*grid]): how many instances the scene has of the object covering
    the region (capped at max_count), 0 for background. With it the region features must carry the
    number a caption states, which the decoder otherwise has to assemble from its attention."""
    return region_targets(records, grid, image_size, lambda o: min(int(o["count"]), max_count))[0]


def aux_loss(z: torch.Tensor, n_cat: int, cat_t: torch.Tensor, col_t: torch.Tensor) -> torch.Tensor:
    """The region classifier's loss: z [B, R, cats+1 + colours+1] against the targets of aux_targets."""
    return (F.cross_entropy(z[..., :n_cat].reshape(-1, n_cat), cat_t.reshape(-1))
            + 0.5 * F.cross_entropy(z[..., n_cat:].reshape(-1, z.size(-1) - n_cat), col_t.reshape(-1)))


def fit_head(model: Captioner, head: torch.nn.Linear, images_u8: torch.Tensor, loss_fn, n_images: int = 2048,
             steps: int = 300) -> float:
    """Fit a linear head on the region features of a trained encoder that comes without it: the encoder
    frozen, the head trained full-batch on the features of the first n_images training images (a convex
    problem), so joint training does not start by back-propagating a random head into a trained encoder.
    loss_fn(z, n) is the head's loss on the first n images. Returns the final loss."""
    n = min(n_images, images_u8.size(0))
    model.eval()
    with torch.no_grad():
        feats = torch.cat([model.encode(normalise(images_u8[i:i + 256]))["feats"]
                           for i in range(0, n, 256)])
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = loss_fn(head(feats), n)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.train()
    return float(loss)


def fit_aux_head(model: Captioner, head: torch.nn.Linear, images_u8: torch.Tensor, n_cat: int,
                 cat_t: torch.Tensor, col_t: torch.Tensor, n_images: int = 2048, steps: int = 300) -> float:
    """fit_head for the region classifier of an --init checkpoint that has none (tools/recover_checkpoint.py
    makes them from exported files, which do not hold it)."""
    return fit_head(model, head, images_u8, lambda z, n: aux_loss(z, n_cat, cat_t[:n], col_t[:n]),
                    n_images, steps)


def count_loss(z: torch.Tensor, cnt_t: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(z.reshape(-1, z.size(-1)), cnt_t.reshape(-1))


def augment(x_u8: torch.Tensor, gen: torch.Generator, max_shift: int = 6) -> torch.Tensor:
    """uint8 [B,3,S,S] -> normalised float with a random shift per batch and photometric jitter per image."""
    x = normalise(x_u8)
    B, _, S, _ = x.shape
    dx, dy = (int(v) for v in torch.randint(-max_shift, max_shift + 1, (2,), generator=gen))
    if dx or dy:
        x = F.pad(x, (max_shift,) * 4, mode="replicate")
        x = x[:, :, max_shift + dy:max_shift + dy + S, max_shift + dx:max_shift + dx + S]
    contrast = 1 + 0.3 * (torch.rand(B, 1, 1, 1, generator=gen) - 0.5)
    bright = 0.3 * (torch.rand(B, 1, 1, 1, generator=gen) - 0.5)
    return x * contrast + bright


def style_augment(x: torch.Tensor, gen: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Texture changes that keep shape and colour, aimed at sprite styles never seen in training (the test
    split holds out whole sprite sources): on each image with probability `p` one of a Gaussian blur
    (sigma 0.6-1.4 px), a down-and-up resample (to 45-75% of the side) or Gaussian noise (sigma 0.03-0.12 of
    the normalised range). x: normalised [B,3,S,S]; strength is drawn per batch, the choice per image."""
    B, C, S, _ = x.shape
    u = torch.rand(4, generator=gen)
    sigma = 0.6 + 0.8 * float(u[0])
    r = torch.arange(-2, 3, dtype=x.dtype)
    k = torch.exp(-r ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    blurred = F.pad(x, (2, 2, 2, 2), mode="replicate")
    blurred = F.conv2d(blurred, k.view(1, 1, 1, 5).expand(C, 1, 1, 5).contiguous(), groups=C)
    blurred = F.conv2d(blurred, k.view(1, 1, 5, 1).expand(C, 1, 5, 1).contiguous(), groups=C)
    side = max(8, int(S * (0.45 + 0.3 * float(u[1]))))
    resampled = F.interpolate(F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False),
                              size=(S, S), mode="bilinear", align_corners=False)
    noisy = x + (0.03 + 0.09 * float(u[2])) * torch.randn(x.shape, generator=gen)
    pick = torch.randint(0, 3, (B,), generator=gen)
    apply = torch.rand(B, generator=gen) < p
    out = x.clone()
    for i, alt in enumerate((blurred, resampled, noisy)):
        m = (apply & (pick == i)).view(B, 1, 1, 1)
        out = torch.where(m, alt, out)
    return out


def lr_at(step: int, total: int, base: float, warmup: int = 200) -> float:
    warmup = max(1, min(warmup, total // 10))
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))


def validate(model, images_u8, records, categories, vocab, limit=600, batch=100):
    model.eval()
    caps = []
    with torch.no_grad():
        for i in range(0, min(limit, len(records)), batch):
            for ids in greedy_decode(model, normalise(images_u8[i:i + batch])):
                caps.append(decode_ids(ids, vocab))
    model.train()
    scores = score_captions(caps, records[:len(caps)], categories)
    scores.pop("counts", None)
    return scores, caps[:3]


def selection_score(s):
    """Validation score used to pick best.pt: mean of BLEU-4 and the attribute accuracies."""
    parts = [s["bleu4"], s["object_recall"], s["count_accuracy"], s["colour_accuracy"] or 0.0]
    return sum(parts) / len(parts)


def data_description(root: str) -> str:
    try:
        with open(os.path.join(root, "meta.json")) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        meta = {}
    version = meta.get("generator_version", "?")
    restyle = (meta.get("restyle") or {}).get("train", 0.0)
    extra = (meta.get("extra_sources") or {}).get("train") or []
    styled = f", train sprites restyled with p {restyle:g}" if restyle else ""
    styled += f", train-only sources: {', '.join(extra)}" if extra else ""
    train_seed = meta.get("train_seed")
    styled += f", train scenes seed {train_seed}" if train_seed not in (None, meta.get("seed")) else ""
    return f"edgecap procedural scenes {version} ({os.path.basename(os.path.abspath(root))}{styled})"


def save_checkpoint(path, payload):
    tmp = path + ".tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(repo_root(), "data", "scenes"))
    ap.add_argument("--name", default="original")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--att-reg", type=float, default=0.0,
                    help="doubly stochastic attention regularisation weight (Show, Attend and Tell)")
    ap.add_argument("--aux-weight", type=float, default=1.0,
                    help="weight of the auxiliary region classification loss (0 disables it)")
    ap.add_argument("--count-weight", type=float, default=0.0,
                    help="weight of an auxiliary per-region count loss (count_targets; 0: none, the default)")
    ap.add_argument("--style-aug", type=float, default=0.0,
                    help="probability per image of a blur / resample / noise texture change (style_augment)")
    ap.add_argument("--init", default="",
                    help="start from this checkpoint's weights (model and region head) with a fresh optimiser "
                         "and schedule; the vocabulary and architecture come from it")
    ap.add_argument("--deepen", default="",
                    help="with --init: insert an identity-initialised conv block after these encoder blocks "
                         "(comma-separated, 0-based; edgecap_model.deepen)")
    ap.add_argument("--widen", default="",
                    help="with --init: the encoder blocks' new output channels (comma-separated, one per block, "
                         ">= the current ones, the last unchanged): function-preserving copies "
                         "(edgecap_model.widen)")
    ap.add_argument("--densify", type=int, default=-1, metavar="BLOCK",
                    help="with --init: give this stride-2 encoder block stride 1 and dilate the later blocks, "
                         "a twice-as-fine feature grid from the same weights (edgecap_model.densify)")
    ap.add_argument("--uniform-captions", action="store_true", help="sample all captions equally")
    ap.add_argument("--complete-weight", type=float, default=1.0,
                    help="sample captions that state every object, count and colour of the scene this many "
                         "times more often (see caption_weight)")
    ap.add_argument("--limit", type=int, default=0, help="use the first N training images")
    ap.add_argument("--val-limit", type=int, default=600)
    ap.add_argument("--smoke", action="store_true", help="~200 images, 15 epochs: a < 2 minute check")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="intra-op threads; 1 measured 3-4x faster than 2 while the 2 cores are oversubscribed")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after N optimiser steps (testing)")
    ap.add_argument("--runs-dir", default=os.path.join(repo_root(), "runs"),
                    help="where runs/<name>/ (checkpoints, log) goes")
    args = ap.parse_args()
    if (args.deepen or args.widen or args.densify >= 0) and not args.init:
        ap.error("--deepen, --widen and --densify grow a trained model: they need --init CHECKPOINT")
    if args.smoke:
        args.limit, args.epochs, args.val_limit = args.limit or 200, 15, 100
    torch.set_num_threads(args.threads)
    run_dir = os.path.join(args.runs_dir, args.name)
    os.makedirs(run_dir, exist_ok=True)
    last_path, best_path = os.path.join(run_dir, "last.pt"), os.path.join(run_dir, "best.pt")
    log_path = os.path.join(run_dir, "log.jsonl")

    def log(msg):
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    records = read_split(args.data, "train")
    val_records = read_split(args.data, "val")
    if args.limit:
        records = records[:args.limit]
    ckpt = None
    if args.resume and os.path.exists(last_path):
        ckpt = torch.load(last_path, map_location="cpu")
        vocab = ckpt["vocab"]
        cfg = ModelConfig(**ckpt["config"])
        log(f"resuming {last_path}: epoch {ckpt['epoch']} batch {ckpt['batch_in_epoch']}")
    else:
        if args.resume:
            log(f"--resume: no {last_path}, starting fresh")
        init = torch.load(args.init, map_location="cpu") if args.init else None
        if init is not None:
            vocab, cfg = init["vocab"], ModelConfig(**init["config"])
            log(f"initialised from {args.init} (epoch {init.get('epoch')})")
        else:
            vocab = build_vocab([c for r in records for c in r["captions"]])
            cfg = ModelConfig(vocab_size=len(vocab))
    index = {w: i for i, w in enumerate(vocab)}
    log(f"{len(records)} train / {len(val_records)} val images, vocabulary {len(vocab)} words")
    images = load_images(args.data, "train", read_split(args.data, "train"), cfg.image_size, log=log)
    if args.limit:
        images = images[:args.limit]
    if ckpt is None and args.init:
        # growing the --init model: each step rebuilds it from (cfg, weights) and returns the grown model
        def grow(step):
            nonlocal cfg
            model = Captioner(cfg)
            model.load_state_dict(init["model"])
            grown = step(model)
            init["model"], cfg = grown.state_dict(), grown.cfg

        if args.deepen:
            # the inserted blocks keep the grid and the input size: the images just loaded serve both models
            grow(lambda m: deepen(m, [int(i) for i in args.deepen.split(",")], normalise(images[:256])))
            log(f"deepened after blocks {args.deepen}: conv channels {cfg.conv_channels}, "
                f"strides {cfg.conv_strides}")
        if args.widen:
            narrow = cfg.conv_channels
            grow(lambda m: widen(m, [int(c) for c in args.widen.split(",")], seed=args.seed))
            log(f"widened: conv channels {narrow} -> {cfg.conv_channels}")
        if args.densify >= 0:
            grid = cfg.grid
            grow(lambda m: densify(m, args.densify))
            log(f"densified at block {args.densify}: grid {grid}x{grid} -> {cfg.grid}x{cfg.grid}, strides "
                f"{cfg.conv_strides}, dilations {cfg.conv_dilations}")
    val_images = load_images(args.data, "val", val_records, cfg.image_size, log=log)
    categories = dataset_categories(args.data, records)
    table, spans = caption_table(records, index, 20, weighted=not args.uniform_captions,
                                 categories=categories, complete_x=args.complete_weight)

    aux_cats = sorted({o["category"] for r in records for o in r["objects"]})
    aux_cols = sorted(COLOUR_WORDS)
    aux_cat, aux_col = aux_targets(records, aux_cats, aux_cols, cfg.grid, cfg.image_size)
    torch.manual_seed(args.seed)
    model = Captioner(cfg)
    aux_head = torch.nn.Linear(cfg.encoder_dim, len(aux_cats) + 1 + len(aux_cols) + 1)
    n_cat = len(aux_cats) + 1
    count_head, cnt_t = None, None
    if args.count_weight > 0:
        max_count = max(int(o["count"]) for r in records for o in r["objects"])
        cnt_t = count_targets(records, cfg.grid, cfg.image_size, max_count)
        count_head = torch.nn.Linear(cfg.encoder_dim, max_count + 1)
    opt = torch.optim.Adam(list(model.parameters()) + list(aux_head.parameters())
                           + (list(count_head.parameters()) if count_head is not None else []), lr=args.lr,
                           weight_decay=args.weight_decay)
    gen = torch.Generator().manual_seed(args.seed)
    start_epoch, start_batch, perm, best = 0, 0, None, -1.0
    if ckpt is None and args.init:
        model.load_state_dict(init["model"])
        if "aux_head" in init:
            aux_head.load_state_dict(init["aux_head"])
        elif args.aux_weight > 0:
            loss = fit_aux_head(model, aux_head, images, n_cat, aux_cat, aux_col)
            log(f"{args.init} has no region classifier: fitted one on the frozen encoder (loss {loss:.3f})")
        if count_head is not None:
            if "count_head" in init and init["count_head"]["weight"].shape == count_head.weight.shape:
                count_head.load_state_dict(init["count_head"])
            else:
                loss = fit_head(model, count_head, images, lambda z, n: count_loss(z, cnt_t[:n]))
                log(f"{args.init} has no count head: fitted one on the frozen encoder (loss {loss:.3f})")
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        aux_head.load_state_dict(ckpt["aux_head"])
        if count_head is not None:
            count_head.load_state_dict(ckpt["count_head"])
        opt.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["rng"]["generator"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        random.setstate(ckpt["rng"]["python"])
        start_epoch, start_batch = ckpt["epoch"], ckpt["batch_in_epoch"]
        perm, best = ckpt.get("perm"), ckpt.get("best", -1.0)
        choice = ckpt.get("choice")
    params, _ = count_parameters(model)
    log(f"model {params} parameters, {count_macs(cfg)['total'] / 1e6:.1f} M MACs per caption, "
        f"{torch.get_num_threads()} threads")

    N = len(records)
    batches_per_epoch = math.ceil(N / args.batch)
    total_steps = batches_per_epoch * args.epochs
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)

    variant_detail = "trained from scratch"
    if args.init:
        variant_detail = f"fine-tuned from {args.init}"
        if args.deepen:
            variant_detail += f", deepened after blocks {args.deepen}"
        if args.widen:
            variant_detail += f", widened to {args.widen} channels"
        if args.densify >= 0:
            variant_detail += f", densified at block {args.densify}"

    def payload(epoch, batch_in_epoch, perm_, choice_):
        heads = {"aux_head": aux_head.state_dict()}
        if count_head is not None:
            heads["count_head"] = count_head.state_dict()
        return {"model": model.state_dict(), **heads, "optimizer": opt.state_dict(), "config": cfg.to_dict(),
                "vocab": vocab, "epoch": epoch, "batch_in_epoch": batch_in_epoch, "perm": perm_,
                "choice": choice_, "best": best, "args": vars(args),
                "rng": {"generator": gen.get_state(), "torch": torch.get_rng_state(),
                        "python": random.getstate()},
                "variant": "original",
                "variant_detail": variant_detail,
                "training": {"data": data_description(args.data), "epochs": epoch}}

    model.train()
    t_start = time.time()
    steps_done_here = 0
    for epoch in range(start_epoch, args.epochs):
        if perm is None or start_batch == 0:
            perm = torch.randperm(N, generator=gen)
            choice = sample_captions(spans, gen)
        tot_loss, tot_tok, tot_aux, tot_cnt, t_epoch = 0.0, 0, 0.0, 0.0, time.time()
        nb_here = 0
        for b in range(start_batch, batches_per_epoch):
            if _stop_requested:
                save_checkpoint(last_path, payload(epoch, b, perm, choice))
                log(f"stop requested: saved {last_path} at epoch {epoch} batch {b}; rerun with --resume")
                return
            idx = perm[b * args.batch:(b + 1) * args.batch]
            tokens = table[choice[idx]]
            L = int((tokens != PAD).sum(1).max())
            tokens = tokens[:, :L]
            x = augment(images[idx], gen)
            if args.style_aug > 0:
                x = style_augment(x, gen, args.style_aug)
            step = epoch * batches_per_epoch + b
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total_steps, args.lr)
            state = model.encode(x)
            logits, alphas = model.teacher_forcing(state, tokens)
            target = tokens[:, 1:]
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1), ignore_index=PAD)
            z = aux_head(state["feats"])                                   # [B, R, cats+1 + colours+1]
            aux = aux_loss(z, n_cat, aux_cat[idx], aux_col[idx])
            cnt = count_loss(count_head(state["feats"]), cnt_t[idx]) if count_head is not None \
                else torch.zeros(())
            mask = (target != PAD).float().unsqueeze(2)
            att_reg = (((1.0 - (alphas * mask).sum(1) * (alphas.size(2) / mask.sum(1).clamp(min=1))) ** 2)
                       .mean()) if args.att_reg else torch.zeros(())
            opt.zero_grad(set_to_none=True)
            (loss + args.att_reg * att_reg + args.aux_weight * aux + args.count_weight * cnt).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            ntok = int((target != PAD).sum())
            tot_loss += float(loss) * ntok
            tot_tok += ntok
            tot_aux += float(aux)
            tot_cnt += float(cnt)
            steps_done_here += 1
            nb_here += 1
            if b % 25 == 0 or b == batches_per_epoch - 1:
                rate = (time.time() - t_start) / steps_done_here
                eta = rate * (total_steps - step - 1)
                log(f"epoch {epoch + 1}/{args.epochs} batch {b + 1}/{batches_per_epoch} loss "
                    f"{tot_loss / max(tot_tok, 1):.3f} aux {tot_aux / nb_here:.3f}"
                    + (f" count {tot_cnt / nb_here:.3f}" if count_head is not None else "")
                    + f" lr {opt.param_groups[0]['lr']:.2e} "
                    f"{args.batch / rate:.0f} img/s ETA {eta / 60:.1f} min")
            if args.max_steps and steps_done_here >= args.max_steps:
                save_checkpoint(last_path, payload(epoch, b + 1, perm, choice))
                log(f"--max-steps reached: saved {last_path}")
                return
        start_batch = 0
        scores, examples = validate(model, val_images, val_records, categories, vocab, args.val_limit)
        score = selection_score(scores)
        entry = {"epoch": epoch + 1, "train_loss": tot_loss / max(tot_tok, 1),
                 "epoch_seconds": time.time() - t_epoch, "val": scores, "selection": score,
                 "examples": examples}
        with open(log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")
        log(f"epoch {epoch + 1} done in {entry['epoch_seconds'] / 60:.1f} min: loss {entry['train_loss']:.3f} "
            f"val BLEU-4 {scores['bleu4']:.3f} object {scores['object_recall']:.3f} count "
            f"{scores['count_accuracy']:.3f} colour {scores['colour_accuracy'] or 0:.3f} | {examples[0]!r}")
        p = payload(epoch + 1, 0, None, None)
        p["training"]["scores"] = {k: v for k, v in scores.items() if isinstance(v, float)}
        if score > best:
            best = score
            p["best"] = best
            save_checkpoint(best_path, p)
            log(f"new best ({score:.4f}) -> {best_path}")
        save_checkpoint(last_path, p)
        perm = None
    log(f"training finished: {args.epochs} epochs, best selection score {best:.4f}")


if __name__ == "__main__":
    main()
