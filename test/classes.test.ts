// The class-factored softmax (src/nn/classes.ts; Mikolov et al. 2011): Mikolov's equal-mass
// frequency binning, gradient checks of every tensor (class_decoder.* included) in float64,
// exact normalisation (Σ_w P(w|h) = 1 for several hidden states, through the loss path that
// training and evaluation use), the output's cost H·(C + V/C) instead of H·V, checkpoints with
// the "classes" metadata, training, and the new flags end to end through the CLI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefKernels } from '../src/kernels/ref.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { CELLS, makeConfig } from '../src/nn/config.js';
import { RnnLM } from '../src/nn/model.js';
import { assignClasses, unigramCounts, validateClasses } from '../src/data/classes.js';
import { gradcheck } from '../src/nn/gradcheck.js';
import { ClassOutput } from '../src/nn/classes.js';
import type { SparseGrad } from '../src/kernels/ref-fused.js';
import { Rng } from '../src/rng.js';
import { Vocab } from '../src/data/vocab.js';
import { CheckpointError, ConfigError } from '../src/errors.js';
import { evaluateIds } from '../src/infer/evaluate.js';
import { train, DEFAULT_TRAIN } from '../src/train/trainer.js';
import { decodeModel, encodeModel } from '../src/io/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { readFileBytes } from '../src/node/atomic.js';
import { readText } from '../src/node/text-file.js';
import { loadModel } from '../src/node/checkpoint-file.js';
import { trainRun } from '../src/node/train-run.js';
import { assertBitEqual, assertCleanFailure, assertOk, runCli } from './helpers.js';
import { builtinSlice, useTextDir } from './fixtures.js';

const TOL = 1e-6;
const k = new RefKernels();

const td = useTextDir('rnnlm-classes-', 41);

// ---------------------------------------------------------------------------------------------
// Binning.

test("Mikolov's binning: words by count, a new class once the cumulative mass passes (a+1)/C", () => {
  //            <eos> <unk>  a   b   c  d  e
  const counts = [50, 0, 20, 10, 10, 5, 5];
  // cumulative mass in count order: 0.5 (>1/3: next class), 0.7 (>2/3: next), then the rest
  assert.deepEqual(Array.from(assignClasses(counts, 3)), [0, 2, 1, 2, 2, 2, 2]);
  // Ties keep id order; the least frequent words share the last class.
  assert.deepEqual(Array.from(assignClasses([1, 1, 1, 1, 1, 1], 4)), [0, 0, 1, 1, 2, 3]);
  // C = V: every word its own class, whatever the counts (no class is left empty).
  assert.deepEqual(Array.from(assignClasses([1, 1, 1, 1], 4)), [0, 1, 2, 3]);
  assert.deepEqual(Array.from(assignClasses([0, 9, 0, 3, 0], 5)), [2, 0, 3, 1, 4]);
});

