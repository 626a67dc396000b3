// Optimizer steps, gradient clipping and the sampling distribution against values computed
// independently of rnnlm: PyTorch in float64 (test/torch-fixtures/torch-reference.json, written by
// test/torch-fixtures/make-torch-reference.py: torch.optim.SGD / Adagrad / Adam, clip_grad_norm_,
// softmax(logits / T) over the top k), and small cases worked by hand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OPTIMIZER_HYPER } from '../src/defaults.js';
import { RefKernels } from '../src/kernels/ref.js';
import { Optimizer, clipGradNorm, type OptimizerName } from '../src/train/optimizer.js';
import { sample, samplingDistribution } from '../src/infer/sample.js';

const k = new RefKernels();

interface Run { lr: number; eps?: number; betas?: number[]; w: number[][]; norms: number[]; clipped: number[][] }
interface Fixture {
  w0: number[];
  grads: number[][];
  max_norm: number;
  sgd: Run;
  adagrad: Run;
  adam: Run;
  sampling: { logits: number[]; cases: Array<{ temperature: number; top_k: number; probs: number[] }> };
}

const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('../../test/torch-fixtures/torch-reference.json', import.meta.url)), 'utf8')) as Fixture;

/** |got[i] - want[i]| ≤ rel·|want[i]| + abs for every i. */
function close(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rel: number, abs = 1e-15): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= rel * Math.abs(want[i]) + abs, `${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

test('the hyper-parameters are torch\'s defaults (Adam β 0.9 / 0.999, eps 1e-8; Adagrad eps 1e-10)', () => {
  assert.deepEqual([OPTIMIZER_HYPER.adam.beta1, OPTIMIZER_HYPER.adam.beta2, OPTIMIZER_HYPER.adam.eps], [...fixture.adam.betas!, fixture.adam.eps]);
  assert.equal(OPTIMIZER_HYPER.adagrad.eps, fixture.adagrad.eps);
});

for (const name of ['sgd', 'adagrad', 'adam'] as OptimizerName[]) {
  test(`${name}: four steps equal torch.optim's in float64`, () => {
    const run = fixture[name];
    const opt = new Optimizer(name, (n) => new Float64Array(n), fixture.w0.length);
    const w = Float64Array.from(fixture.w0);
    run.clipped.forEach((g, t) => {
      // torch's clipped gradient as input: the step alone is compared here (clipping below)
      opt.step(k, w, Float64Array.from(g), run.lr);
      close(`${name} step ${t + 1}`, w, run.w[t], 1e-12);
    });
    assert.equal(opt.t, 4);
  });
}

test('clipGradNorm: the norm before clipping, and the clipped gradient, as torch.nn.utils.clip_grad_norm_', () => {
  fixture.grads.forEach((g0, t) => {
    const g = Float64Array.from(g0);
    const norm = clipGradNorm(k, g, fixture.max_norm);
    close(`norm ${t}`, [norm], [fixture.sgd.norms[t]], 1e-14);
    // torch divides by norm + 1e-6: a relative difference of 1e-6 / norm where it clips
    close(`clipped ${t}`, g, fixture.sgd.clipped[t], 2e-6);
    const after = Math.hypot(...g);
    assert.ok(after <= fixture.max_norm * (1 + 1e-12), `step ${t}: norm ${after} after clipping to ${fixture.max_norm}`);
  });
});

test('clipGradNorm by hand: [3, 4] to norm 1 is [0.6, 0.8]; below the limit or with limit 0 nothing changes; NaN passes through', () => {
  const g = Float64Array.from([3, 4]);
  assert.equal(clipGradNorm(k, g, 1), 5);
  close('clipped', g, [0.6, 0.8], 1e-15);
  const h = Float64Array.from([3, 4]);
  assert.equal(clipGradNorm(k, h, 5), 5);
  assert.deepEqual([...h], [3, 4], 'a norm equal to the limit is left alone');
  assert.equal(clipGradNorm(k, h, 0), 5);
  assert.deepEqual([...h], [3, 4], 'limit 0 = no clipping');
  assert.equal(clipGradNorm(k, h, 10), 5);
  assert.deepEqual([...h], [3, 4]);
  const n = Float64Array.from([Number.NaN, 1]);
  assert.ok(Number.isNaN(clipGradNorm(k, n, 1)));
});

