"""The class-factored softmax, the optimizers' update formulas, clipping, batches and stream shares,
each against the definition written out by hand (rnnlm's src/kernels/ref.ts, src/data/batches.ts)."""

from __future__ import annotations

import math
import unittest

import torch

from rnnlm_torch.batches import batchify, segment, segment_count, stream_share
from rnnlm_torch.config import ModelConfig
from rnnlm_torch.errors import ConfigError
from rnnlm_torch.model import RnnLM
from rnnlm_torch.optim import Optimizer, clip_grad_norm

from . import support  # noqa: F401  (one thread)


class ClassSoftmaxTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.classes = [0, 1, 1, 2, 0, 2, 2, 1, 0, 2, 1]  # V = 11, C = 3
        self.model = RnnLM(ModelConfig("word", "gru", 1, 5, 5, 11, classes=3), self.classes).double()
        self.model.init_weights(3)
        with torch.no_grad():  # spread the logits so that each class's max matters
            self.model.decoder.weight.mul_(30)
            self.model.decoder.bias.uniform_(-20, 20)
        self.top = torch.randn(9, 5, dtype=torch.float64)

    def brute_force(self, h: torch.Tensor, w: int) -> float:
        """log P(c(w)|h) + log P(w|c(w),h) with explicit loops over the class's words."""
        m = self.model
        zc = (m.class_decoder.weight @ h + m.class_decoder.bias).tolist()
        z = (m.decoder.weight @ h + m.decoder.bias).tolist()
        c = self.classes[w]
        lpc = zc[c] - math.log(sum(math.exp(v) for v in zc))
        members = [u for u in range(11) if self.classes[u] == c]
        mx = max(z[u] for u in members)
        return lpc + z[w] - (mx + math.log(sum(math.exp(z[u] - mx) for u in members)))

    def test_distribution_sums_to_one_and_matches_the_definition(self):
        with torch.no_grad():
            lp = self.model.log_probs(self.top)
            self.assertLess(float(torch.logsumexp(lp, 1).abs().max()), 1e-12)
            for n in range(9):
                for w in range(11):
                    self.assertAlmostEqual(float(lp[n, w]), self.brute_force(self.top[n], w), delta=1e-11)
            y = torch.tensor([0, 3, 10, 7, 2, 2, 5, 9, 1])
            self.assertLess(float((self.model.target_log_probs(self.top, y) - lp.gather(1, y[:, None]).squeeze(1)).abs().max()), 1e-12)

    def test_gradient_matches_finite_differences(self):
        y = torch.tensor([0, 3, 10, 7, 2, 2, 5, 9, 1])
        top = self.top.clone().requires_grad_()
        f = lambda t: -self.model.target_log_probs(t, y).sum()  # noqa: E731
        self.assertTrue(torch.autograd.gradcheck(f, (top,), eps=1e-6, atol=1e-7, rtol=1e-6))


