#!/usr/bin/python3
"""Prune a trained captioner for real, fine-tune it one epoch and export it.

    /usr/bin/python3 tools/prune.py runs/original/best.pt
      -> runs/pruned/pruned.pt (checkpoint), pruning_results/Pruning_epoch_1_checkpoint.pt (+ .int8.pt),
         pruning_results/pruning_report.json

1. Structured 30%: a NEW, smaller model is built and the kept slices are copied into it: 30% of the conv
   output channels (the next layer loses the matching input channels, the last layer's channels are the
   encoder dimension seen by the attention, the initial state and the LSTM input), 30% of the attention
   units, 30% of the embedding units and 30% of the LSTM hidden units. The conv channels are ranked
   across the layers by default (`--allocation global`, keep_counts: as many channels go as 30% of every
   layer would remove, a layer whose channels matter less loses more); `--allocation uniform` takes 30%
   of every layer's own channels. Which units go:
   the lowest first-order Taylor importance (default, `--criterion taylor`: |activation x gradient of the
   caption loss| per example, on 2,048 training images; taylor_scores), or weight magnitude (`--criterion
   l1`: L1 norm of the BN-scaled filter; summed L1 norm of all weights into and out of a unit, each matrix
   normalised by its mean magnitude). Tensors and MACs shrink.
2. Global magnitude pruning: the 10% smallest-magnitude weights that remain (conv, linear, LSTM,
   embedding; not biases or BatchNorm) are zeroed.
3. One epoch of fine-tuning; the zero mask is re-applied after every optimiser step. By default the epoch
   is one pass over every (image, caption) pair whose caption states all the scene's objects, counts and
   object colours (`--epoch-captions complete`, ~83% of the pairs: the captions the original was trained
   to prefer with train.py --complete-weight; `all` = every pair, the COCO convention of the seed's
   training; `one` = one caption per image, as an epoch of tools/train.py), and a feature loss keeps the
   pruned encoder's region features close to the original's values for the channels it kept
   (`--feature-distill`). The training set of the epoch is `--data`'s train split, plus the train split of
   every `--train-data` directory: the shipped pruned file passed once over the training scenes of the
   original's last three legs, 60,000 scenes (models/README.md).

The epoch is long (70-115 min at 2 threads over 80,000 scenes), so every `--save-every` batches the pruned
model, its masks, the optimiser and the random states go to `<--checkpoint-out>.partial`; after a stop,
the same command with `--resume` continues from there (the structured step is not redone) and ends with
the same weights an uninterrupted run gives (tested). A partial prune is never overwritten by a fresh one.
"""
import argparse
import copy
import json
import math
import os
import sys
import time
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import PAD, load_images, read_split, repo_root  # noqa: E402
from edgecap_model import Captioner, ModelConfig, count_macs, count_parameters, fold_batchnorm  # noqa: E402

def variant_detail(ratio: float, magnitude: float, allocation: str) -> str:
    return (f"structured {ratio:.0%} (channels/units physically removed, {allocation} allocation) + global "
            f"magnitude {magnitude:.0%} + 1 epoch fine-tune")


def _keep(n: int, ratio: float) -> int:
    return max(1, int(round(n * (1.0 - ratio))))


def _top(scores: torch.Tensor, k: int) -> torch.Tensor:
    return torch.sort(torch.topk(scores, k).indices).values


def _norm_l1(w: torch.Tensor, dim: int) -> torch.Tensor:
    """Per-unit L1 norm of w along all dims but `dim`, divided by the mean magnitude of w."""
    w = w.detach().abs()
    dims = [d for d in range(w.dim()) if d != dim]
    return w.sum(dims) / (w.mean() + 1e-12)