test('optimizer steps by hand: sgd w - lr·g; adagrad\'s first step is lr·sign(g); adam\'s first step is lr·sign(g)', () => {
  const g = Float64Array.from([0.5, -2, 1e-3]);
  const run = (name: OptimizerName, lr: number): Float64Array => {
    const w = Float64Array.from([1, 1, 1]);
    new Optimizer(name, (n) => new Float64Array(n), 3).step(k, w, g, lr);
    return w;
  };
  close('sgd', run('sgd', 0.1), [0.95, 1.2, 0.9999], 1e-15);
  // adagrad: s = g², w -= lr·g/(|g| + eps); adam at t = 1: m̂ = g, v̂ = g², w -= lr·g/(|g| + eps)
  close('adagrad', run('adagrad', 0.1), [0.9, 1.1, 0.9], 1e-7);
  close('adam', run('adam', 0.1), [0.9, 1.1, 0.9], 1e-5);
  assert.throws(() => new Optimizer('rmsprop' as OptimizerName, (n) => new Float64Array(n), 3), /one of sgd, adagrad, adam/);
  // the state each keeps (and a training state saves): sgd none, adagrad s, adam m and v
  const keys = (name: OptimizerName): string[] => [...new Optimizer(name, (n) => new Float64Array(n), 3).state.keys()];
  assert.deepEqual(keys('sgd'), []);
  assert.deepEqual(keys('adagrad'), ['s']);
  assert.deepEqual(keys('adam'), ['m', 'v']);
});

test('samplingDistribution: softmax(logits / T) over the top k (ties kept), as torch computes it', () => {
  const { logits, cases } = fixture.sampling;
  const V = logits.length;
  for (const c of cases) {
    const probs = new Float64Array(V);
    samplingDistribution(probs, Float64Array.from(logits), V, c.temperature, c.top_k);
    close(`T=${c.temperature} k=${c.top_k}`, probs, c.probs, 1e-12);
  }
});

test('samplingDistribution by hand: T = 2 takes the square root of the odds, T = 0.5 squares them', () => {
  const probs = new Float64Array(2);
  samplingDistribution(probs, Float64Array.from([0, Math.log(4)]), 2, 2, 0); // odds 4 -> 2
  close('T=2', probs, [1 / 3, 2 / 3], 1e-15);
  samplingDistribution(probs, Float64Array.from([0, Math.log(4)]), 2, 0.5, 0); // odds 4 -> 16
  close('T=0.5', probs, [1 / 17, 16 / 17], 1e-14);
  samplingDistribution(probs, Float64Array.from([1000, 999]), 2, 1, 0); // max subtracted
  close('large logits', probs, [1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(1))], 1e-14);
});

test('samplingDistribution: the max is subtracted (logits 800 apart do not overflow); k ≥ V keeps all; only the first V logits are read and V probabilities written', () => {
  const probs = new Float64Array(2);
  samplingDistribution(probs, Float64Array.from([800, 0]), 2, 1, 0);
  close('800 apart', probs, [1, Math.exp(-800)], 1e-15, 1e-300);
  const logits = Float64Array.from([0.5, -1, 2]);
  const all = new Float64Array(3);
  samplingDistribution(all, logits, 3, 1.5, 0);
  for (const k of [3, 4, 100]) {
    const p = new Float64Array(3);
    samplingDistribution(p, logits, 3, 1.5, k);
    close(`top-k ${k} of 3`, p, all, 1e-15);
  }
  // a longer logits array (a row of a larger buffer) and a longer probs array: V = 3 of each
  const longer = new Float64Array(5);
  samplingDistribution(longer, Float64Array.from([0.5, -1, 2, 5000, 5000]), 3, 1.5, 0); // read past V, 5000 would underflow the rest
  close('first V of longer arrays', longer.subarray(0, 3), all, 1e-15);
  assert.deepEqual([...longer.subarray(3)], [0, 0], 'nothing written past V');
  const sentinel = Float64Array.from([0, 0, 0, 7, 7]);
  samplingDistribution(sentinel, logits, 3, 1, 0);
  assert.deepEqual([...sentinel.subarray(3)], [7, 7], 'nothing past V divided');
});

test('sample(probs, coin): the index where the cumulative probability first exceeds the coin; zero-probability tokens never', () => {
  const probs = [0.2, 0, 0.5, 0.3];
  const cases: Array<[number, number]> = [[0, 0], [0.19, 0], [0.2, 2], [0.5, 2], [0.6999, 2], [0.7, 3], [0.9999, 3]];
  for (const [coin, want] of cases) assert.equal(sample(probs, coin), want, `coin ${coin}`);
  // rounding left the total below the coin: the last token with probability > 0
  assert.equal(sample([0.3, 0.3, 0.3, 0], 0.95), 2);
  assert.equal(sample([0, 0, 1], 0), 2);
});
