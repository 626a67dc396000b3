"""rnnlm's model in PyTorch (src/nn/model.ts), with the same tensor names, so that a state_dict is
an rnnlm checkpoint and back:

    e(t) = E x(t)                              E = encoder.weight [V, E]
    h_l(t) = cell_l(h_{l-1}(t), state_l(t-1))  rnn.{weight,bias}_{ih,hh}_l{k}
    ŷ(t) = softmax(U h_L(t) + b2)              U = decoder.weight [V, H], b2 = decoder.bias [V]

Dropout (Zaremba et al.) on the embeddings, between layers and before the output, never on the
recurrent connections; tied weights (U = E, one parameter); and the class-factored softmax
(Mikolov): with W_c = class_decoder.weight [C, H], b_c = class_decoder.bias [C] and the class
c(w) of each word,

    P(w | h) = softmax(W_c h + b_c)[c(w)] · softmax over the words of c(w) of (U h + b2)

computed here from the full U h + b2 (one product; a GPU does that faster than per-class gathers),
with a per-class log-sum-exp: the probabilities are rnnlm's, the cost H·V as a full softmax.
Legend: T steps, B batch, N = T·B rows, L layers, E embed, H hidden, V vocab, C classes.
"""

from __future__ import annotations

import warnings
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .cells import make_rnn
from .classes import validate_classes
from .config import ModelConfig
from .errors import ConfigError

#: The recurrent state: h [L, B, H], or (h, c) for LSTM.
State = Union[Tensor, Tuple[Tensor, Tensor]]


def checkpoint_specs(c: ModelConfig) -> List[Tuple[str, Tuple[int, ...]]]:
    """Every tensor of a checkpoint, in rnnlm's order (checkpointSpecs), with its shape."""
    G, H, V = c.gates, c.hidden, c.vocab_size
    out: List[Tuple[str, Tuple[int, ...]]] = [("encoder.weight", (V, c.embed))]
    for k in range(c.layers):
        I = c.embed if k == 0 else H
        out += [
            (f"rnn.weight_ih_l{k}", (G * H, I)), (f"rnn.weight_hh_l{k}", (G * H, H)),
            (f"rnn.bias_ih_l{k}", (G * H,)), (f"rnn.bias_hh_l{k}", (G * H,)),
        ]
    out += [("decoder.weight", (V, H)), ("decoder.bias", (V,))]
    if c.classes > 0:
        out += [("class_decoder.weight", (c.classes, H)), ("class_decoder.bias", (c.classes,))]
    return out


