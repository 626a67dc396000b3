"""Training batches, as rnnlm's src/data/batches.ts (pytorch/examples' batchify / get_batch).

The token stream is cut into B parallel streams (the remainder dropped) and read in segments of
up to T steps; inputs x(t) and targets x(t+1) are time-major. Under DDP each rank takes a
contiguous share of the B streams (``stream_share``).
Legend: N tokens, B streams, S = N // B steps per stream, T steps per segment, W ranks.
"""

from __future__ import annotations

from typing import Tuple

import torch

from .errors import ConfigError


def batchify(ids: torch.Tensor, B: int) -> torch.Tensor:
    """data [S, B] with data[s, b] = ids[b * S + s]; ids [N]."""
    S = ids.numel() // B
    return ids[: S * B].view(B, S).t().contiguous()


def segment_count(S: int, T: int) -> int:
    """Segments of an epoch: segment i starts at step i * T and predicts up to step S - 1."""
    return max(0, -(-(S - 1) // T))


def segment(data: torch.Tensor, T: int, i: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Segment i of data [S, B']: x [len, B'] = data[i*T : i*T+len], y [len, B'] one step later."""
    S = data.size(0)
    start = i * T
    n = min(T, S - 1 - start)
    return data[start : start + n], data[start + 1 : start + 1 + n]


def stream_share(B: int, world: int, rank: int) -> Tuple[int, int]:
    """Streams [lo, hi) of rank ``rank`` among ``world``: contiguous, sizes differing by at most one.

    Any B ≥ world is handled exactly: each rank's loss is scaled by world / (T·B) (see train.py),
    so the all-reduced gradient is that of the mean over all T·B tokens, whatever the shares.
    """
    if B < world:
        raise ConfigError(f"--batch {B} is smaller than the {world} processes: every process needs at least one stream")
    q, r = divmod(B, world)
    lo = rank * q + min(rank, r)
    return lo, lo + q + (1 if rank < r else 0)