def taylor_scores(model: Captioner, batches) -> Dict[str, object]:
    """First-order Taylor importance of every prunable unit (Molchanov et al., 2017): for each training
    example, |sum over positions and steps of activation x d(loss)/d(activation)| -- the first-order change
    of the caption loss when the unit's output is zeroed -- averaged over the examples. Units: every conv
    block's output channel (after ReLU; the last block's channels are the encoder dimension), the attention
    units (input of full_att, every step), the embedding units (embedding output) and the decoder units
    (LSTM h and c, every step, so the recurrent uses count). `batches`: (normalised images, tokens) pairs;
    the loss is teacher-forced cross-entropy in eval mode (BatchNorm statistics fixed, no dropout)."""
    model = copy.deepcopy(model).eval()
    acc: Dict[str, torch.Tensor] = {}
    per_example: Dict[str, torch.Tensor] = {}

    def track(name: str, t: torch.Tensor, unit_dim: int) -> None:
        def hook(g: torch.Tensor) -> None:
            prod = (t.detach() * g).movedim(unit_dim, -1)
            prod = prod.reshape(prod.size(0), -1, prod.size(-1)).sum(1)  # [B, units]
            per_example[name] = per_example.get(name, 0) + prod
        t.register_hook(hook)

    handles = []
    for i, block in enumerate(model.encoder):
        handles.append(block.register_forward_hook(
            lambda m, inp, out, i=i: track(f"conv{i}", out, 1)))
    handles.append(model.full_att.register_forward_hook(lambda m, inp, out: track("att", inp[0], 2)))
    handles.append(model.embedding.register_forward_hook(lambda m, inp, out: track("emb", out, 2)))

    def lstm_hook(m, inp, out):
        track("dec", out[0], 1)
        track("dec", out[1], 1)
    handles.append(model.lstm.register_forward_hook(lstm_hook))
    n = 0
    for images, tokens in batches:
        per_example.clear()
        logits, _ = model(images, tokens)
        target = tokens[:, 1:]
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1), ignore_index=PAD,
                               reduction="sum") / images.size(0)
        model.zero_grad(set_to_none=True)
        loss.backward()
        for name, v in per_example.items():
            acc[name] = acc.get(name, 0) + v.abs().sum(0)
        n += images.size(0)
    for h in handles:
        h.remove()
    return {"conv": [acc[f"conv{i}"] / n for i in range(len(model.encoder))],
            "att": acc["att"] / n, "emb": acc["emb"] / n, "dec": acc["dec"] / n}


def keep_counts(group_scores: List[torch.Tensor], ratio: float, allocation: str = "uniform") -> List[int]:
    """How many units each group keeps when `ratio` of the units of all groups go (groups: the conv
    layers' output channels; or the attention, embedding and decoder units).
    uniform: every group loses `ratio` of its own units. global: the units of all groups are ranked
    together by importance normalised per group (each group's scores divided by their L2 norm, Molchanov et
    al. 2017) and as many units as the uniform rule removes go, least important first, so a group whose
    units matter less loses more; every group keeps at least 1 - 2*ratio of its units (and at least one)."""
    if allocation == "uniform":
        return [_keep(s.numel(), ratio) for s in group_scores]
    if allocation != "global":
        raise ValueError(f"unknown allocation {allocation!r}")
    to_remove = sum(s.numel() - _keep(s.numel(), ratio) for s in group_scores)
    floor = [max(1, math.ceil(s.numel() * (1.0 - 2.0 * ratio))) for s in group_scores]
    ranked = sorted((float(v) / (float(s.norm()) + 1e-12), layer)
                    for layer, s in enumerate(group_scores) for v in s)
    counts = [s.numel() for s in group_scores]
    for _, layer in ranked:
        if to_remove == 0:
            break
        if counts[layer] > floor[layer]:
            counts[layer] -= 1
            to_remove -= 1
    return counts


