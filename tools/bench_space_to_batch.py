#!/usr/bin/env python3
"""Time the shipped encoder's four dilated blocks two ways: as dilated 3x3 convolutions on the 16x16 grid,
and rewritten as space-to-batch (the same weights run on the four 8x8 phases of the grid, dilation 1).

    /usr/bin/python3 tools/bench_space_to_batch.py [--runs 200] [--threads 1]

The shapes are those of the shipped original's blocks 7-10 (128 -> 192 -> 192 -> 192 -> 192 channels, 3x3,
dilation 2, ReLU); the weights are random, which does not change the time. Both modules are frozen and
oneDNN-optimised (torch.jit.optimize_for_inference, as edgecap does at load), their outputs are checked to
be equal, and the calls alternate so that machine load hits both alike. Prints the median of --runs calls.
"""
import argparse
import statistics
import time

import torch

CHANNELS = [128, 192, 192, 192, 192]
GRID = 16


class Dilated(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = torch.nn.ModuleList(torch.nn.Conv2d(i, o, 3, padding=2, dilation=2)
                                         for i, o in zip(CHANNELS, CHANNELS[1:]))

    def forward(self, x):
        for conv in self.convs:
            x = torch.relu(conv(x))
        return x


class SpaceToBatch(torch.nn.Module):
    """The same convolutions with dilation 1 on the four phases of the grid, stacked on the batch dim."""

    def __init__(self, dilated: Dilated):
        super().__init__()
        self.convs = torch.nn.ModuleList(torch.nn.Conv2d(c.in_channels, c.out_channels, 3, padding=1)
                                         for c in dilated.convs)
        for mine, theirs in zip(self.convs, dilated.convs):
            mine.load_state_dict(theirs.state_dict())

    def forward(self, x):
        n, c, h, w = x.shape
        x = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2, 4).reshape(n * 4, c, h // 2, w // 2)
        for conv in self.convs:
            x = torch.relu(conv(x))
        c = x.shape[1]
        return x.reshape(n, 2, 2, c, h // 2, w // 2).permute(0, 3, 4, 1, 5, 2).reshape(n, c, h, w)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dilated = Dilated().eval()
    s2b = SpaceToBatch(dilated).eval()
    x = torch.randn(1, CHANNELS[0], GRID, GRID)
    with torch.no_grad():
        diff = (dilated(x) - s2b(x)).abs().max().item()
        if diff > 1e-4:
            raise SystemExit(f"the two forms differ by {diff:.3g}: the rewrite is wrong")
        modules = {name: torch.jit.optimize_for_inference(torch.jit.script(m))
                   for name, m in (("dilated", dilated), ("space-to-batch", s2b))}
        for m in modules.values():
            for _ in range(20):
                m(x)
        times = {name: [] for name in modules}
        for _ in range(args.runs):
            for name, m in modules.items():
                t = time.perf_counter()
                m(x)
                times[name].append(time.perf_counter() - t)
    print(f"max |difference| {diff:.3g}; {args.runs} interleaved calls, {args.threads} thread(s)")
    for name, t in times.items():
        print(f"{name:15s} median {1000 * statistics.median(t):.3f} ms")


if __name__ == "__main__":
    main()
