#!/usr/bin/env python3
"""A training checkpoint (the format tools/train.py writes and --init, tools/prune.py and tools/export.py read)
from an exported FP32 TorchScript file, for when the training run that made the file is gone (runs/ is local
and not committed).

The file holds BatchNorm folded into the convs; the checkpoint gets its BatchNorm back
(edgecap_model.unfold_batchnorm): running statistics measured on training images, scale and shift set so that
eval mode computes exactly what the file computes. The recovered model is checked against the file (max
|d log-prob| over 8 training images x 5 greedy steps <= 1e-4, else nothing is written).

    /usr/bin/python3 tools/recover_checkpoint.py models/lightweight_captioning_model.pt \\
        runs/shipped/best.pt --data data/scenes_v1.7g4

What cannot come back: the optimiser state and the exact BatchNorm running averages of the run (those here are
measured on --images training images; in eval mode they cancel out, in training mode batch statistics rule).
"""
import argparse
import hashlib
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import load_scripted  # noqa: E402
from edgecap_model import fold_batchnorm, unfold_batchnorm  # noqa: E402
from export import ExportMismatch, calibration_images, verify  # noqa: E402
from reference_pipeline import load_eager  # noqa: E402

TOLERANCE = 1e-4


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def unfold_checked(folded, reference, images: torch.Tensor, what: str):
    """unfold_batchnorm(folded, images), checked against `reference` (a module that computes what `folded`
    does) to TOLERANCE; the check runs on a folded-again copy too, so a checkpoint that exports differently
    is caught as well. Raises ExportMismatch."""
    model = unfold_batchnorm(folded, images)
    verify(model, reference, images[:8], TOLERANCE, what)
    verify(fold_batchnorm(unfold_batchnorm(folded, images)), reference, images[:8], TOLERANCE,
           f"{what}, folded again")
    return model


def recover(model_path: str, images: torch.Tensor) -> dict:
    """The checkpoint dict of `model_path` (an FP32 edgecap TorchScript file), verified against the file."""
    scripted, meta = load_scripted(model_path)
    if meta.get("precision", "fp32") != "fp32":
        raise ValueError(f"{model_path}: precision {meta.get('precision')}; recover from the FP32 file")
    folded, _ = load_eager(model_path, meta)
    model = unfold_checked(folded, scripted, images, f"{model_path}: recovered model")
    training = dict(meta.get("training") or {})
    return {"model": model.state_dict(), "config": model.cfg.to_dict(), "vocab": list(meta["vocab"]),
            "epoch": training.get("epochs"), "variant": meta.get("variant"),
            "variant_detail": meta.get("variant_detail"), "training": training,
            "recovered_from": {"path": os.path.relpath(model_path), "sha256": sha256(model_path),
                               "batchnorm_statistics_images": int(images.size(0))}}


def write_checkpoint(ckpt: dict, path: str) -> None:
    """Save atomically: a crash part-way leaves no half-written checkpoint under `path`."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    torch.save(ckpt, tmp)
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="FP32 edgecap TorchScript file")
    ap.add_argument("output", help="checkpoint to write (e.g. runs/NAME/best.pt)")
    ap.add_argument("--data", required=True, help="dataset whose training images set the BatchNorm statistics")
    ap.add_argument("--images", type=int, default=512, help="training images for the BatchNorm statistics")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    try:
        _, meta = load_scripted(args.model)
        images, detail = calibration_images(args.data, int(meta["input"]["height"]), args.images)
        ckpt = recover(args.model, images)
    except (ExportMismatch, ValueError, OSError) as exc:
        sys.exit(f"recover_checkpoint: {exc}")
    write_checkpoint(ckpt, args.output)
    print(f"{args.output}: {meta['variant']} model of {args.model} ({sum(v.numel() for v in ckpt['model'].values())} "
          f"tensor elements), BatchNorm statistics from {detail}; matches the file within {TOLERANCE:g}")


if __name__ == "__main__":
    main()