def structured_prune(model: Captioner, ratio: float = 0.3, scores: Dict[str, object] = None,
                     allocation: str = "uniform") -> Captioner:
    """Return a new, physically smaller Captioner holding the most important `1-ratio` of the conv
    channels (per layer with `allocation` uniform, ranked across the layers with global: keep_counts)
    and of each of the attention, embedding and decoder unit groups.
    Importance: `scores` (taylor_scores) when given, else the weight-magnitude rules below."""
    model = copy.deepcopy(model).eval()
    cfg = model.cfg
    D_old, M_old = cfg.decoder_dim, cfg.embed_dim

    # conv channels: importance per layer, then how many each layer keeps
    conv_scores: List[torch.Tensor] = []
    for i, block in enumerate(model.encoder):
        conv, bn = block[0], block[1]
        scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().abs()
        conv_scores.append(conv.weight.detach().abs().sum((1, 2, 3)) * scale if scores is None
                           else scores["conv"][i])
    counts = keep_counts(conv_scores, ratio, allocation)
    kept_ch: List[torch.Tensor] = [_top(s, k) for s, k in zip(conv_scores, counts)]
    keep_E = kept_ch[-1]

    # attention units: importance |v_a| * (|W_enc row a| + |W_dec row a|)
    att_score = model.full_att.weight.detach().abs()[0] * (
        _norm_l1(model.enc_att.weight, 0) + _norm_l1(model.dec_att.weight, 0))

    # embedding units: embedding column + LSTM input column
    W_ih, W_hh = model.lstm.weight_ih.detach(), model.lstm.weight_hh.detach()
    emb_score = _norm_l1(model.embedding.weight, 1) + _norm_l1(W_ih[:, :M_old], 1)

    # decoder units: the 4 gate rows in, the recurrent column and every consumer of h out
    gate_rows = lambda w: w.detach().abs().view(4, D_old, -1).sum((0, 2)) / (w.detach().abs().mean() + 1e-12)  # noqa
    dec_score = (gate_rows(W_ih) + gate_rows(W_hh) + _norm_l1(W_hh, 1) + _norm_l1(model.fc.weight, 1)
                 + _norm_l1(model.dec_att.weight, 1) + _norm_l1(model.f_beta.weight, 1)
                 + _norm_l1(model.init_h.weight, 0) + _norm_l1(model.init_c.weight, 0))
    unit_scores = [att_score, emb_score, dec_score] if scores is None else \
        [scores["att"], scores["emb"], scores["dec"]]
    # always per group: ranking the three groups together (keep_counts "global") kept every embedding
    # unit and cut the attention to 67 of 128, and fine-tuned 3 points worse on val (models/README.md)
    keep_A, keep_M, keep_D = (_top(s, k) for s, k in
                              zip(unit_scores, keep_counts(unit_scores, ratio, "uniform")))

    new_cfg = ModelConfig(vocab_size=cfg.vocab_size, conv_channels=[len(k) for k in kept_ch],
                          conv_strides=list(cfg.conv_strides), conv_dilations=list(cfg.conv_dilations),
                          embed_dim=len(keep_M),
                          attention_dim=len(keep_A), decoder_dim=len(keep_D), dropout=cfg.dropout,
                          image_size=cfg.image_size)
    new = Captioner(new_cfg).eval()
    with torch.no_grad():
        prev = torch.arange(3)
        for old_b, new_b, keep in zip(model.encoder, new.encoder, kept_ch):
            new_b[0].weight.copy_(old_b[0].weight[keep][:, prev])
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(new_b[1], name).copy_(getattr(old_b[1], name)[keep])
            new_b[1].num_batches_tracked.copy_(old_b[1].num_batches_tracked)
            prev = keep

        def lin(new_l, old_l, rows, cols):
            new_l.weight.copy_(old_l.weight[rows][:, cols])
            new_l.bias.copy_(old_l.bias[rows])

        all_out = lambda l: torch.arange(l.out_features)  # noqa: E731
        lin(new.enc_att, model.enc_att, keep_A, keep_E)
        lin(new.dec_att, model.dec_att, keep_A, keep_D)
        lin(new.full_att, model.full_att, all_out(model.full_att), keep_A)
        lin(new.init_h, model.init_h, keep_D, keep_E)
        lin(new.init_c, model.init_c, keep_D, keep_E)
        lin(new.f_beta, model.f_beta, keep_E, keep_D)
        lin(new.fc, model.fc, all_out(model.fc), keep_D)
        new.embedding.weight.copy_(model.embedding.weight[:, keep_M])
        gates = torch.cat([k * D_old + keep_D for k in range(4)])
        ih_cols = torch.cat([keep_M, M_old + keep_E])
        new.lstm.weight_ih.copy_(W_ih[gates][:, ih_cols])
        new.lstm.weight_hh.copy_(W_hh[gates][:, keep_D])
        new.lstm.bias_ih.copy_(model.lstm.bias_ih[gates])
        new.lstm.bias_hh.copy_(model.lstm.bias_hh[gates])
    new.kept = {"encoder": keep_E, "attention": keep_A, "embed": keep_M, "decoder": keep_D}
    return new


