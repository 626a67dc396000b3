"""The custom sigmoid Elman cell (hand-written forward / backward) against a float64 reference:
the notes' recurrence written step by step with autograd, in double precision."""

from __future__ import annotations

import unittest

import torch

from rnnlm_torch.cells import SigmoidElmanFunction, SigmoidRNN, make_rnn
from rnnlm_torch.config import CELLS, ModelConfig
from rnnlm_torch.model import RnnLM, checkpoint_specs

from . import support  # noqa: F401  (one thread)


def reference_layer(X, h0, W_e, W_h, b_e, b_h):
    """h(t) = σ(W_e x(t) + b_e + W_h h(t-1) + b_h), one step at a time, with autograd. X [T, B, I] -> [T, B, H]."""
    hs, h = [], h0
    for t in range(X.shape[0]):
        h = torch.sigmoid(X[t] @ W_e.T + b_e + h @ W_h.T + b_h)
        hs.append(h)
    return torch.stack(hs)


def random_inputs(T=7, B=3, I=5, H=4, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s, scale=1.0: (torch.randn(*s, generator=g, dtype=torch.float64) * scale).to(dtype).requires_grad_()  # noqa: E731
    return [r(T, B, I), r(B, H, scale=0.5), r(H, I, scale=0.7), r(H, H, scale=0.7), r(H, scale=0.3), r(H, scale=0.3)]


def grads(fn, inputs, weights):
    """Value and gradients of Σ fn(inputs) ⊙ weights with respect to every input."""
    for x in inputs:
        x.grad = None
    out = fn(*inputs)
    (out * weights).sum().backward()
    return out.detach(), [x.grad.detach().clone() for x in inputs]


class SigmoidCellTest(unittest.TestCase):
    NAMES = ["X", "h0", "W_e", "W_h", "b_e", "b_h"]

    def test_forward_and_gradients_match_float64_reference(self):
        inputs = random_inputs()
        w = torch.randn(7, 3, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        ref_out, ref_g = grads(reference_layer, inputs, w)
        out, g = grads(SigmoidElmanFunction.apply, inputs, w)
        self.assertLess(float((out - ref_out).abs().max()), 1e-14, "forward (float64)")
        for name, a, b in zip(self.NAMES, g, ref_g):
            self.assertGreater(float(b.abs().max()), 1e-3, f"d{name} is trivial: the check would be empty")
            self.assertLess(float((a - b).abs().max() / b.abs().max()), 1e-12, f"d{name} (float64)")

    def test_float32_within_float_tolerance_of_float64_reference(self):
        ref = random_inputs()
        w = torch.randn(7, 3, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
        ref_out, ref_g = grads(reference_layer, ref, w)
        f32 = [x.detach().float().requires_grad_() for x in ref]
        out, g = grads(SigmoidElmanFunction.apply, f32, w.float())
        self.assertLess(float((out.double() - ref_out).abs().max()), 1e-6, "forward (float32)")
        for name, a, b in zip(self.NAMES, g, ref_g):
            self.assertLess(float((a.double() - b).abs().max() / b.abs().max()), 1e-5, f"d{name} (float32)")

    def test_gradcheck_finite_differences(self):
        # torch.autograd.gradcheck: central differences in float64 against the hand-written backward.
        inputs = random_inputs(T=5, B=2, I=3, H=3, seed=3)
        self.assertTrue(torch.autograd.gradcheck(SigmoidElmanFunction.apply, inputs, eps=1e-6, atol=1e-8, rtol=1e-6))

    def test_stack_is_layers_composed_and_carries_the_last_state(self):
        torch.manual_seed(4)
        rnn = SigmoidRNN(5, 4, num_layers=2).double()
        X = torch.randn(6, 3, 5, dtype=torch.float64)
        h0 = torch.randn(2, 3, 4, dtype=torch.float64)
        out, hT = rnn(X, h0)
        p = lambda n: getattr(rnn, n)  # noqa: E731
        l0 = reference_layer(X, h0[0], p("weight_ih_l0"), p("weight_hh_l0"), p("bias_ih_l0"), p("bias_hh_l0"))
        l1 = reference_layer(l0, h0[1], p("weight_ih_l1"), p("weight_hh_l1"), p("bias_ih_l1"), p("bias_hh_l1"))
        self.assertLess(float((out - l1).abs().max()), 1e-14)
        self.assertLess(float((hT - torch.stack([l0[-1], l1[-1]])).abs().max()), 1e-14)

    def test_nn_rnn_tanh_relu_are_the_same_recurrence(self):
        # The tanh / relu cells are torch.nn.RNN: the notes' recurrence with another activation.
        for act in ("tanh", "relu"):
            torch.manual_seed(5)
            rnn = make_rnn(act, 5, 4, 1, 0.0).double()
            X = torch.randn(6, 3, 5, dtype=torch.float64)
            out, _ = rnn(X, torch.zeros(1, 3, 4, dtype=torch.float64))
            f = torch.tanh if act == "tanh" else torch.relu
            h, hs = torch.zeros(3, 4, dtype=torch.float64), []
            for t in range(6):
                h = f(X[t] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
                hs.append(h)
            self.assertLess(float((out - torch.stack(hs)).abs().max()), 1e-14, act)

    def test_every_cell_has_rnnlm_tensor_names_and_shapes(self):
        for cell in CELLS:
            for tied, classes in ((False, 0), (True, 3)):
                c = ModelConfig("word", cell, 2, 6, 6, 11, tied=tied, classes=classes)
                m = RnnLM(c, [i % 3 for i in range(11)] if classes else None)
                got = [(k, tuple(v.shape)) for k, v in m.state_dict().items()]
                self.assertEqual(sorted(got), sorted(checkpoint_specs(c)), f"{cell} tied={tied} classes={classes}")
                if tied:
                    self.assertIs(m.decoder.weight, m.encoder.weight)


if __name__ == "__main__":
    unittest.main()
