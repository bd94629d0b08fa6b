#!/usr/bin/python3
"""Write the tiny, deterministic test models the C++ tests load (no training involved).

    /usr/bin/python3 tools/make_test_model.py                 # tests/data/tiny_model.pt + .int8.pt
    /usr/bin/python3 tools/make_test_model.py --broken all    # tests/data/broken_<kind>.pt for fault tests

The tiny model is the real architecture (tools/edgecap_model.py) with tiny dimensions, random seeded
weights, a 14-word vocabulary and a 32x32 input. Its captions are meaningless; it exists so that loading,
metadata parsing, preprocessing and the search can be tested without a trained model.

Broken kinds (each violates one rule of docs/MODEL_CONTRACT.md):
  no-step         module exports encode but no step
  no-metadata     valid module, no edgecap.json extra file
  bad-json        edgecap.json is not valid JSON
  vocab-mismatch  metadata vocab has one word fewer than the model's output layer
  wrong-shape     step returns log-probs laid out [V, B] instead of [B, V]
"""
import argparse
import copy
import json
import os
import sys
from typing import Dict, Tuple

import torch
import torch.nn as nn
from torch import Tensor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import make_metadata, save_scripted  # noqa: E402
from edgecap_model import Captioner, ModelConfig, count_macs, count_parameters, fold_batchnorm  # noqa: E402
from export import export_model  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_VOCAB = ["<pad>", "<start>", "<end>", "<unk>", "a", "two", "dog", "dogs", "cat", "red", "on",
              "the", "grass", "car"]
BROKEN_KINDS = ["no-step", "no-metadata", "bad-json", "vocab-mismatch", "wrong-shape"]


def tiny_config(vocab_size: int = len(TEST_VOCAB)) -> ModelConfig:
    return ModelConfig(vocab_size=vocab_size, conv_channels=[4, 8], conv_strides=[2, 2], embed_dim=8,
                       attention_dim=8, decoder_dim=16, dropout=0.0, image_size=32)


def tiny_model(seed: int = 1234) -> Captioner:
    torch.manual_seed(seed)
    model = Captioner(tiny_config())
    # give BatchNorm non-trivial statistics so BN folding is exercised
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    return model.eval()


TEST_TRAINING = {"data": "none: random seeded weights (tools/make_test_model.py)", "epochs": 0, "scores": {}}


def tiny_metadata(model: Captioner, vocab=TEST_VOCAB) -> dict:
    params, nonzero = count_parameters(fold_batchnorm(copy.deepcopy(model)))
    return make_metadata(vocab=vocab, cfg=model.cfg, variant="test",
                         variant_detail="tiny random model for tests, captions are meaningless",
                         precision="fp32", parameters=params, nonzero_parameters=nonzero,
                         macs=count_macs(model.cfg)["total"], training=TEST_TRAINING)


class EncodeOnly(nn.Module):
    """Has encode but no step."""

    def __init__(self, inner: Captioner):
        super().__init__()
        self.inner = inner

    @torch.jit.export
    def encode(self, image: Tensor) -> Dict[str, Tensor]:
        return self.inner.encode(image)

    def forward(self, image: Tensor) -> Dict[str, Tensor]:
        return self.encode(image)


class TransposedStep(nn.Module):
    """step returns [V, B] log-probs."""

    def __init__(self, inner: Captioner):
        super().__init__()
        self.inner = inner

    @torch.jit.export
    def encode(self, image: Tensor) -> Dict[str, Tensor]:
        return self.inner.encode(image)

    @torch.jit.export
    def step(self, tokens: Tensor, state: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, Tensor]]:
        logp, state = self.inner.step(tokens, state)
        return logp.t().contiguous(), state

    def forward(self, image: Tensor) -> Dict[str, Tensor]:
        return self.encode(image)


def write_broken(kind: str, out_dir: str) -> str:
    model = fold_batchnorm(tiny_model())
    meta = tiny_metadata(tiny_model())
    meta["variant_detail"] = f"deliberately broken ({kind}) for fault tests"
    path = os.path.join(out_dir, f"broken_{kind}.pt")
    if kind == "no-step":
        save_scripted(torch.jit.script(EncodeOnly(model)), path, meta)
    elif kind == "no-metadata":
        save_scripted(torch.jit.script(model), path, None)
    elif kind == "bad-json":
        text = json.dumps(meta)
        save_scripted(torch.jit.script(model), path, None, raw_metadata=text[: len(text) // 2] + " ,,}")
    elif kind == "vocab-mismatch":
        meta["vocab"] = meta["vocab"][:-1]
        save_scripted(torch.jit.script(model), path, meta)
    elif kind == "wrong-shape":
        save_scripted(torch.jit.script(TransposedStep(model)), path, meta)
    else:
        raise SystemExit(f"unknown broken kind {kind!r}; choose from {', '.join(BROKEN_KINDS)} or all")
    return path


def write_tiny(out_path: str, int8: bool = True, log=print) -> dict:
    model = tiny_model()
    return export_model(model, TEST_VOCAB, out_path, variant="test",
                        variant_detail="tiny random model for tests, captions are meaningless",
                        training=TEST_TRAINING, int8=int8, log=log)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default=os.path.join(REPO, "tests", "data"))
    ap.add_argument("--broken", choices=BROKEN_KINDS + ["all"], help="write broken_<kind>.pt instead")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    if args.broken:
        for kind in BROKEN_KINDS if args.broken == "all" else [args.broken]:
            print("wrote", write_broken(kind, args.out_dir))
    else:
        write_tiny(os.path.join(args.out_dir, "tiny_model.pt"))


if __name__ == "__main__":
    main()
