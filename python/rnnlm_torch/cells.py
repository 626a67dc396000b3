"""Recurrent layers: torch.nn.RNN (tanh, relu), nn.LSTM, nn.GRU, and the notes' sigmoid Elman cell,
which nn.RNN does not offer:

    h(t) = σ(W_e x(t) + b_e + W_h h(t-1) + b_h)

with nn.RNN's names: W_e = weight_ih_l{k} [H, I], W_h = weight_hh_l{k} [H, H], b_e = bias_ih_l{k}
[H], b_h = bias_hh_l{k} [H] (the notes' b1 = b_e + b_h). Every stack has nn.RNN's interface:
``forward(x [T, B, I], h0 [L, B, H]) -> (out [T, B, H], h_T [L, B, H])`` (LSTM: (h, c) pairs),
with dropout between layers (not after the last one), as nn.RNN's ``dropout`` argument.

The sigmoid cell is a hand-written forward / backward pair (an autograd.Function), as rnnlm's
src/nn/elman.ts: the input projection of all T steps is one matrix product, then a TorchScript
loop of T small products; backward runs the loop in reverse and forms dW_h, dW_e, the biases
and dX each as one product over all T·B rows.
Legend: T steps, B batch, I input width (E or H), H hidden, L layers.
"""

import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


@torch.jit.script
def _sigmoid_steps(A: Tensor, h0: Tensor, W_hT: Tensor) -> Tensor:
    """Hs [T, B, H]: h(t) = σ(a(t) + h(t-1) W_hᵀ) for t = 1..T, from A [T, B, H] = W_e x + b_e + b_h
    (overwritten), h0 [B, H] and W_hT = W_hᵀ [H, H]."""
    h = h0
    for t in range(A.size(0)):
        a = A[t]
        a.addmm_(h, W_hT)  # a(t) += h(t-1) W_hᵀ
        a.sigmoid_()  # h(t) = σ(a(t)), in place
        h = a
    return A


@torch.jit.script
def _sigmoid_steps_backward(dHs: Tensor, Hs: Tensor, W_h: Tensor) -> Tuple[Tensor, Tensor]:
    """(dA [T, B, H], dh0 [B, H]) from dHs [T, B, H] = dJ/dh(t) from above (direct part only),
    Hs [T, B, H] = h(1..T) and W_h [H, H]."""
    dA = torch.empty_like(Hs)
    dh = torch.zeros_like(Hs[0])
    for t in range(Hs.size(0) - 1, -1, -1):
        dh = dh + dHs[t]  # dh(t) = direct part + the part through a(t+1) (carried in dh)
        h = Hs[t]
        da = dh * h * (1 - h)  # h = σ(a):  da = dh ⊙ h ⊙ (1 - h)
        dA[t] = da
        dh = da.mm(W_h)  # a(t) = ... + h(t-1) W_hᵀ:  dh(t-1) = da(t) W_h
    return dA, dh


class SigmoidElmanFunction(torch.autograd.Function):
    """One sigmoid Elman layer over T steps: (X [T, B, I], h0 [B, H], W_e, W_h, b_e, b_h) -> Hs [T, B, H]."""

    @staticmethod
    def forward(ctx, X: Tensor, h0: Tensor, W_e: Tensor, W_h: Tensor, b_e: Tensor, b_h: Tensor) -> Tensor:  # type: ignore[override]
        T, B, I = X.shape
        H = W_h.shape[0]
        # a(t) = W_e x(t) + b_e + b_h for all t at once: A [T·B, H] = X [T·B, I] W_eᵀ + b
        A = torch.addmm(b_e + b_h, X.reshape(T * B, I), W_e.t()).view(T, B, H)
        Hs = _sigmoid_steps(A, h0.contiguous(), W_h.t().contiguous())
        ctx.save_for_backward(X, h0, W_e, W_h, Hs)
        return Hs

    @staticmethod
    def backward(ctx, dHs: Tensor):  # type: ignore[override]
        X, h0, W_e, W_h, Hs = ctx.saved_tensors
        T, B, I = X.shape
        H = W_h.shape[0]
        dA, dh0 = _sigmoid_steps_backward(dHs.contiguous(), Hs, W_h)
        dA2 = dA.view(T * B, H)
        # W_h is applied at every step: dW_h [H, H] = Σ_t da(t)ᵀ h(t-1) = dAᵀ [H, T·B] · Hprev [T·B, H]
        Hprev = torch.cat([h0.unsqueeze(0), Hs[:-1]]).view(T * B, H)
        dW_h = dA2.t().mm(Hprev)
        # dW_e [H, I] = dAᵀ · X;  db_e = db_h = Σ rows of dA;  dX [T·B, I] = dA · W_e
        dW_e = dA2.t().mm(X.reshape(T * B, I))
        db = dA2.sum(0)
        dX = dA2.mm(W_e).view(T, B, I) if ctx.needs_input_grad[0] else None
        return dX, dh0, dW_e, dW_h, db, db


class SigmoidRNN(nn.Module):
    """A stack of L sigmoid Elman layers with nn.RNN's interface, parameter names and initialisation
    (uniform ±1/√H), and its dropout between layers."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers, self.dropout = input_size, hidden_size, num_layers, dropout
        H = hidden_size
        for k in range(num_layers):
            I = input_size if k == 0 else H
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(H, I)))  # W_e [H, I]
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(H, H)))  # W_h [H, H]
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(H)))  # b_e [H]
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(H)))  # b_h [H]
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -r, r)

    def forward(self, x: Tensor, h0: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """x [T, B, I], h0 [L, B, H] (zeros when None) -> (out [T, B, H], h_T [L, B, H])."""
        L, H = self.num_layers, self.hidden_size
        if h0 is None:
            h0 = x.new_zeros(L, x.size(1), H)
        finals = []
        inp = x
        for k in range(L):
            Hs = SigmoidElmanFunction.apply(
                inp, h0[k], getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}"),
                getattr(self, f"bias_ih_l{k}"), getattr(self, f"bias_hh_l{k}"),
            )
            finals.append(Hs[-1])
            inp = F.dropout(Hs, self.dropout, self.training) if k < L - 1 and self.dropout > 0 else Hs
        return inp, torch.stack(finals)


def make_rnn(cell: str, input_size: int, hidden: int, layers: int, dropout: float) -> nn.Module:
    """The recurrent stack of a model: the module named ``rnn`` in its state_dict."""
    between = dropout if layers > 1 else 0.0  # nn.RNN warns about dropout with one layer
    if cell == "sigmoid":
        return SigmoidRNN(input_size, hidden, layers, between)
    if cell in ("tanh", "relu"):
        return nn.RNN(input_size, hidden, layers, nonlinearity=cell, dropout=between)
    if cell == "lstm":
        return nn.LSTM(input_size, hidden, layers, dropout=between)
    if cell == "gru":
        return nn.GRU(input_size, hidden, layers, dropout=between)
    raise ValueError(f"unknown cell {cell!r}")