def prunable_weights(model: Captioner) -> Dict[str, torch.Tensor]:
    """Weight matrices/filters that magnitude pruning may zero (no biases, no BatchNorm)."""
    out = {}
    for mod_name, mod in model.named_modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear, nn.Embedding)):
            out[f"{mod_name}.weight"] = mod.weight
        elif isinstance(mod, nn.LSTMCell):
            out[f"{mod_name}.weight_ih"] = mod.weight_ih
            out[f"{mod_name}.weight_hh"] = mod.weight_hh
    return out


def magnitude_masks(model: Captioner, fraction: float = 0.1) -> Dict[str, torch.Tensor]:
    """Global magnitude pruning: masks that zero the `fraction` smallest |w| over all prunable weights
    (counted over the weights that are still non-zero)."""
    weights = prunable_weights(model)
    flat = torch.cat([w.detach().abs().flatten() for w in weights.values()])
    nonzero = flat[flat > 0]
    k = int(fraction * nonzero.numel())
    if k == 0:
        return {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
    threshold = torch.kthvalue(nonzero, k).values
    return {n: w.detach().abs() > threshold for n, w in weights.items()}


def apply_masks(model: Captioner, masks: Dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    with torch.no_grad():
        for n, m in masks.items():
            params[n].mul_(m)


def stats(model: Captioner) -> dict:
    folded = fold_batchnorm(copy.deepcopy(model))
    params, nonzero = count_parameters(folded)
    macs = count_macs(model.cfg)
    return {"parameters": params, "nonzero_parameters": nonzero, "macs": macs["total"],
            "macs_encode": macs["encode"], "macs_step": macs["step"],
            "config": model.cfg.to_dict()}


def fine_tune_one_epoch(model: Captioner, masks, data: str, vocab: List[str], lr: float, batch: int,
                        limit: int, log, teacher: Captioner = None, distill: float = 0.0,
                        temperature: float = 2.0, aux_weight: float = 0.0, captions: str = "one",
                        feature_distill: float = 0.0, extra_train: Sequence[str] = (),
                        resume: dict = None, save=None, save_every: int = 0, max_steps: int = 0) -> float:
    """One epoch of teacher forcing. With a teacher and distill > 0 the loss is
    (1 - distill) * cross-entropy + distill * T^2 * KL(teacher || student) at temperature T over the
    caption tokens (knowledge distillation from the unpruned model, same augmented images). With
    aux_weight > 0 the training-only region classifier of tools/train.py (category and colour of the object
    covering each encoder region) is added, with a fresh head for the pruned encoder width, so the encoder
    that lost 30% of its channels gets the same dense recognition signal it was trained with. With a
    teacher and feature_distill > 0, MSE between the pruned encoder's region features and the teacher's
    features for the kept channels (structured_prune's `kept`), divided by their variance. captions="all":
    the epoch visits every (image, caption) pair once; "complete": every pair whose caption states all the
    scene's objects, counts and object colours (train.is_complete; ~83% of the pairs), the captions that
    training with --complete-weight prefers; "one": one caption per image, drawn as in training.
    extra_train: more dataset directories whose train splits join `data`'s in the epoch (in that order;
    `limit` applies to each).
    resume: the fine-tune state a `save` call was given (batch, optimiser, random states, loss sums; the
    model already holds its weights); save(state): called every `save_every` batches; max_steps: stop
    after that many batches of this run, as a killed run would (testing).
    Returns the mean cross-entropy per token (None when max_steps stopped the epoch)."""
    from common import normalise
    from train import COLOUR_WORDS, augment, aux_loss, aux_targets, caption_table, is_complete, lr_at, sample_captions
    records, parts = [], []
    for root in [data, *extra_train]:
        recs = read_split(root, "train")
        imgs = load_images(root, "train", recs, model.cfg.image_size, log=log)
        if limit:  # the first `limit` images of each dataset
            recs, imgs = recs[:limit], imgs[:limit]
        records += recs
        parts.append(imgs)
    images = parts[0] if len(parts) == 1 else torch.cat(parts)
    del parts  # the per-dataset tensors: 1 GB per 20,000 scenes, copied into `images`
    index = {w: i for i, w in enumerate(vocab)}
    table, spans = caption_table(records, index, 20)
    gen = torch.Generator().manual_seed(1)
    if captions in ("all", "complete"):
        # One epoch = one pass over every (image, caption) pair, the COCO convention of the seed's
        # Show-Attend-Tell training: ~4.4 pairs per image here.
        id_mat, w_mat = spans
        if captions == "complete":
            from evaluate import dataset_categories
            cats = dataset_categories(data, records)
            w_mat = w_mat.clone()
            for i, rec in enumerate(records):
                for k, cap in enumerate(rec["captions"]):
                    if not is_complete(cap, rec, cats):
                        w_mat[i, k] = 0.0
        img_of, cap_of = (w_mat > 0).nonzero(as_tuple=True)
        order = torch.randperm(img_of.numel(), generator=gen)
        perm, choice_rows = img_of[order], id_mat[img_of, cap_of][order]
    else:
        perm = torch.randperm(len(records), generator=gen)
        choice_rows = sample_captions(spans, gen)[perm]
    N = perm.numel()
    log(f"fine-tune epoch: {len(records)} images from {1 + len(extra_train)} dataset(s), {N} captions, "
        f"{math.ceil(N / batch)} batches")
    params = [{"params": list(model.parameters())}]
    aux_head = None
    if aux_weight > 0:
        aux_cats = sorted({o["category"] for r in records for o in r["objects"]})
        aux_cat, aux_col = aux_targets(records, aux_cats, sorted(COLOUR_WORDS), model.cfg.grid, model.cfg.image_size)
        n_cat = len(aux_cats) + 1
        aux_head = nn.Linear(model.cfg.encoder_dim, n_cat + len(COLOUR_WORDS) + 1)
        params.append({"params": list(aux_head.parameters())})
    if teacher is not None and feature_distill > 0:
        kept_e = model.kept["encoder"]
        with torch.no_grad():
            t_var = float(teacher.encode(normalise(images[:256]))["feats"][..., kept_e].var())
    opt = torch.optim.Adam(params, lr=lr)
    model.train()
    nb = math.ceil(N / batch)
    tot, ntok, t0, b0 = 0.0, 0, time.time(), 0
    if resume is not None:
        if resume["batches"] != nb:
            raise ValueError(f"the partial prune was an epoch of {resume['batches']} batches, this one has {nb}")
        opt.load_state_dict(resume["optimizer"])
        if aux_head is not None:
            aux_head.load_state_dict(resume["aux_head"])
        gen.set_state(resume["gen"])
        torch.set_rng_state(resume["torch_rng"])
        tot, ntok, b0 = resume["tot"], resume["ntok"], resume["batch"]
        log(f"fine-tune epoch resumed at batch {b0 + 1}/{nb}")

    def state_before(b):
        return {"batch": b, "batches": nb, "optimizer": opt.state_dict(), "gen": gen.get_state(),
                "torch_rng": torch.get_rng_state(), "tot": tot, "ntok": ntok,
                "aux_head": aux_head.state_dict() if aux_head is not None else None}

    for b in range(b0, nb):
        if max_steps and b - b0 == max_steps:
            if save is not None:
                save(state_before(b))
            log(f"--max-steps reached: stopped before batch {b + 1}/{nb}")
            return None
        if save is not None and save_every and b > b0 and b % save_every == 0:
            save(state_before(b))
        idx = perm[b * batch:(b + 1) * batch]
        tokens = table[choice_rows[b * batch:(b + 1) * batch]]
        tokens = tokens[:, :int((tokens != PAD).sum(1).max())]
        for g in opt.param_groups:
            g["lr"] = lr_at(b, nb, lr, warmup=20)
        x = augment(images[idx], gen)
        state = model.encode(x)
        logits, _ = model.teacher_forcing(state, tokens)
        target = tokens[:, 1:]
        ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1), ignore_index=PAD)
        loss = ce
        if teacher is not None and distill > 0:
            with torch.no_grad():
                t_logits, _ = teacher(x, tokens)
            keep = (target != PAD).reshape(-1)
            s_log = F.log_softmax(logits.reshape(-1, logits.size(-1))[keep] / temperature, dim=1)
            t_prob = F.softmax(t_logits.reshape(-1, t_logits.size(-1))[keep] / temperature, dim=1)
            kd = F.kl_div(s_log, t_prob, reduction="batchmean") * temperature ** 2
            loss = (1 - distill) * ce + distill * kd
        if teacher is not None and feature_distill > 0:
            # the pruned encoder's channels are a subset of the original's: it should keep computing them
            with torch.no_grad():
                t_feats = teacher.encode(x)["feats"][..., kept_e]
            loss = loss + feature_distill * F.mse_loss(state["feats"], t_feats) / t_var
        if aux_head is not None:
            z = aux_head(state["feats"])
            loss = loss + aux_weight * aux_loss(z, n_cat, aux_cat[idx], aux_col[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        apply_masks(model, masks)
        n = int((target != PAD).sum())
        tot, ntok = tot + float(ce) * n, ntok + n
        if b % 25 == 0 or b == nb - 1:
            rate = (time.time() - t0) / (b - b0 + 1)
            log(f"fine-tune batch {b + 1}/{nb} loss {tot / ntok:.3f} ETA {rate * (nb - b - 1) / 60:.1f} min")
    model.eval()
    return tot / max(ntok, 1)


def importance_batches(data: str, vocab: List[str], image_size: int, n_images: int, batch: int):
    """The first `n_images` training images (no augmentation) with one caption each, drawn as in training
    (seeded), as (normalised images, tokens) batches for taylor_scores."""
    from common import normalise
    from train import caption_table, sample_captions
    records = read_split(data, "train")
    images = load_images(data, "train", records, image_size)[:n_images]
    records = records[:n_images]
    table, spans = caption_table(records, {w: i for i, w in enumerate(vocab)}, 20)
    rows = sample_captions(spans, torch.Generator().manual_seed(2))
    for i in range(0, len(records), batch):
        tokens = table[rows[i:i + batch]]
        yield normalise(images[i:i + batch]), tokens[:, :int((tokens != PAD).sum(1).max())]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="trained original (runs/original/best.pt)")
    ap.add_argument("--data", default=os.path.join(repo_root(), "data", "scenes"),
                    help="dataset: its train split for the importance scores and the fine-tune epoch, its val "
                         "split for the scores the file carries, its train images for INT8 calibration")
    ap.add_argument("--train-data", action="append", default=[], metavar="DIR",
                    help="another dataset whose train split joins the fine-tune epoch (repeatable), e.g. the "
                         "training scenes of the original's earlier legs")
    ap.add_argument("--ratio", type=float, default=0.3)
    ap.add_argument("--magnitude", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=2e-3,
                    help="fine-tune learning rate (measured on val: 2e-3 > 3e-3, 4e-3 > 5e-4)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--limit", type=int, default=0,
                    help="fine-tune on the first N images of each dataset (testing)")
    ap.add_argument("--checkpoint-out", default=os.path.join(repo_root(), "runs", "pruned", "pruned.pt"))
    ap.add_argument("--output", default=os.path.join(repo_root(), "pruning_results",
                                                     "Pruning_epoch_1_checkpoint.pt"))
    ap.add_argument("--original-file", default=os.path.join(repo_root(), "models",
                                                            "lightweight_captioning_model.pt"),
                    help="exported original, for the file size comparison")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--aux-weight", type=float, default=0.0,
                    help="weight of the region classification loss (tools/train.py) during the fine-tune epoch")
    ap.add_argument("--criterion", choices=("l1", "taylor"), default="taylor",
                    help="unit importance for the structured step: weight magnitude, or first-order Taylor "
                         "(activation x gradient of the caption loss on training images)")
    ap.add_argument("--importance-images", type=int, default=2048,
                    help="training images for the Taylor criterion")
    ap.add_argument("--epoch-captions", choices=("one", "all", "complete"), default="complete",
                    help="what the fine-tune epoch passes over: one caption per image (drawn as in training), "
                         "every (image, caption) pair, or every pair whose caption states all objects, "
                         "counts and colours")
    ap.add_argument("--feature-distill", type=float, default=1.0,
                    help="weight of a loss that keeps the pruned encoder's region features equal to the "
                         "original's kept channels (MSE / their variance)")
    ap.add_argument("--distill", type=float, default=0.0,
                    help="weight of knowledge distillation from the unpruned model during the fine-tune epoch")
    ap.add_argument("--allocation", choices=("uniform", "global"), default="global",
                    help="each conv layer loses the ratio of its own channels, or the ratio of all conv "
                         "channels goes by importance ranked across the layers (keep_counts)")
    ap.add_argument("--seed", type=int, default=0, help="seeds dropout (the data order has its own seed)")
    ap.add_argument("--resume", action="store_true",
                    help="continue the fine-tune epoch from <--checkpoint-out>.partial (the same other flags)")
    ap.add_argument("--save-every", type=int, default=200,
                    help="batches between saves of <--checkpoint-out>.partial (0: none)")
    ap.add_argument("--max-steps", type=int, default=0,
                    help="stop after this many fine-tune batches, leaving the partial checkpoint (testing)")
    args = ap.parse_args()
    for root in [args.data] + args.train_data:  # before minutes of work, not after
        if not os.path.isfile(os.path.join(root, "train.jsonl")):
            ap.error(f"{root}: no train.jsonl (generate it with tools/datagen/generate_scenes.py)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    def log(msg):
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    from export import calibration_images, export_model
    partial_path = args.checkpoint_out + ".partial"
    # what must be the same for a partial prune to continue (the rest only changes where files go)
    same = {k: getattr(args, k) for k in ("checkpoint", "data", "train_data", "ratio", "magnitude", "lr",
                                          "batch", "limit", "aux_weight", "criterion", "importance_images",
                                          "epoch_captions", "feature_distill", "distill", "allocation", "seed")}
    partial = None
    if os.path.exists(partial_path):
        if not args.resume:
            ap.error(f"{partial_path} holds a stopped prune: add --resume to continue it, or delete it to start "
                     f"again")
        partial = torch.load(partial_path, map_location="cpu")
        if partial["args"] != same:
            diff = sorted(k for k in same if partial["args"].get(k) != same[k])
            ap.error(f"{partial_path} was started with other settings ({', '.join(diff)}): run it with those, "
                     f"or delete it to start again")
    elif args.resume:
        log(f"--resume: no {partial_path}, starting fresh")
    ckpt = torch.load(args.checkpoint, map_location="cpu")
    original = Captioner(ModelConfig(**ckpt["config"]))
    original.load_state_dict(ckpt["model"])
    original.eval()
    before = stats(original)
    if partial is not None:  # the structured and magnitude steps' results, as the stopped run left them
        log(f"resuming {partial_path}: the structured and magnitude steps are not redone")
        pruned = Captioner(ModelConfig(**partial["config"]))
        pruned.load_state_dict(partial["model"])
        pruned.kept = partial["kept"]
        after_struct, masks, after_mag = partial["after_structured"], partial["masks"], partial["after_magnitude"]
    else:
        scores = None
        if args.criterion == "taylor":
            n_images = min(args.importance_images, args.limit) if args.limit else args.importance_images
            scores = taylor_scores(original, importance_batches(args.data, ckpt["vocab"], original.cfg.image_size,
                                                                n_images, args.batch))
            log(f"Taylor importance from {n_images} training images")
        pruned = structured_prune(original, args.ratio, scores, args.allocation)
        after_struct = stats(pruned)
        masks = magnitude_masks(pruned, args.magnitude)
        apply_masks(pruned, masks)
        after_mag = stats(pruned)
    o, n = original.cfg, pruned.cfg
    log(f"{args.allocation} allocation: conv channels {o.conv_channels} -> {n.conv_channels}; attention/embed/"
        f"decoder units {o.attention_dim}/{o.embed_dim}/{o.decoder_dim} -> {n.attention_dim}/{n.embed_dim}/"
        f"{n.decoder_dim}")
    for what in ("parameters", "macs"):
        if after_struct[what] > (1.0 - args.ratio) * before[what]:
            log(f"warning: the pruned model keeps {after_struct[what] / before[what]:.1%} of the {what}, more "
                f"than 1 - ratio; --allocation uniform keeps about (1 - ratio)^2 of both")
    log(f"params {before['parameters']} -> {after_struct['parameters']} (structured) ; non-zero "
        f"{after_mag['nonzero_parameters']} after magnitude ; MACs {before['macs']} -> {after_struct['macs']}")
    teacher = None
    if args.distill > 0 or args.feature_distill > 0:
        teacher = Captioner(ModelConfig(**ckpt["config"]))
        teacher.load_state_dict(ckpt["model"])
        teacher.eval()

    def save_partial(state):
        os.makedirs(os.path.dirname(os.path.abspath(partial_path)), exist_ok=True)
        tmp = f"{partial_path}.{os.getpid()}.tmp"
        torch.save(dict(state, model=pruned.state_dict(), config=pruned.cfg.to_dict(), kept=pruned.kept,
                        masks=masks, after_structured=after_struct, after_magnitude=after_mag, args=same), tmp)
        os.replace(tmp, partial_path)  # a kill while saving leaves the previous partial whole

    loss = fine_tune_one_epoch(pruned, masks, args.data, ckpt["vocab"], args.lr, args.batch, args.limit, log,
                               teacher=teacher, distill=args.distill, aux_weight=args.aux_weight,
                               captions=args.epoch_captions, feature_distill=args.feature_distill,
                               extra_train=args.train_data, resume=partial, save=save_partial,
                               save_every=args.save_every, max_steps=args.max_steps)
    if loss is None:
        log(f"saved {partial_path}; the same command with --resume continues it")
        return
    del pruned.kept  # bookkeeping of structured_prune, not part of the exported module
    final = stats(pruned)
    os.makedirs(os.path.dirname(args.checkpoint_out), exist_ok=True)
    training = dict(ckpt.get("training", {}))
    from evaluate import dataset_categories
    from train import data_description, validate
    training["data"] = data_description(args.data)
    training["fine_tune"] = {"epochs": 1, "lr": args.lr, "final_loss": loss, "distill": args.distill,
                              "train_data": [data_description(d) for d in [args.data] + args.train_data],
                              "aux_weight": args.aux_weight, "epoch_captions": args.epoch_captions,
                              "criterion": args.criterion, "feature_distill": args.feature_distill,
                              "allocation": args.allocation}
    # The scores a file carries are its own: the original's validation scores (inherited from the
    # checkpoint) are replaced by the pruned model's, measured the same way (greedy, val split).
    training["original_scores"] = training.pop("scores", None)
    val_records = read_split(args.data, "val")
    val_images = load_images(args.data, "val", val_records, pruned.cfg.image_size, log=log)
    categories = dataset_categories(args.data, read_split(args.data, "train"))
    training["scores"], examples = validate(pruned, val_images, val_records, categories, ckpt["vocab"])
    pruned.eval()  # validate() leaves the model in training mode
    log(f"pruned val: object recall {training['scores']['object_recall']:.3f}, BLEU-4 "
        f"{training['scores']['bleu4']:.3f}; e.g. {examples[0]!r}")
    detail = variant_detail(args.ratio, args.magnitude, args.allocation)
    torch.save({"model": pruned.state_dict(), "config": pruned.cfg.to_dict(), "vocab": ckpt["vocab"],
                "variant": "pruned", "variant_detail": detail, "training": training,
                "source_checkpoint": os.path.abspath(args.checkpoint)}, args.checkpoint_out)
    calibration, calibration_detail = calibration_images(args.data, pruned.cfg.image_size)
    summary = export_model(pruned, ckpt["vocab"], args.output, variant="pruned", variant_detail=detail,
                           training=training, calibration=calibration, calibration_detail=calibration_detail,
                           log=log)
    report = {"before": before, "after_structured": after_struct, "after_magnitude": after_mag,
              "final": final, "fine_tune_loss": loss,
              "ratios": {"parameters": final["parameters"] / before["parameters"],
                         "nonzero_parameters": final["nonzero_parameters"] / before["nonzero_parameters"],
                         "macs": final["macs"] / before["macs"]},
              "files": summary}
    if os.path.exists(args.original_file):
        report["files"]["original_bytes"] = os.path.getsize(args.original_file)
    with open(os.path.join(os.path.dirname(args.output), "pruning_report.json"), "w") as f:
        json.dump(report, f, indent=1)
    r = report["ratios"]
    log(f"pruned/original: params {r['parameters']:.3f}, non-zero {r['nonzero_parameters']:.3f}, "
        f"MACs {r['macs']:.3f}; wrote {args.output} and pruning_report.json")
    if os.path.exists(partial_path):
        os.remove(partial_path)  # the epoch is done and written out


if __name__ == "__main__":
    main()
