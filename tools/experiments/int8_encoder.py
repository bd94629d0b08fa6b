#!/usr/bin/python3
"""Experiment: would a statically quantized INT8 encoder make INT8 captions faster than FP32?

    /usr/bin/python3 tools/experiments/int8_encoder.py [MODEL.pt]

The shipped INT8 files are dynamic INT8 (Linear + LSTMCell); the convolutional encoder stays FP32. This
quantizes the encoder of the FP32 file statically (QuantStub, conv+ReLU fused, calibrated on 16 random
images: a speed probe, not an accuracy-grade calibration) for each quantized engine this LibTorch has, and
times it against the frozen + optimize_for_inference FP32 encoder edgecap runs, interleaved in one
process, 1 thread, median of 60. Result quoted in docs/BENCHMARKS.md.
"""
import copy
import os
import statistics
import sys
import time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import torch, torch.nn as nn
torch.set_num_threads(1)
from edgecap_model import Captioner, ModelConfig, fold_batchnorm
import json, zipfile
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "models", "lightweight_captioning_model.pt")
sm = torch.jit.load(path)
meta = json.loads([zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist() if n.endswith("edgecap.json")][0])
a = meta["architecture"]
cfg = ModelConfig(vocab_size=len(meta["vocab"]), conv_channels=a["conv_channels"], conv_strides=a["conv_strides"],
                  embed_dim=a["embed_dim"], attention_dim=a["attention_dim"], decoder_dim=a["decoder_dim"])
m = fold_batchnorm(Captioner(cfg)).eval()
m.load_state_dict(sm.state_dict())
enc = m.encoder  # Sequential of Sequential(conv, Identity, ReLU)
for eng in ["qnnpack", "onednn"]:
    torch.backends.quantized.engine = eng
    class Q(nn.Module):
        def __init__(s, e):
            super().__init__(); s.q = torch.ao.quantization.QuantStub(); s.e = copy.deepcopy(e); s.dq = torch.ao.quantization.DeQuantStub()
        def forward(s, x): return s.dq(s.e(s.q(x)))
    q = Q(enc).eval()
    for blk in q.e:
        torch.ao.quantization.fuse_modules(blk, [["0", "2"]], inplace=True)
    q.qconfig = torch.ao.quantization.get_default_qconfig(eng)
    torch.ao.quantization.prepare(q, inplace=True)
    x = torch.randn(16, 3, 128, 128)
    with torch.no_grad(): q(x)
    torch.ao.quantization.convert(q, inplace=True)
    qs = torch.jit.freeze(torch.jit.script(q))
    fs = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(copy.deepcopy(enc).eval())))
    x1 = torch.randn(1, 3, 128, 128)
    with torch.inference_mode():
        for _ in range(5): qs(x1); fs(x1)
        tq, tf = [], []
        for _ in range(60):
            t = time.perf_counter(); qs(x1); tq.append(time.perf_counter() - t)
            t = time.perf_counter(); fs(x1); tf.append(time.perf_counter() - t)
        err = (qs(x1) - fs(x1)).abs().max().item()
    print(eng, "int8 enc median ms", round(statistics.median(tq)*1e3, 3), "fp32 opt", round(statistics.median(tf)*1e3, 3), "max err", err, flush=True)
