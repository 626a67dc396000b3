"""Speed of the custom sigmoid Elman layer (rnnlm_torch.cells.SigmoidRNN: hand-written BPTT, one
input product for all T steps, a TorchScript loop) next to torch.nn.RNN (tanh) at the same size:
forward + backward of one layer over one segment, T = 35, B = 20, E = H = 200, on the CPU.
Alternates the two, 7 rounds of 30 segments, and prints the medians.

    OMP_WAIT_POLICY=PASSIVE PYTHONPATH=python python3 python/scripts/cell_speed.py [THREADS]
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from rnnlm_torch.cells import SigmoidRNN

T, B, H = 35, 20, 200


def main(threads: int) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.randn(T, B, H, requires_grad=True)
    h0 = torch.zeros(1, B, H)
    layers = {"sigmoid (rnnlm_torch SigmoidRNN)": SigmoidRNN(H, H), "tanh (torch.nn.RNN)": torch.nn.RNN(H, H)}

    def segment(m: torch.nn.Module) -> None:
        out, _ = m(x, h0)
        out.sum().backward()

    for m in layers.values():
        for _ in range(20):  # warm-up, TorchScript's profiling runs included
            segment(m)
    times = {name: [] for name in layers}
    for _ in range(7):
        for name, m in layers.items():
            t = time.perf_counter()
            for _ in range(30):
                segment(m)
            times[name].append((time.perf_counter() - t) / 30)
    for name, ts in times.items():
        s = statistics.median(ts)
        print(f"{name:34s} {1000 * s:6.2f} ms per segment (forward + backward), {T * B / s:8.0f} tokens/s, {threads} thread(s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
