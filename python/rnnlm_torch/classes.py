"""Word classes for the class-factored softmax: rnnlm's src/nn/classes.ts ``assignClasses``, ported
exactly (same order of floating-point operations, so the same map on any corpus).

Mikolov's frequency binning (rnnlm toolkit, "equal unigram mass"): words by descending count
(ties by id); a word goes to the current class a, and a moves on once the cumulative probability
passes (a+1)/C. One change: when only as many words remain as classes are still empty, each takes
a class of its own, so that no class is empty.
Legend: V vocab, C classes.
"""

from __future__ import annotations

import math
from typing import List, Sequence

import torch

from .errors import ConfigError


def unigram_counts(ids: torch.Tensor, V: int) -> List[float]:
    """Counts [V] of each id over a token stream (the training text's unigram counts)."""
    return [float(c) for c in torch.bincount(ids, minlength=V).tolist()]


def assign_classes(counts: Sequence[float], C: int) -> List[int]:
    """Class [V] of each word id from counts [V], C classes (2 ≤ C ≤ V)."""
    V = len(counts)
    if not isinstance(C, int) or C < 2 or C > V:
        raise ConfigError(f"classes must be an integer from 2 to the vocabulary size {V}, got {C}")
    total = 0.0
    for w, c in enumerate(counts):  # summed in id order, as the TypeScript loop does
        if not (c >= 0 and math.isfinite(c)):
            raise ConfigError(f"unigram count of word {w} must be a finite number ≥ 0, got {c}")
        total += c
    if total <= 0:
        raise ConfigError("unigram counts are all zero: class binning needs the training text's counts")
    order = sorted(range(V), key=lambda w: (-counts[w], w))
    cls = [0] * V
    a = 0
    filled = False  # class a has a word
    df = 0.0
    for r, w in enumerate(order):
        if filled and V - r <= C - 1 - a:
            a += 1
            filled = False
        cls[w] = a
        filled = True
        df += counts[w] / total
        if df > (a + 1) / C and a < C - 1:
            a += 1
            filled = False
    return cls


def validate_classes(cls: Sequence[int], C: int, V: int, where: str = "classes") -> None:
    """Raise unless cls holds V integer class ids in [0, C), every class used."""
    if len(cls) != V:
        raise ConfigError(f"{where}: {len(cls)} class ids for a vocabulary of {V}")
    used = [False] * C
    for w, c in enumerate(cls):
        if not isinstance(c, int) or isinstance(c, bool) or c < 0 or c >= C:
            raise ConfigError(f"{where}: word {w} has class {c}, expected an integer from 0 to {C - 1}")
        used[c] = True
    if not all(used):
        raise ConfigError(f"{where}: class {used.index(False)} has no words (every one of the {C} classes needs at least one)")
