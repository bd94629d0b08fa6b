#!/usr/bin/python3
"""Reference captions of the tiny test model from the Python side (tools/common.py), for the C++ parity test.

    /usr/bin/python3 tests/inference/make_golden.py   # writes tests/inference/data/tiny_golden.json

Run it again whenever tests/data/tiny_model.pt is regenerated. The images are computed by a formula that
captioner_test.cpp repeats, at the model's own 32x32 so that no resize filter takes part: the test
compares preprocessing (channel order, normalisation, layout) and the search, not two resamplers.
"""
import json
import os
import sys

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
from common import beam_decode, greedy_decode, load_scripted, normalise  # noqa: E402

END = 2


def pattern(kind: int, size: int = 32) -> np.ndarray:
    """RGB uint8 [3, H, W]; captioner_test.cpp golden_frame() builds the same pixels in BGR."""
    y, x = np.mgrid[0:size, 0:size]
    r = (x * y * (kind + 1)) % 256
    g = (5 * y + 40 * kind) % 256
    b = (4 * x + 7 * kind * y) % 256
    return np.stack([r, g, b]).astype(np.uint8)


def main() -> None:
    torch.set_num_threads(1)
    module, meta = load_scripted(os.path.join(REPO, "tests", "data", "tiny_model.pt"))
    cases = []
    for kind in range(4):
        x = normalise(torch.from_numpy(pattern(kind)).unsqueeze(0))
        greedy = greedy_decode(module, x, meta["max_caption_length"])[0]
        beam = beam_decode(module, x, 3, meta["max_caption_length"])
        strip = lambda ids: ids[: ids.index(END)] if END in ids else ids  # noqa: E731
        # Log-probs of the greedy path: the tiny random model's argmax rarely moves, its log-probs do (a
        # swapped channel order shifts them by ~5e-3), so they are what catches a preprocessing change.
        log_probs = []
        with torch.no_grad():
            state = module.encode(x)
            token = torch.tensor([meta["special_tokens"]["start"]])
            for t in greedy:
                logp, state = module.step(token, state)
                log_probs.append(float(logp[0, t]))
                token = torch.tensor([t])
        cases.append({"pattern": kind, "greedy": strip(greedy), "greedy_log_probs": log_probs,
                      "beam3": strip(beam)})
    out = os.path.join(REPO, "tests", "inference", "data", "tiny_golden.json")
    with open(out, "w") as f:
        json.dump({"model": "tests/data/tiny_model.pt", "cases": cases}, f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
