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
import { Optimizer, clipGradNorm, clipGradNorms, type OptimizerName } from '../src/train/optimizer.js';
import type { Arr, RowsOp, SparseGrad } from '../src/kernels/kernels.js';
import type { GradRegions } from '../src/nn/model.js';
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

// ---- the arena's regions and the sparse table (row-sparse gradients, max-ent) -----------------

/**
 * The reference kernels, refusing a count past the end of an array they are given: the
 * reference would drop such writes silently (a typed array ignores them), a wasm kernel would
 * write into the next tensor of the arena. rowsOp also refuses an op that is not a RowsOp name.
 */
function strictKernels(): RefKernels {
  const s = Object.create(k) as RefKernels;
  const fits = (what: string, n: number, ...xs: Array<Arr | null>): void => {
    for (const x of xs) if (x) assert.ok(n <= x.length, `${what}: count ${n} past an array of ${x.length}`);
  };
  s.sgdUpdate = (w, g, lr, n) => (fits('sgdUpdate', n, w, g), k.sgdUpdate(w, g, lr, n));
  s.adagradUpdate = (w, st, g, lr, eps, n) => (fits('adagradUpdate', n, w, st, g), k.adagradUpdate(w, st, g, lr, eps, n));
  s.sumSquares = (x, n) => (fits('sumSquares', n, x), k.sumSquares(x, n));
  s.scale = (x, a, n) => (fits('scale', n, x), k.scale(x, a, n));
  const rowsFit = (what: string, width: number, rows: Int32Array, count: number, ...xs: Array<Arr | null>): void => {
    for (let q = 0; q < count; q++) fits(what, (rows[q] + 1) * width, ...xs);
  };
  // an op outside RowsOp: the reference would take it for 'adagrad', the wasm kernel would look it up in vain
  const opKnown = (op: string): void => assert.ok((['scale', 'zero', 'sgd', 'adagrad'] as string[]).includes(op), `rowsOp: unknown op ${JSON.stringify(op)}`);
  s.rowsOp = (op: RowsOp, w, g, st, a, eps, width, rows, count) => (opKnown(op), rowsFit('rowsOp', width, rows, count, w, g, st), k.rowsOp(op, w, g, st, a, eps, width, rows, count));
  s.sumSquaresRows = (x, width, rows, count) => (rowsFit('sumSquaresRows', width, rows, count, x), k.sumSquaresRows(x, width, rows, count));
  return s;
}

// An arena of 14: dense ranges [1, 3) and [5, 6), a row block at 8 of 3 rows × 2 (rows 2 and 0
// touched: elements 12, 13, 8, 9); the gradient is also non-zero outside (elements 0, 4, 10), so
// a step that visits more than the regions shows.
const REGIONS: GradRegions = { dense: [[1, 3], [5, 6]], rows: [{ offset: 8, size: 6, width: 2, rows: Int32Array.from([2, 0, 1]), count: 2 }] };
const IN_REGIONS = [1, 2, 5, 8, 9, 12, 13];
const G14 = [0.7, 0.5, -2, 3, 0.9, 0.25, 1.5, -0.6, 4, -1, 2.5, 1.25, -0.5, 3];

test('regions: SGD and Adagrad step the dense ranges and touched rows only (as a dense step where g is 0 elsewhere); Adam steps the whole arena', () => {
  const kk = strictKernels();
  const inside = (i: number): boolean => IN_REGIONS.includes(i);
  const w0 = Array.from({ length: 14 }, (_, i) => 1 + i / 8);
  const run = (name: OptimizerName, lr: number, steps = 1): Optimizer & { w: Float64Array } => {
    const o = new Optimizer(name, (n) => new Float64Array(n), 14);
    const w = Float64Array.from(w0);
    for (let t = 0; t < steps; t++) o.step(kk, w, Float64Array.from(G14), lr, undefined, REGIONS);
    return Object.assign(o, { w });
  };
  // sgd: w - lr·g inside, unchanged outside
  close('sgd', run('sgd', 0.1).w, w0.map((v, i) => (inside(i) ? v - 0.1 * G14[i] : v)), 1e-15);
  // adagrad, two steps: s = 2g², w - lr·g/|g| - lr·g/(√2|g|) inside (eps 1e-10 beside |g| ≥ 0.25: < 1e-9 relative)
  const ag = run('adagrad', 0.1, 2);
  close('adagrad w', ag.w, w0.map((v, i) => (inside(i) ? v - 0.1 * Math.sign(G14[i]) * (1 + 1 / Math.SQRT2) : v)), 1e-9);
  close('adagrad s', ag.state.get('s')!, G14.map((g, i) => (inside(i) ? 2 * g * g : 0)), 1e-15);
  // adam at t = 1 moves every weight by lr·sign(g) (m̂ = g, v̂ = g²), outside the regions too
  const ad = run('adam', 0.01);
  close('adam', ad.w, w0.map((v, i) => v - 0.01 * Math.sign(G14[i])), 1e-7);
  assert.equal(ad.t, 1);
});

