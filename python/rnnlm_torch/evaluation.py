"""Exact evaluation, as rnnlm's evaluateIds (src/train/evaluate.ts): one stream, h(0) = 0, the
state carried through the whole text, every token predicted (the text is preceded by one
boundary token, id 0), log-probabilities computed in float64 from the model's logits and summed
in float64. Perplexity = exp(mean cross-entropy). The command is rnnlm_torch.evaluate.

Legend: n tokens, T chunk length (any: no gradient flows, so the figure does not depend on it).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from .errors import ConfigError, InputError
from .model import RnnLM
from .vocab import Vocab


@dataclass
class EvalResult:
    tokens: int  #: predicted tokens
    nll: float  #: Σ -ln p(token), nats
    cross_entropy: float  #: nll / tokens, nats per token
    bits_per_token: float
    perplexity: float


def summarize(nll: float, tokens: int) -> EvalResult:
    ce = nll / tokens if tokens else float("nan")
    return EvalResult(tokens, nll, ce, ce / math.log(2), math.exp(ce))


@torch.no_grad()
def evaluate_ids(model: RnnLM, ids: torch.Tensor, chunk: int = 256) -> EvalResult:
    """Evaluate on token ids [n] (without the leading boundary, which is added here)."""
    was_training = model.training
    model.eval()
    device = model.encoder.weight.device
    n = ids.numel()
    x = torch.cat([torch.zeros(1, dtype=torch.int64), ids[:-1].cpu()])  # inputs: boundary, ids[0..n-2]
    state = model.new_state(1, device)
    nll = 0.0
    H = model.config.hidden
    for start in range(0, n, chunk):
        xs = x[start : start + chunk].to(device)
        ys = ids[start : start + chunk].to(device)
        top, state = model.hidden(xs.view(-1, 1), state)
        nll -= float(model.target_log_probs(top.view(-1, H), ys, float64=True).sum())
    model.train(was_training)
    return summarize(nll, n)


def evaluate_text(model: RnnLM, vocab: Vocab, text: str, name: str = "text", chunk: int = 256) -> dict:
    """evaluate_ids on a text, with the out-of-vocabulary count and the <unk> rate (as rnnlm's evaluateText)."""
    ids, unknown = vocab.encode(text)
    if ids.numel() == 0:
        raise InputError(f"{name} contains no tokens")
    r = evaluate_ids(model, ids, chunk)
    return {**asdict(r), "unknown": unknown, "unk_rate": float((ids == 1).sum()) / ids.numel()}


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' -> cuda:<local rank> when a GPU is visible, else cpu."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is visible to PyTorch; use --device cpu")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")