class RnnLM(nn.Module):
    """The language model. ``word_classes`` [V] (each word id's class) is required when config.classes > 0."""

    def __init__(self, config: ModelConfig, word_classes: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        c = config
        self.config = c
        self.encoder = nn.Embedding(c.vocab_size, c.embed)
        self.rnn = make_rnn(c.cell, c.embed, c.hidden, c.layers, c.dropout)
        self.decoder = nn.Linear(c.hidden, c.vocab_size)
        if c.tied:
            self.decoder.weight = self.encoder.weight  # one parameter; both uses' gradients add up
        self.drop = nn.Dropout(c.dropout)
        if c.classes > 0:
            if word_classes is None:
                raise ConfigError(f"a class-factored model (classes {c.classes}) needs the class of each word (word_classes)")
            validate_classes(list(word_classes), c.classes, c.vocab_size, "word_classes")
            self.class_decoder: Optional[nn.Linear] = nn.Linear(c.hidden, c.classes)
            self.register_buffer("word_class", torch.tensor(list(word_classes), dtype=torch.int64), persistent=False)
        else:
            if word_classes is not None:
                raise ConfigError("word_classes given for a model without a class-factored softmax (classes 0)")
            self.class_decoder = None
            self.word_class: Optional[Tensor] = None

    @torch.no_grad()
    def init_weights(self, seed: int) -> None:
        """PyTorch's word_language_model initialisation, from one seeded generator: E, U, W_c uniform ±0.1,
        b2 and b_c zero, recurrent tensors uniform ±1/√H (plus the LSTM forget bias, if set)."""
        g = torch.Generator().manual_seed(seed)
        u = lambda p, r: p.copy_(torch.rand(p.shape, generator=g, dtype=torch.float64).mul_(2 * r).sub_(r))  # noqa: E731
        c = self.config
        u(self.encoder.weight, 0.1)
        r = 1 / c.hidden ** 0.5
        for k in range(c.layers):
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                u(getattr(self.rnn, f"{kind}_l{k}"), r)
            if c.forget_bias != 0:
                getattr(self.rnn, f"bias_ih_l{k}")[c.hidden : 2 * c.hidden] += c.forget_bias
        if not c.tied:
            u(self.decoder.weight, 0.1)
        self.decoder.bias.zero_()
        if self.class_decoder is not None:
            u(self.class_decoder.weight, 0.1)
            self.class_decoder.bias.zero_()

    def new_state(self, B: int, device: Optional[torch.device] = None) -> State:
        """A zero state for B streams: h(0) = 0 (and c(0) = 0 for LSTM)."""
        c = self.config
        dev = device if device is not None else self.encoder.weight.device
        z = lambda: torch.zeros(c.layers, B, c.hidden, device=dev, dtype=self.encoder.weight.dtype)  # noqa: E731
        return (z(), z()) if c.cell == "lstm" else z()

    def hidden(self, x: Tensor, state: State) -> Tuple[Tensor, State]:
        """x [T, B] ids, state carried in -> (top [T, B, H], the output layer's input after dropout; state after step T)."""
        emb = self.drop(self.encoder(x))  # e(t) = E x(t)  [T, B, E]
        out, state = self.rnn(emb, state)  # [T, B, H]
        return self.drop(out), state

    def _logits(self, top: Tensor, float64: bool) -> Tuple[Tensor, Optional[Tensor]]:
        """z [N, V] = top U^T + b2 and, for a class model, zc [N, C] = top W_c^T + b_c (float64 on request)."""
        z = self.decoder(top)
        zc = self.class_decoder(top) if self.class_decoder is not None else None
        if float64:
            z = z.double()
            zc = zc.double() if zc is not None else None
        return z, zc

    def _class_lse(self, z: Tensor) -> Tensor:
        """lse [N, C]: log Σ_{w in class c} exp(z[n, w]), max-subtracted per class."""
        assert self.word_class is not None and self.class_decoder is not None
        N, V = z.shape
        idx = self.word_class.unsqueeze(0).expand(N, V)
        C = self.class_decoder.out_features
        with torch.no_grad(), warnings.catch_warnings():  # the shift cancels in the value: no gradient needed
            warnings.simplefilter("ignore", UserWarning)  # torch 1.x marks scatter_reduce as beta
            zmax = z.new_full((N, C), float("-inf")).scatter_reduce(1, idx, z, "amax", include_self=True)
        s = z.new_zeros(N, C).scatter_add(1, idx, torch.exp(z - zmax.gather(1, idx)))
        return zmax + torch.log(s)

    def target_log_probs(self, top: Tensor, y: Tensor, float64: bool = False) -> Tensor:
        """log P(y_n | h_n) [N] for top [N, H] and targets y [N]; float64 computes the softmax in double."""
        z, zc = self._logits(top, float64)
        if zc is None:
            return -F.cross_entropy(z, y, reduction="none")
        tc = self.word_class[y].unsqueeze(1)  # c(y) [N, 1]
        lpc = F.log_softmax(zc, 1).gather(1, tc).squeeze(1)  # log P(c(y) | h)
        return lpc + z.gather(1, y.unsqueeze(1)).squeeze(1) - self._class_lse(z).gather(1, tc).squeeze(1)

    def log_probs(self, top: Tensor, float64: bool = False) -> Tensor:
        """The whole distribution: log P(w | h_n) [N, V] for top [N, H]."""
        z, zc = self._logits(top, float64)
        if zc is None:
            return F.log_softmax(z, 1)
        wc = self.word_class
        return F.log_softmax(zc, 1)[:, wc] + z - self._class_lse(z)[:, wc]

    def forward(self, x: Tensor, state: State, y: Tensor) -> Tuple[Tensor, State]:
        """Training step's forward: Σ -log P(y | ·) over the T·B targets (a 0-d tensor), and the state."""
        top, state = self.hidden(x, state)
        lp = self.target_log_probs(top.reshape(-1, self.config.hidden), y.reshape(-1))
        return -lp.sum(), state


def detach_state(state: State) -> State:
    """The state with its gradient history cut (truncated BPTT between segments)."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()  # type: ignore[return-value]