test('clipGradNorms: the norm over the regions and the sparse table together; only the regions scaled; defer leaves g alone', () => {
  const kk = strictKernels();
  const regionSq = IN_REGIONS.reduce((a, i) => a + G14[i] ** 2, 0); // 0.25 + 4 + 0.0625 + 16 + 1 + 0.25 + 9 = 30.5625
  const sg: SparseGrad = { g: Float64Array.from([0, 2, 0, -1.5]), flags: Uint8Array.from([0, 1, 0, 1]), list: Int32Array.from([2, 3, 1, 0, 0]) };
  const norm = Math.sqrt(regionSq + 4 + 2.25); // √36.8125
  const g = Float64Array.from(G14);
  const r = clipGradNorms(kk, g, sg, 3, REGIONS);
  close('norm', [r.norm], [norm], 1e-15);
  close('gs', [r.gs], [3 / norm], 1e-15);
  close('scaled inside, untouched outside', g, G14.map((v, i) => (IN_REGIONS.includes(i) ? (v * 3) / norm : v)), 1e-15);
  assert.deepEqual([...sg.g], [0, 2, 0, -1.5], 'the sparse part is scaled by its update, not here');
  // defer (SGD folds gs into its step): the factor alone
  const h = Float64Array.from(G14);
  const d = clipGradNorms(kk, h, sg, 3, REGIONS, true);
  close('deferred gs', [d.gs], [3 / norm], 1e-15);
  assert.deepEqual([...h], G14, 'defer: g unchanged');
  // below the limit: gs 1, nothing scaled; without regions: the whole array
  const u = Float64Array.from(G14);
  assert.deepEqual(clipGradNorms(kk, u, sg, 100, REGIONS), { norm, gs: 1 });
  assert.deepEqual([...u], G14);
  const all = Float64Array.from([3, 4]);
  const a = clipGradNorms(kk, all, null, 1);
  assert.deepEqual([a.norm, a.gs], [5, 0.2]);
  close('whole array', all, [0.6, 0.8], 1e-15);
});

test('the sparse table: each optimizer\'s moments (direct.s; direct.m, direct.v) and its update of the touched entries, with and without regions', () => {
  const kk = strictKernels();
  const names = (o: OptimizerName): string[] => {
    const opt = new Optimizer(o, (n) => new Float64Array(n), 3);
    opt.attachSparse((n) => new Float64Array(n), 5);
    assert.ok([...opt.sparseState.values()].every((b) => b.length === 5 && b.every((v) => v === 0)), `${o}: moments of 5 zeros`);
    return [...opt.sparseState.keys()];
  };
  assert.deepEqual(names('sgd'), []);
  assert.deepEqual(names('adagrad'), ['direct.s']);
  assert.deepEqual(names('adam'), ['direct.m', 'direct.v']);
  // entries 3 and 1 touched (g 2 and -0.5, scaled by gs = 0.5), two steps at lr 0.1
  const run = (o: OptimizerName, regions?: GradRegions): { table: Float64Array; opt: Optimizer; sg: SparseGrad } => {
    const opt = new Optimizer(o, (n) => new Float64Array(n), 14);
    opt.attachSparse((n) => new Float64Array(n), 5);
    const table = Float64Array.from([1, 1, 1, 1, 1]);
    const sg: SparseGrad = { g: new Float64Array(5), flags: new Uint8Array(5), list: new Int32Array(6) };
    for (let t = 0; t < 2; t++) {
      sg.g.set([0, -0.5, 0, 2, 0]);
      sg.flags.set([0, 1, 0, 1, 0]);
      sg.list.set([2, 3, 1]);
      opt.step(kk, new Float64Array(14), new Float64Array(14), 0.1, { table, grad: sg, gs: 0.5 }, regions);
    }
    return { table, opt, sg };
  };
  const g = [0, -0.25, 0, 1, 0]; // gs·gradient
  for (const regions of [undefined, REGIONS]) {
    const where = regions ? 'with regions' : 'without regions';
    const sgd = run('sgd', regions);
    close(`sgd ${where}`, sgd.table, g.map((v) => 1 - 2 * 0.1 * v), 1e-15);
    assert.deepEqual([sgd.sg.list[0], ...sgd.sg.flags, ...sgd.sg.g], new Array(11).fill(0), `sgd ${where}: the gradient cleared`);
    const ag = run('adagrad', regions);
    // s = g² then 2g²: w - lr·sign(g)·(1 + 1/√2) on the touched entries
    close(`adagrad ${where}`, ag.table, g.map((v) => 1 - 0.1 * Math.sign(v) * (1 + Math.SQRT1_2)), 1e-9);
    close(`adagrad s ${where}`, ag.opt.sparseState.get('direct.s')!, g.map((v) => 2 * v * v), 1e-15);
    // adam: m = (1-β1)g then (1-β1²)g... bias-corrected at t = 1 and 2 (the global step)
    const ad = run('adam', regions);
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    const want = g.map((v) => {
      let [w, m, s] = [1, 0, 0];
      for (let t = 1; t <= 2; t++) {
        m = b1 * m + (1 - b1) * v;
        s = b2 * s + (1 - b2) * v * v;
        w -= (0.1 * (m / (1 - b1 ** t))) / (Math.sqrt(s / (1 - b2 ** t)) + eps);
      }
      return w;
    });
    close(`adam ${where}`, ad.table, want, 1e-12);
    close(`adam m ${where}`, ad.opt.sparseState.get('direct.m')!, g.map((v) => (1 - b1 * b1) * v), 1e-15);
    close(`adam v ${where}`, ad.opt.sparseState.get('direct.v')!, g.map((v) => (1 - b2 * b2) * v * v), 1e-12);
  }
});