class OptimizerTest(unittest.TestCase):
    """Three steps of each optimizer against ref.ts's loops, in float64."""

    def run_three(self, name: str, lr: float):
        torch.manual_seed(1)
        w0 = torch.randn(50, dtype=torch.float64)
        gs = [torch.randn(50, dtype=torch.float64) * s for s in (1.0, 0.1, 3.0)]
        w = torch.nn.Parameter(w0.clone())
        opt = Optimizer(name, [w])
        for g in gs:
            w.grad = g.clone()
            opt.step(lr)
        # ref.ts, element by element
        ref = w0.tolist()
        s = [0.0] * 50
        m = [0.0] * 50
        v = [0.0] * 50
        for t, g in enumerate(gs, start=1):
            for i, gi in enumerate(g.tolist()):
                if name == "sgd":
                    ref[i] -= lr * gi
                elif name == "adagrad":
                    s[i] += gi * gi
                    ref[i] -= (lr * gi) / (math.sqrt(s[i]) + 1e-10)
                else:
                    m[i] = 0.9 * m[i] + (1 - 0.9) * gi
                    v[i] = 0.999 * v[i] + (1 - 0.999) * gi * gi
                    ref[i] -= (lr * (m[i] / (1 - 0.9 ** t))) / (math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)
        return w.detach(), torch.tensor(ref, dtype=torch.float64), w0

    def test_updates_follow_rnnlm_formulas(self):
        for name, lr in (("sgd", 0.5), ("adagrad", 0.1), ("adam", 0.01)):
            got, ref, w0 = self.run_three(name, lr)
            self.assertGreater(float((ref - w0).abs().max()), 1e-3, f"{name}: the weights did not move")
            self.assertLess(float((got - ref).abs().max()), 1e-14, name)

    def test_adam_eps_is_added_after_the_square_root(self):
        # With v tiny, eps inside the root (√(v + ε)) and outside (√v + ε) differ by orders of magnitude.
        w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = Optimizer("adam", [w])
        w.grad = torch.tensor([1e-9], dtype=torch.float64)
        opt.step(1.0)
        # m/c1 = 1e-9, √(v/c2) = 1e-9: step = 1e-9 / (1e-9 + 1e-8) = 1/11
        self.assertAlmostEqual(float(w), -1 / 11, delta=1e-12)

    def test_unknown_optimizer_is_refused(self):
        with self.assertRaisesRegex(ConfigError, "sgd, adagrad, adam"):
            Optimizer("rmsprop", [])


class ClipTest(unittest.TestCase):
    def test_global_norm_without_epsilon(self):
        a = torch.nn.Parameter(torch.zeros(2))
        b = torch.nn.Parameter(torch.zeros(1))
        a.grad = torch.tensor([3.0, 0.0])
        b.grad = torch.tensor([4.0])
        self.assertEqual(clip_grad_norm([a, b], 1.0), 5.0)
        self.assertEqual(a.grad.tolist() + b.grad.tolist(), [0.6000000238418579, 0.0, 0.800000011920929])  # × exactly 1/5
        a.grad = torch.tensor([3.0, 0.0])
        b.grad = torch.tensor([4.0])
        self.assertEqual(clip_grad_norm([a, b], 5.0), 5.0)  # at the limit: unchanged
        self.assertEqual(a.grad.tolist() + b.grad.tolist(), [3.0, 0.0, 4.0])
        self.assertEqual(clip_grad_norm([a, b], 0.0), 5.0)  # 0 = off
        self.assertEqual(b.grad.tolist(), [4.0])


class BatchesTest(unittest.TestCase):
    def test_batchify_and_segments_as_batches_ts(self):
        ids = torch.arange(23)
        data = batchify(ids, 4)  # S = 5, 3 tokens dropped
        self.assertEqual(tuple(data.shape), (5, 4))
        for s in range(5):
            for b in range(4):
                self.assertEqual(int(data[s, b]), b * 5 + s)  # data[s * B + b] = ids[b * S + s]
        self.assertEqual(segment_count(5, 3), 2)  # ceil((S - 1) / T)
        x, y = segment(data, 3, 1)  # start 3, len min(3, 5 - 1 - 3) = 1
        self.assertEqual(x.tolist(), [data[3].tolist()])
        self.assertEqual(y.tolist(), [data[4].tolist()])
        self.assertEqual(segment_count(1, 3), 0)

    def test_stream_shares_are_contiguous_and_cover_the_batch(self):
        for B in range(1, 13):
            for W in range(1, B + 1):
                shares = [stream_share(B, W, r) for r in range(W)]
                self.assertEqual(shares[0][0], 0)
                self.assertEqual(shares[-1][1], B)
                for (lo, hi), (lo2, _) in zip(shares, shares[1:]):
                    self.assertEqual(hi, lo2)
                sizes = [hi - lo for lo, hi in shares]
                self.assertLessEqual(max(sizes) - min(sizes), 1)
                self.assertGreaterEqual(min(sizes), 1)
        with self.assertRaisesRegex(ConfigError, "smaller than the 4 processes"):
            stream_share(3, 4, 0)


if __name__ == "__main__":
    unittest.main()
