"""Optimizers and clipping with rnnlm's update formulas (src/train/optimizer.ts, src/kernels/ref.ts).

The loss they see is the mean over a segment's T·B predicted tokens. For each parameter w with
gradient g, at learning rate lr and update count t (1 after the first step):

    sgd       w -= lr · g
    adagrad   s += g²;  w -= lr · g / (√s + ε)                              ε = 1e-10
    adam      m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²                     β1 = 0.9, β2 = 0.999
              w -= lr · (m / (1-β1^t)) / (√(v / (1-β2^t)) + ε)               ε = 1e-8, after the √

Clipping is separate and applies to every optimizer alike: the global L2 norm over all
parameters (each once: a tied weight counts once), summed in float64; when it exceeds max_norm
every gradient is scaled by max_norm / norm (no ε, unlike torch.nn.utils.clip_grad_norm_).
"""

from __future__ import annotations

import math
from typing import Dict, List, Sequence

import torch
from torch import Tensor

from .errors import ConfigError

OPTIMIZERS = ("sgd", "adagrad", "adam")
#: (β1, β2, ε) of each optimizer, as DEFAULT_HYPER.
HYPER = {"sgd": (0.0, 0.0, 0.0), "adagrad": (0.0, 0.0, 1e-10), "adam": (0.9, 0.999, 1e-8)}


class Optimizer:
    """One of sgd / adagrad / adam over a list of parameters; ``state`` holds its moment buffers."""

    def __init__(self, name: str, params: Sequence[Tensor]) -> None:
        if name not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
        self.name = name
        self.params: List[Tensor] = list(params)
        self.beta1, self.beta2, self.eps = HYPER[name]
        zeros = lambda: [torch.zeros_like(p, memory_format=torch.contiguous_format) for p in self.params]  # noqa: E731
        self.state: Dict[str, List[Tensor]] = {}
        if name == "adagrad":
            self.state["s"] = zeros()
        elif name == "adam":
            self.state["m"] = zeros()
            self.state["v"] = zeros()
        self.t = 0  # updates taken (Adam's bias correction)

    @torch.no_grad()
    def step(self, lr: float) -> None:
        """One update of every parameter from its .grad at learning rate lr."""
        self.t += 1
        for i, w in enumerate(self.params):
            g = w.grad
            if g is None:
                continue
            if self.name == "sgd":
                w.add_(g, alpha=-lr)
            elif self.name == "adagrad":
                s = self.state["s"][i]
                s.addcmul_(g, g)
                w.addcdiv_(g, s.sqrt().add_(self.eps), value=-lr)
            else:
                m, v = self.state["m"][i], self.state["v"][i]
                c1 = 1 - self.beta1 ** self.t
                c2 = 1 - self.beta2 ** self.t
                m.mul_(self.beta1).add_(g, alpha=1 - self.beta1)
                v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
                w.addcdiv_(m / c1, (v / c2).sqrt_().add_(self.eps), value=-lr)


@torch.no_grad()
def clip_grad_norm(params: Sequence[Tensor], max_norm: float) -> float:
    """Scale the gradients so that their global L2 norm is at most max_norm (0 = no clipping).
    Returns the norm before clipping (NaN / inf pass through, for the caller to report)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    norm = math.sqrt(float(torch.stack([g.double().square().sum() for g in grads]).sum()))
    if max_norm > 0 and norm > max_norm:
        for g in grads:
            g.mul_(max_norm / norm)
    return norm
