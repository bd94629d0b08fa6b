#!/usr/bin/python3
"""Export a training checkpoint to the edgecap TorchScript files (FP32 + INT8 sibling).

    /usr/bin/python3 tools/export.py runs/original/best.pt models/lightweight_captioning_model.pt --data DATA
    /usr/bin/python3 tools/export.py pruning_results/pruned_ckpt.pt pruning_results/Pruning_epoch_1_checkpoint.pt --data DATA

The INT8 sibling (edgecap_model.quantize_int8, onednn engine): static INT8 encoder calibrated on 256
training images of DATA, dynamic INT8 Linear and LSTMCell.

Before writing, the scripted module is compared with the eager model (max abs difference of the
log-probs over a few images and steps); the export fails when they differ by more than the tolerance.
"""
import argparse
import copy
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import START, make_metadata, save_scripted  # noqa: E402
from edgecap_model import (INT8_DETAIL, INT8_ENGINE, Captioner, ModelConfig, count_macs,  # noqa: E402
                           count_parameters, fold_batchnorm, quantize_int8)

FP32_TOLERANCE = 1e-4
INT8_TOLERANCE = 0.5  # int8 vs its own eager quantized model: same kernels, so this is generous


class ExportMismatch(RuntimeError):
    pass


def load_checkpoint(path: str):
    ckpt = torch.load(path, map_location="cpu")
    cfg = ModelConfig(**ckpt["config"])
    model = Captioner(cfg)
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, ckpt


def compare(eager: nn.Module, scripted, images: torch.Tensor, steps: int = 5) -> float:
    """Max abs difference of the log-probs of `steps` greedy steps (tokens chosen by the eager model)."""
    worst = 0.0
    with torch.no_grad():
        s_e = eager.encode(images)
        s_s = scripted.encode(images)
        tokens = torch.full((images.size(0),), START, dtype=torch.long)
        for _ in range(steps):
            lp_e, s_e = eager.step(tokens, s_e)
            lp_s, s_s = scripted.step(tokens, s_s)
            worst = max(worst, float((lp_e - lp_s).abs().max()))
            tokens = lp_e.argmax(1)
    return worst


def verify(eager: nn.Module, scripted, images: torch.Tensor, tolerance: float, what: str) -> float:
    diff = compare(eager, scripted, images)
    if not diff <= tolerance:  # also catches NaN
        raise ExportMismatch(f"{what}: TorchScript differs from eager model: max |dlogp| = {diff:.3g} "
                             f"> {tolerance}")
    return diff


def sample_images(cfg: ModelConfig, n: int = 4, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, cfg.image_size, cfg.image_size, generator=g)


def export_model(model: Captioner, vocab, out_path: str, *, variant: str, variant_detail: str,
                 training: dict, images: torch.Tensor = None, int8: bool = True,
                 calibration: torch.Tensor = None, calibration_detail: str = "", log=print) -> dict:
    """Write out_path (FP32, BN folded) and, when int8, the *.int8.pt sibling. Returns a summary.

    calibration: normalised training images [N, 3, H, W] for the INT8 encoder's activation ranges
    (calibration_images() reads them from a dataset); without them the verification images are used,
    which only suits the random-weight test models."""
    cfg = model.cfg
    model = copy.deepcopy(model).eval()
    macs = count_macs(cfg)["total"]
    if images is None:
        images = sample_images(cfg)
    reference = copy.deepcopy(model).eval()
    folded = fold_batchnorm(model)
    params, nonzero = count_parameters(folded)  # what the file holds (BatchNorm folded into the convs)
    scripted = torch.jit.script(folded)
    diff = verify(reference, scripted, images, FP32_TOLERANCE, out_path)
    meta = make_metadata(vocab=vocab, cfg=cfg, variant=variant, variant_detail=variant_detail,
                         precision="fp32", parameters=params, nonzero_parameters=nonzero, macs=macs,
                         training=training)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    save_scripted(scripted, out_path, meta)
    summary = {"fp32": {"path": out_path, "max_abs_diff": diff, "bytes": os.path.getsize(out_path)}}
    log(f"wrote {out_path} ({summary['fp32']['bytes']} bytes, eager vs script max diff {diff:.2e})")
    if int8:
        if calibration is None:
            calibration, calibration_detail = images, f"{images.size(0)} random images (test model only)"
        q_eager = quantize_int8(folded, calibration)
        q_script = torch.jit.script(q_eager)
        qdiff = verify(q_eager, q_script, images, INT8_TOLERANCE, out_path + " int8")
        fp_vs_q = compare(reference, q_script, images)
        q_path = int8_path(out_path)
        q_meta = dict(meta, precision="int8", quantized_engine=INT8_ENGINE,
                      variant_detail=meta["variant_detail"] + "; " + INT8_DETAIL,
                      int8_calibration=calibration_detail)
        save_scripted(q_script, q_path, q_meta)
        summary["int8"] = {"path": q_path, "max_abs_diff": qdiff, "fp32_vs_int8_max_abs_diff": fp_vs_q,
                           "bytes": os.path.getsize(q_path)}
        log(f"wrote {q_path} ({summary['int8']['bytes']} bytes, eager vs script max diff {qdiff:.2e}, "
            f"fp32 vs int8 {fp_vs_q:.2e})")
    summary.update(parameters=params, nonzero_parameters=nonzero, macs=macs)
    return summary


def calibration_images(data: str, size: int, count: int = 256, seed: int = 0):
    """(normalised images [count, 3, size, size], description): a seeded random sample of the training
    split, the images the INT8 encoder's activation ranges are calibrated on."""
    from common import load_images, normalise, read_split
    records = read_split(data, "train")
    images = load_images(data, "train", records, size, log=lambda *_: None)
    pick = torch.randperm(images.size(0), generator=torch.Generator().manual_seed(seed))[:count]
    return normalise(images[pick]), f"{len(pick)} training images of {data} (seed {seed})"


def int8_path(path: str) -> str:
    root, ext = os.path.splitext(path)
    return root + ".int8" + ext


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="training checkpoint (train.py / prune.py output)")
    ap.add_argument("output", help="FP32 TorchScript file; the INT8 sibling gets .int8.pt")
    ap.add_argument("--variant", default=None, help="original | pruned (default: from checkpoint)")
    ap.add_argument("--no-int8", action="store_true")
    ap.add_argument("--data", help="dataset the checkpoint was trained on (described in the metadata)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, ckpt = load_checkpoint(args.checkpoint)
    variant = args.variant or ckpt.get("variant", "original")
    detail = ckpt.get("variant_detail", "trained from scratch")
    training = dict(ckpt.get("training", {}))
    if args.data:
        from train import data_description
        training["data"] = data_description(args.data)
    calibration, calibration_detail = None, ""
    if not args.no_int8:
        if not args.data:
            ap.error("the INT8 sibling's encoder is calibrated on training images: give --data "
                     "(or --no-int8)")
        calibration, calibration_detail = calibration_images(args.data, model.cfg.image_size)
    export_model(model, ckpt["vocab"], args.output, variant=variant, variant_detail=detail,
                 training=training, int8=not args.no_int8, calibration=calibration,
                 calibration_detail=calibration_detail)


if __name__ == "__main__":
    main()