test('binning: every class used, classes ordered by frequency, about equal mass per class', () => {
  const rng = new Rng(3);
  const V = 500;
  const counts = Array.from({ length: V }, (_, w) => Math.floor(5000 / (w + 1)) + rng.int(3)); // Zipf-like
  for (const C of [2, 7, 22, 100, 500]) {
    const cls = assignClasses(counts, C);
    validateClasses(cls, C, V);
    for (let w = 1; w < V; w++) {
      if (counts[w] < counts[w - 1]) assert.ok(cls[w] >= cls[w - 1], `C=${C}: a rarer word in an earlier class`);
    }
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const cls = assignClasses(counts, 10);
  const mass = new Array(10).fill(0);
  counts.forEach((c, w) => (mass[cls[w]] += c / total));
  // Frequent words take classes of their own; from there on each class holds about 1/C.
  assert.ok(mass.every((m) => m > 0.02 && m < 0.2), `class masses ${mass.map((m) => m.toFixed(3)).join(' ')}`);
});

test('binning and class maps are validated with messages naming the valid range', () => {
  assert.throws(() => assignClasses([1, 2, 3], 4), (e: Error) => e instanceof ConfigError && /from 2 to the vocabulary size 3/.test(e.message));
  assert.throws(() => assignClasses([1, 2, 3], 1), ConfigError);
  assert.throws(() => assignClasses([0, 0, 0], 2), (e: Error) => e instanceof ConfigError && /all zero/.test(e.message));
  assert.throws(() => validateClasses([0, 0, 2], 3, 3), (e: Error) => e instanceof ConfigError && /class 1 has no words/.test(e.message));
  assert.throws(() => validateClasses([0, 1, 3], 3, 3), (e: Error) => e instanceof ConfigError && /from 0 to 2/.test(e.message));
  assert.throws(() => makeConfig({ vocabSize: 10, classes: 11 }), (e: Error) => e instanceof ConfigError && /0 \(full softmax\) or an integer from 2 to the vocabulary size 10/.test(e.message));
  assert.throws(() => new RnnLM(makeConfig({ vocabSize: 10, classes: 3 }), k), (e: Error) => e instanceof ConfigError && /wordClasses/.test(e.message));
});

// ---------------------------------------------------------------------------------------------
// Gradients.

for (const cell of CELLS) {
  test(`gradcheck ${cell} with a class softmax: every tensor, class_decoder.* included`, () => {
    const r = gradcheck({ cell, layers: 2, T: 5, B: 3, classes: 4, seed: 13 });
    const names = r.tensors.map((t) => t.name);
    assert.ok(names.includes('class_decoder.weight') && names.includes('class_decoder.bias') && names.includes('decoder.weight'), names.join(', '));
    for (const t of r.tensors) {
      assert.ok(t.maxGrad > 0, `${t.name}: gradient is all zeros`);
      assert.ok(t.maxRelError <= TOL, `${cell} ${t.name}: max relative error ${t.maxRelError.toExponential(3)} > ${TOL}`);
    }
  });
}

test('gradcheck with classes + tied + dropout together, and with singleton and large classes', () => {
  for (const [opts, what] of [
    [{ cell: 'lstm', classes: 3, tied: true, dropout: 0.3 }, 'lstm tied dropout'],
    [{ cell: 'gru', classes: 2, vocab: 9 }, '2 classes'],
    [{ cell: 'sigmoid', classes: 9, vocab: 9 }, 'C = V (all singletons)'],
  ] as const) {
    const r = gradcheck({ layers: 2, T: 4, B: 2, seed: 17, ...opts });
    for (const t of r.tensors) assert.ok(t.maxRelError <= TOL, `${what} ${t.name}: ${t.maxRelError.toExponential(3)}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Normalisation and cost.

function classModel(V: number, C: number, dtype: 'f32' | 'f64' = 'f32', kernels: Kernels = k): RnnLM {
  const rng = new Rng(6);
  const counts = Array.from({ length: V }, (_, w) => Math.floor(300 / (w + 1)) + rng.int(4));
  const m = new RnnLM(makeConfig({ cell: 'gru', vocabSize: V, embed: 6, hidden: 7, classes: C }), kernels, { dtype, wordClasses: assignClasses(counts, C) });
  m.init(new Rng(2));
  // Larger output weights than the init, so the distributions are far from uniform.
  for (const name of ['decoder.weight', 'decoder.bias', 'class_decoder.weight', 'class_decoder.bias']) {
    const p = m.param(name);
    for (let i = 0; i < p.length; i++) p[i] = rng.uniform(-2, 2);
  }
  return m;
}

test('the class softmax is a distribution: Σ_w P(w|h) = 1 within 1e-6 for several hidden states (loss path and log-prob path agree)', () => {
  const V = 41;
  const m = classModel(V, 6);
  const T = 4;
  const B = 3;
  const N = T * B;
  const x = Int32Array.from({ length: N }, (_, i) => (i * 13 + 5) % V);
  const state0 = m.newState(B);
  const rng = new Rng(8);
  for (let i = 0; i < state0.length; i++) state0[i] = rng.uniform(-1, 1);
  // Log-probabilities of every word through loss(), the path training and evaluation use.
  const lp = new Float64Array(N);
  const sums = new Float64Array(N);
  const logits = m.forward(x, T, B, state0.slice()).slice(); // full log-probabilities [N, V]
  assert.equal(logits.length, N * V);
  for (let w = 0; w < V; w++) {
    m.forward(x, T, B, state0.slice(), { logits: false });
    const nll = m.loss(new Int32Array(N).fill(w), false, 1, lp);
    let s = 0;
    for (let r = 0; r < N; r++) {
      sums[r] += Math.exp(lp[r]);
      s -= lp[r];
      assert.ok(Math.abs(lp[r] - logits[r * V + w]) < 1e-5, `row ${r} word ${w}: loss path ${lp[r]} vs log-prob path ${logits[r * V + w]}`);
    }
    assert.ok(Math.abs(s - nll) < 1e-9 * Math.abs(nll), 'loss returns Σ -log p');
  }
  for (let r = 0; r < N; r++) assert.ok(Math.abs(sums[r] - 1) < 1e-6, `row ${r}: Σ_w P(w|h) = ${sums[r]}`);
  // The distributions differ between hidden states (the check is not of one row N times).
  assert.ok(Math.abs(logits[0] - logits[V]) > 1e-3 || Math.abs(logits[1] - logits[V + 1]) > 1e-3);
});

test('per-token log-probabilities of mixed targets come back in row order (loss path = full distribution, row by row)', () => {
  // The loss sorts rows by their target's class; with one target repeated (above) that sort is
  // the identity, so only mixed targets show whether logProbs[r] is written back to row r.
  const V = 41;
  const m = classModel(V, 6);
  const T = 5;
  const B = 3;
  const N = T * B;
  const x = Int32Array.from({ length: N }, (_, i) => (i * 13 + 5) % V);
  const targets = Int32Array.from({ length: N }, (_, i) => (i * 17 + 3) % V); // spread over the classes
  assert.ok(new Set(Array.from(targets, (t) => m.wordClasses![t])).size >= 4, 'targets from several classes');
  const state0 = m.newState(B);
  const full = m.forward(x, T, B, state0.slice()).slice(); // log P(w | h) [N, V]
  m.forward(x, T, B, state0.slice(), { logits: false });
  const lp = new Float64Array(N);
  const nll = m.loss(targets, false, 1, lp);
  for (let r = 0; r < N; r++) {
    assert.ok(Math.abs(lp[r] - full[r * V + targets[r]]) < 1e-5, `row ${r} (target ${targets[r]}): loss path ${lp[r]}, distribution ${full[r * V + targets[r]]}`);
  }
  assert.ok(Math.abs(-lp.reduce((a, b) => a + b, 0) - nll) < 1e-9 * nll);
  // and through evaluateIds, where library users get them
  const ids = Int32Array.from({ length: 30 }, (_, i) => (i * 7 + 2) % V);
  const out = new Float64Array(ids.length);
  evaluateIds(m, ids, { logProbs: out, chunk: 7 });
  const st = m.newState(1);
  const xs = Int32Array.from({ length: ids.length }, (_, t) => (t === 0 ? 0 : ids[t - 1]));
  const lps = m.forward(xs, ids.length, 1, st);
  for (let t = 0; t < ids.length; t++) assert.ok(Math.abs(out[t] - lps[t * V + ids[t]]) < 1e-5, `evaluateIds token ${t}`);
});

test('the output costs H·(C + |class|) per token, not H·V: gemm work of a training step', () => {
  const V = 400;
  const H = 8;
  const count = { flops: 0 };
  const counting = Object.create(k) as RefKernels;
  counting.gemm = (C, A, B, M, N, K, ta, tb, beta) => {
    count.flops += M * N * K;
    k.gemm(C, A, B, M, N, K, ta, tb, beta);
  };
  const rng = new Rng(1);
  const counts = Array.from({ length: V }, (_, w) => Math.floor(4000 / (w + 1)) + 1);
  const x = Int32Array.from({ length: 40 }, () => rng.int(V));
  const y = Int32Array.from({ length: 40 }, () => rng.int(V));
  const step = (classes: number): number => {
    const m = new RnnLM(makeConfig({ vocabSize: V, embed: H, hidden: H, classes }), counting, { wordClasses: classes ? assignClasses(counts, classes) : undefined });
    m.init(new Rng(1));
    count.flops = 0;
    const logits = m.forward(x, 10, 4, m.newState(4), { train: true, rng });
    if (classes) assert.equal(logits.length, 0, 'a training forward of a class model computes no [N, V] logits');
    m.loss(y, true, 1 / 40);
    m.backward();
    return count.flops;
  };
  const full = step(0);
  const factored = step(20);
  const recurrentAndInput = 3 * 40 * H * H * 2; // what both share (upper bound)
  assert.ok(factored - recurrentAndInput < 0.35 * (full - recurrentAndInput), `gemm work: full ${full}, class-factored ${factored}`);
});

// ---------------------------------------------------------------------------------------------
// The layer itself (ClassOutput), against a plain float64 reference written here.

const f64 = (n: number): Float64Array => new Float64Array(n);

/** A ClassOutput over `wordClass` with weights held in vocabulary order (uVocab [V, H], b2Vocab [V]) and bound in the layer's class order. */
function classLayer(wordClass: number[], C: number, H: number, fill: (i: number) => number) {
  const V = wordClass.length;
  const co = new ClassOutput(wordClass, C, H, f64); // the default Int32 allocator
  let i = 0;
  const uVocab = Float64Array.from({ length: V * H }, () => fill(i++));
  const b2Vocab = Float64Array.from({ length: V }, () => fill(i++));
  const Wc = Float64Array.from({ length: C * H }, () => fill(i++));
  const bc = Float64Array.from({ length: C }, () => fill(i++));
  const U = f64(V * H);
  const b2 = f64(V);
  for (let r = 0; r < V; r++) {
    U.set(uVocab.subarray(co.order[r] * H, (co.order[r] + 1) * H), r * H);
    b2[r] = b2Vocab[co.order[r]];
  }
  const g = { U: f64(V * H), b2: f64(V), Wc: f64(C * H), bc: f64(C) };
  co.bind({ U, b2, Wc, bc }, g);
  return { co, g, uVocab, b2Vocab, Wc, bc };
}

/** log P(word | h) = log softmax(W_c h + b_c)[c(word)] + log softmax over c's words (U h + b2), each with a stable log-sum-exp. */
function refLogProb(l: ReturnType<typeof classLayer>, wordClass: number[], h: ArrayLike<number>, word: number): number {
  const H = h.length;
  const dot = (a: Float64Array, row: number): number => {
    let s = 0;
    for (let j = 0; j < H; j++) s += a[row * H + j] * h[j];
    return s;
  };
  const lse = (xs: number[]): number => {
    const m = Math.max(...xs);
    return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
  };
  const zc = Array.from(l.bc, (b, c) => b + dot(l.Wc, c));
  const c = wordClass[word];
  const members = wordClass.flatMap((cw, w) => (cw === c ? [w] : []));
  const zw = members.map((w) => l.b2Vocab[w] + dot(l.uVocab, w));
  return zc[c] - lse(zc) + zw[members.indexOf(word)] - lse(zw);
}

test('the class softmax layer: class order, its inverse and the largest class, from the class map', () => {
  const shuffled = new ClassOutput([1, 0, 1, 2, 0, 2, 2], 3, 2, f64);
  assert.deepEqual(Array.from(shuffled.classStart), [0, 2, 4, 7]);
  assert.deepEqual(Array.from(shuffled.order), [1, 4, 0, 2, 3, 5, 6], 'classes one after the other, ascending ids within a class');
  assert.deepEqual(Array.from(shuffled.row), [2, 0, 3, 4, 1, 5, 6]);
  assert.equal(shuffled.identity, false);
  assert.equal(shuffled.maxClassSize, 3);
  const runs = new ClassOutput([0, 0, 0, 1, 2, 2], 3, 2, f64);
  assert.deepEqual(Array.from(runs.order), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Array.from(runs.classStart), [0, 3, 4, 6]);
  assert.equal(runs.identity, true, 'classes that are runs of ids in id order keep vocabulary order');
  assert.equal(runs.maxClassSize, 3, 'the largest class is the first');
  assert.equal(new ClassOutput([0, 1, 1, 1, 1, 2], 3, 2, f64).maxClassSize, 4);
});

test('the class softmax layer refuses targets outside [0, V), and backward without a loss that kept gradients', () => {
  const wordClass = [1, 0, 1, 2, 0, 2, 2];
  const H = 3;
  const rng = new Rng(4);
  const { co } = classLayer(wordClass, 3, H, () => rng.uniform(-1, 1));
  const Hn = Float64Array.from({ length: 3 * H }, () => rng.uniform(-1, 1));
  const dHn = f64(3 * H);
  const needsLoss = /: ClassOutput\.backward needs loss\(grad = true\) first$/;
  assert.throws(() => co.backward(k, dHn, Hn), needsLoss, 'before any loss');
  assert.throws(() => co.loss(k, Hn, Int32Array.of(0, 7, 1), 3, true, 1), /: class softmax: target 7 at row 1 is outside \[0, 7\)$/);
  assert.throws(() => co.loss(k, Hn, Int32Array.of(0, 1, -1), 3, true, 1), /: class softmax: target -1 at row 2 is outside \[0, 7\)$/);
  co.loss(k, Hn, Int32Array.of(0, 1, 2), 3, false, 1);
  assert.throws(() => co.backward(k, dHn, Hn), needsLoss, 'after a loss without gradients');
  co.loss(k, Hn, Int32Array.of(0, 1, 2), 3, true, 1);
  co.backward(k, dHn, Hn);
  assert.throws(() => co.backward(k, dHn, Hn), needsLoss, 'a second backward for one loss');
  co.loss(k, Hn, Int32Array.of(0, 1, 2), 3, true, 1);
  co.logProbs(k, f64(3 * 7), Hn, 3);
  assert.throws(() => co.backward(k, dHn, Hn), needsLoss, 'logProbs in between reuses the workspace the loss kept');
});

test('the class softmax layer: logits 1000 apart (between rows, classes and words) give the exact, finite log-probabilities on both paths', () => {
  // H = 2, W_c = I, b = 0: class logits are h itself; words: class 0 = {0, 1}, class 1 = {2, 3, 4}
  const wordClass = [0, 0, 1, 1, 1];
  const V = 5;
  const weights = [1, 0, -1, 0, 0, 1, 0, -1, 1, 1, /* b2 */ 0, 0, 0, 0, 0, /* W_c */ 1, 0, 0, 1, /* b_c */ 0, 0];
  const l = classLayer(wordClass, 2, 2, (i) => weights[i]);
  const rows = [[1000, 0], [0, 1000], [-1000, -1000], [1000, 0], [0, 0], [-1000, 1000]];
  const N = rows.length;
  const Hn = Float64Array.from(rows.flat());
  const out = f64(N * V);
  l.co.logProbs(k, out, Hn, N);
  const lp = f64(N);
  for (let w = 0; w < V; w++) {
    l.co.loss(k, Hn, new Int32Array(N).fill(w), N, false, 1, lp);
    for (let r = 0; r < N; r++) {
      const want = refLogProb(l, wordClass, rows[r], w);
      assert.ok(Number.isFinite(want));
      assert.ok(Math.abs(out[r * V + w] - want) <= 1e-9 * Math.max(1, Math.abs(want)), `log-prob path, row ${r} word ${w}: ${out[r * V + w]} vs ${want}`);
      assert.ok(Math.abs(lp[r] - want) <= 1e-9 * Math.max(1, Math.abs(want)), `loss path, row ${r} word ${w}: ${lp[r]} vs ${want}`);
    }
  }
});

test('the class softmax layer reuses its workspace: batches growing and shrinking (with max-ent) equal a fresh layer, and only rows [0, N) are written', () => {
  const V = 23;
  const C = 4;
  const H = 5;
  const O = 3;
  const S = 37;
  const rng = new Rng(12);
  const counts = Array.from({ length: V }, (_, w) => Math.floor(500 / (w + 1)) + rng.int(7));
  const wordClass = Array.from(assignClasses(counts, C));
  const weights = Array.from({ length: V * H + V + C * H + C }, () => rng.uniform(-1, 1));
  const table = Float64Array.from({ length: S }, () => rng.uniform(-1, 1));
  const sparse = (): SparseGrad => ({ g: f64(S), flags: new Uint8Array(S), list: new Int32Array(S + 1) });
  const reused = classLayer(wordClass, C, H, (i) => weights[i]);
  const SENTINEL = 7.5;
  for (const N of [12, 5, 20, 3, 20, 1]) {
    const Hn = Float64Array.from({ length: N * H }, () => rng.uniform(-2, 2));
    const targets = Int32Array.from({ length: N }, () => rng.int(V));
    const ctx = Uint32Array.from({ length: N * O }, () => rng.nextU32());
    const run = (l: ReturnType<typeof classLayer>) => {
      const direct = { table, grad: sparse(), ctx, O };
      const logProbs = f64(N + 2).fill(SENTINEL);
      const nll = l.co.loss(k, Hn, targets, N, true, 0.5, logProbs, direct);
      const dHn = f64(N * H);
      for (const t of Object.values(l.g)) t.fill(0);
      l.co.backward(k, dHn, Hn);
      const out = f64((N + 1) * V).fill(SENTINEL);
      l.co.logProbs(k, out, Hn, N, direct);
      return { nll, logProbs, dHn, g: Object.values(l.g).map((t) => Array.from(t)), dTable: Array.from(direct.grad.g), out };
    };
    const a = run(reused);
    const b = run(classLayer(wordClass, C, H, (i) => weights[i]));
    assert.equal(a.nll, b.nll, `N = ${N}: the loss`);
    assert.deepEqual(a.logProbs, b.logProbs, `N = ${N}: per-row log-probabilities`);
    assert.deepEqual([a.logProbs[N], a.logProbs[N + 1]], [SENTINEL, SENTINEL], `N = ${N}: logProbs past row N untouched`);
    assert.deepEqual(a.dHn, b.dHn, `N = ${N}: dHn`);
    assert.deepEqual(a.g, b.g, `N = ${N}: the weights' gradients`);
    assert.deepEqual(a.dTable, b.dTable, `N = ${N}: the max-ent table's gradient`);
    assert.deepEqual(a.out, b.out, `N = ${N}: the full distribution`);
    assert.ok(a.out.subarray(N * V).every((x) => x === SENTINEL), `N = ${N}: the full distribution writes rows [0, N) only`);
    assert.ok(a.out.subarray(0, N * V).every(Number.isFinite));
  }
});

// ---------------------------------------------------------------------------------------------
// Checkpoints and training.

test('checkpoint: class_decoder.* tensors and a "classes" metadata array; validated on load', () => {
  const V = 15;
  const m = classModel(V, 4);
  const vocab = new Vocab(['<eos>', '<unk>', ...Array.from({ length: V - 2 }, (_, i) => `w${i}`)], 'word');
  const bytes = encodeModel(m, vocab);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(tensors.get('class_decoder.weight')!.shape, [4, 7]);
  assert.deepEqual(tensors.get('class_decoder.bias')!.shape, [4]);
  assert.deepEqual(tensors.get('decoder.weight')!.shape, [V, 7], 'decoder.weight keeps every word, in vocabulary order');
  assert.deepEqual(JSON.parse(metadata.classes!), Array.from(m.wordClasses!));
  assert.equal(JSON.parse(metadata.config!).classes, 4);
  const loaded = decodeModel(bytes, k).model;
  assert.deepEqual(Array.from(loaded.wordClasses!), Array.from(m.wordClasses!));
  const ids = Int32Array.from({ length: 50 }, (_, i) => (i * 7) % V);
  assert.equal(evaluateIds(loaded, ids).nll, evaluateIds(m, ids).nll);
  const without = { ...metadata };
  delete without.classes;
  assert.throws(() => decodeModel(encodeSafetensors([...tensors.entries()], without), k, 'f'), (e: Error) =>
    e instanceof CheckpointError && /lacks "classes"/.test(e.message));
  const emptyClass = JSON.stringify(Array.from(m.wordClasses!, (c) => (c === 3 ? 2 : c)));
  assert.throws(() => decodeModel(encodeSafetensors([...tensors.entries()], { ...metadata, classes: emptyClass }), k, 'f'), (e: Error) =>
    e instanceof CheckpointError && /class 3 has no words/.test(e.message));
});

test('training with a class softmax lowers validation perplexity as far as the full softmax; evaluation equals the log-probability path', async () => {
  const { vocab, ids, valid } = builtinSlice(500, 1000);
  const opts = { ...DEFAULT_TRAIN, batch: 8, bptt: 10, epochs: 2, lr: 0.01, optimizer: 'adam', clip: 1 } as const;
  for (const cell of ['sigmoid', 'lstm'] as const) {
    const full = new RnnLM(makeConfig({ vocabSize: vocab.size, embed: 16, hidden: 16, cell }), k);
    full.init(new Rng(1));
    await train(full, ids, null, opts);
    const fullPpl = evaluateIds(full, valid).perplexity;
    const cfg = makeConfig({ vocabSize: vocab.size, embed: 16, hidden: 16, cell, classes: 20 });
    const m = new RnnLM(cfg, k, { wordClasses: assignClasses(unigramCounts(ids, vocab.size), 20) });
    m.init(new Rng(1));
    // (At init P(class) and P(word|class) are uniform: frequent words, in small classes, already
    // get more mass, so the initial perplexity is well below V.)
    const before = evaluateIds(m, valid).perplexity;
    await train(m, ids, null, opts);
    const after = evaluateIds(m, valid);
    assert.ok(after.perplexity < 0.8 * before, `${cell}: validation perplexity ${before.toFixed(1)} -> ${after.perplexity.toFixed(1)}`);
    assert.ok(after.perplexity < 1.1 * fullPpl, `${cell}: class softmax ${after.perplexity.toFixed(1)} vs full softmax ${fullPpl.toFixed(1)}`);
    // The same figure from the [N, V] log-probabilities (what generation samples from).
    const state = m.newState(1);
    const x = new Int32Array(valid.length);
    x.set(valid.subarray(0, valid.length - 1), 1);
    const lp = m.forward(x, valid.length, 1, state);
    let nll = 0;
    for (let t = 0; t < valid.length; t++) nll -= lp[t * vocab.size + valid[t]];
    assert.ok(Math.abs(nll - after.nll) < 1e-5 * after.nll, `${cell}: ${nll} vs ${after.nll}`);
  }
});

test('trainRun --classes bins by the training text\'s counts and saves them; the model loads and resumes', async () => {
  const save = td.path('c.safetensors');
  const r = await trainRun({
    train: td.path('train.txt'), valid: td.path('valid.txt'), save, embed: 6, hidden: 6, batch: 4, bptt: 6, epochs: 1,
    lr: 0.01, optimizer: 'adam', backend: 'ref', classes: 5, cell: 'lstm',
  });
  const vocab = Vocab.build(readText(td.path('train.txt')), 'word');
  const want = assignClasses(unigramCounts(vocab.encode(readText(td.path('train.txt'))).ids, vocab.size), 5);
  const loaded = loadModel(save, k);
  assert.deepEqual(Array.from(loaded.model.wordClasses!), Array.from(want));
  assert.ok(r.bestValidPerplexity! < vocab.size);
  const r2 = await trainRun({ train: td.path('train.txt'), valid: td.path('valid.txt'), save, epochs: 2, backend: 'ref', resume: true });
  assert.equal(r2.epochs, 2);
  assertBitEqual(new Int32Array(loadModel(save, k).model.wordClasses!) as unknown as Float32Array, new Int32Array(want) as unknown as Float32Array, 'classes after resume');
});

// ---------------------------------------------------------------------------------------------
// The flags, end to end.

test('CLI: train --cell gru --tied --dropout --classes, then eval, generate and score; bad values name the valid choices', () => {
  const flags = ['--train', 'train.txt', '--valid', 'valid.txt', '--embed', '8', '--hidden', '8', '--batch', '4', '--bptt', '6', '--epochs', '1', '--backend', 'ref'];
  const t = runCli(['train', '--save', 'g.safetensors', '--cell', 'gru', '--tied', '--dropout', '0.2', '--classes', '6', ...flags, '--json'], td.dir);
  assertOk(t);
  const { metadata } = decodeSafetensors(readFileBytes(td.path('g.safetensors')));
  assert.deepEqual(JSON.parse(metadata.config!), { level: 'word', cell: 'gru', layers: 1, embed: 8, hidden: 8, vocab_size: JSON.parse(metadata.vocab!).length, dropout: 0.2, tied: true, classes: 6 });
  const ev = runCli(['eval', '--model', 'g.safetensors', '--text', 'valid.txt', '--json', '--backend', 'ref'], td.dir);
  assertOk(ev);
  assert.ok(JSON.parse(ev.stdout).perplexity > 1);
  assertOk(runCli(['generate', '--model', 'g.safetensors', '--length', '20', '--backend', 'ref'], td.dir));
  assertOk(runCli(['score', '--model', 'g.safetensors', '--text', 'valid.txt', '--backend', 'ref'], td.dir));
  const lstm = runCli(['train', '--save', 'l.safetensors', '--cell', 'lstm', '--layers', '2', '--forget-bias', '1', ...flags], td.dir);
  assertOk(lstm);
  assertCleanFailure(runCli(['train', '--save', 'x.safetensors', '--tied', '--embed', '4', '--hidden', '8', '--epochs', '1'], td.dir), [/embed = hidden/]);
  assertCleanFailure(runCli(['train', '--save', 'x.safetensors', '--dropout', '1'], td.dir), [/--dropout/, /probability/]);
  assertCleanFailure(runCli(['train', '--save', 'x.safetensors', '--cell', 'rnn'], td.dir), [/sigmoid, tanh, relu, lstm, gru/]);
  assertCleanFailure(runCli(['train', '--save', 'x.safetensors', '--classes', '1', ...flags], td.dir), [/classes/, /from 2/]);
});

test('CLI: gradcheck --cell lstm / gru passes, and with no --cell checks every cell', () => {
  for (const cell of ['lstm', 'gru']) {
    const r = runCli(['gradcheck', '--cell', cell, '--json'], td.dir);
    assertOk(r);
    const o = JSON.parse(r.stdout);
    assert.equal(o.pass, true);
    assert.deepEqual(o.results.map((x: { cell: string }) => x.cell), [cell]);
  }
  const all = runCli(['gradcheck', '--json', '--tied', '--dropout', '0.3', '--classes', '3'], td.dir);
  assertOk(all);
  const o = JSON.parse(all.stdout);
  assert.deepEqual(o.results.map((x: { cell: string }) => x.cell), [...CELLS]);
  assert.ok(o.max_rel_error <= TOL, `${o.max_rel_error}`);
});
