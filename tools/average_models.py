#!/usr/bin/env python3
"""A training checkpoint whose weights are the (weighted) average of several exported FP32 files of the same
architecture: a "model soup" (Wortsman et al. 2022) of originals that descend from one another, e.g. the
shipped original and a leg trained on from it.

The files hold BatchNorm folded into the convs, so the average is taken over the folded weights (the
interpolation of the networks the files compute, with nothing to re-estimate), then BatchNorm is unfolded
as tools/recover_checkpoint.py does (running statistics measured on --data training images, set so that eval
mode computes exactly the averaged weights). Write the file with tools/export.py, which checks it again:

    /usr/bin/python3 tools/average_models.py runs/soup/best.pt models/lightweight_captioning_model.pt \\
        runs/leg/original.pt --data data/scenes_v1.9z13
    /usr/bin/python3 tools/export.py runs/soup/best.pt runs/soup/original.pt --data data/scenes_v1.9z13

Files of different architectures or vocabularies are refused (an average of unrelated weights is not a
model), as are INT8 files (average the FP32 files, then quantize the result).
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import load_scripted  # noqa: E402
from export import ExportMismatch, calibration_images  # noqa: E402
from recover_checkpoint import TOLERANCE, sha256, unfold_checked, write_checkpoint  # noqa: E402
from reference_pipeline import load_eager  # noqa: E402


def average(paths: list, weights: list, images: torch.Tensor) -> dict:
    """The checkpoint dict of the weighted average of the FP32 files `paths` (weights sum to 1)."""
    if len(paths) < 2 or len(paths) != len(weights):
        raise ValueError("need two or more files and one weight per file")
    if abs(sum(weights) - 1.0) > 1e-6 or min(weights) < 0:
        raise ValueError(f"weights {weights} must be >= 0 and sum to 1")
    metas = [load_scripted(p)[1] for p in paths]
    for p, meta in zip(paths, metas):
        if meta.get("precision", "fp32") != "fp32":
            raise ValueError(f"{p}: precision {meta.get('precision')}; average the FP32 files")
        for key in ("architecture", "vocab", "input"):
            if meta.get(key) != metas[0].get(key):
                raise ValueError(f"{p}: {key} differs from {paths[0]}'s; only files of one architecture and "
                                 f"vocabulary can be averaged")
    models = []
    for p, meta in zip(paths, metas):
        try:
            models.append(load_eager(p, meta)[0])
        except RuntimeError as exc:  # the file's tensors do not fit the architecture its metadata states
            raise ValueError(f"{p}: its weights do not match its metadata's architecture ({exc})") from None
    states = [m.state_dict() for m in models]
    avg = {k: sum(w * s[k].double() for w, s in zip(weights, states)).to(states[0][k].dtype)
           for k in states[0]}
    soup = models[0]
    soup.load_state_dict(avg, strict=True)
    model = unfold_checked(soup, soup, images, "averaged model, BatchNorm unfolded")
    meta = metas[0]
    training = {"averaged_from": [{"path": os.path.relpath(p), "sha256": sha256(p), "weight": w,
                                   "training": m.get("training")}
                                  for p, w, m in zip(paths, weights, metas)]}
    return {"model": model.state_dict(), "config": model.cfg.to_dict(), "vocab": list(meta["vocab"]),
            "epoch": None, "variant": meta.get("variant"),
            "variant_detail": f"weight average of {len(paths)} originals", "training": training,
            "averaged_from": training["averaged_from"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("output", help="checkpoint to write (e.g. runs/soup/best.pt)")
    ap.add_argument("models", nargs="+", help="FP32 edgecap TorchScript files of one architecture")
    ap.add_argument("--weights", help="comma-separated weights, one per file, summing to 1 (default: equal)")
    ap.add_argument("--data", required=True, help="dataset whose training images set the BatchNorm statistics")
    ap.add_argument("--images", type=int, default=512, help="training images for the BatchNorm statistics")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    n = len(args.models)
    try:
        weights = [float(w) for w in args.weights.split(",")] if args.weights else [1.0 / n] * n
        _, meta = load_scripted(args.models[0])
        images, detail = calibration_images(args.data, int(meta["input"]["height"]), args.images)
        ckpt = average(args.models, weights, images)
    except (ExportMismatch, ValueError, OSError) as exc:
        sys.exit(f"average_models: {exc}")
    write_checkpoint(ckpt, args.output)
    print(f"{args.output}: average of {n} files (weights {', '.join(f'{w:g}' for w in weights)}), BatchNorm "
          f"statistics from {detail}; matches the averaged weights within {TOLERANCE:g}")


if __name__ == "__main__":
    main()
