// The BPTT probe (src/nn/bptt-probe.ts) against central finite differences in float64: for
// every cell, layer, step k and stream, ∂J_b(T)/∂h_b(T-k) from the model's own backward pass
// equals the five-point difference of J_b(T) when h_b(T-k) is nudged and the forward pass
// continues from it. The nudge is made between layers at step T-k (each layer's one-step
// forward, then the rest of the segment), so a lower layer's h(T-k) also reaches the layer above
// at the same step, as in the model.
//   numeric  = (8[J(h+ε) - J(h-ε)] - [J(h+2ε) - J(h-2ε)]) / 12ε,  ε = 1e-4
//   relError = |analytic - numeric| / max(|analytic|, |numeric|, 1e-5)  ≤ 1e-6
// Legend: T steps, B streams, L layers, Emb embed, H hidden, S state width per layer.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { RefKernels } from '../src/kernels/ref.js';
import { makeConfig, type Cell } from '../src/nn/config.js';
import { RnnLM } from '../src/nn/model.js';
import { bpttProbe } from '../src/nn/bptt-probe.js';
import { embeddingForward } from '../src/nn/embedding.js';
import { outputForward, outputLoss } from '../src/nn/output.js';
import { assignClasses } from '../src/data/classes.js';
import { Rng } from '../src/rng.js';

const EPS = 1e-4;
const FLOOR = 1e-5;
const TOL = 1e-6;

interface Setup {
  model: RnnLM;
  x: Int32Array;
  y: Int32Array;
  state0: Float64Array;
  T: number;
  B: number;
}

function setup(cell: Cell, layers: number, classes: number, T: number, B: number, seed: number): Setup {
  const rng = new Rng(seed);
  const V = classes > 0 ? 11 : 7;
  const wordClasses = classes > 0 ? assignClasses(Array.from({ length: V }, (_, w) => 1000 / (w + 1)), classes) : undefined;
  const config = makeConfig({ cell, layers, vocabSize: V, embed: 4, hidden: 5, classes });
  const model = new RnnLM(config, new RefKernels(), { dtype: 'f64', wordClasses });
  // larger weights than the default init, so the nonlinearities work away from 0 (as gradcheck)
  for (let i = 0; i < model.params.length; i++) model.params[i] = rng.uniform(-0.8, 0.8);
  const x = Int32Array.from({ length: T * B }, () => rng.int(V));
  const y = Int32Array.from({ length: T * B }, () => rng.int(V));
  const state0 = model.newState(B) as Float64Array;
  for (let i = 0; i < state0.length; i++) state0[i] = rng.uniform(0, 0.9); // a carried-in state, h (and c)
  return { model, x, y, state0, T, B };
}

/** -ln ŷ_b[target] of each stream from the top layer's h [B, H] (the output layer alone). */
function outputNll(model: RnnLM, h: Float64Array, targets: Int32Array, B: number): Float64Array {
  const k = model.kernels;
  const { hidden: H, vocabSize: V } = model.config;
  const lp = new Float64Array(B);
  if (model.classOutput) {
    model.classOutput.loss(k, h, targets, B, false, 1, lp);
  } else {
    const logits = new Float64Array(B * V);
    outputForward(k, logits, h, model.param('decoder.weight'), model.param('decoder.bias'), B, H, V);
    outputLoss(k, logits, targets, B, V, false, 1, lp);
  }
  return lp.map((v) => -v);
}

/** J_b(T) with h_b(s) of layer l nudged by d at unit j (s = T - k, 1-based step). */
function nudgedLoss(su: Setup, l: number, s: number, b: number, j: number, d: number): number {
  const { model, x, y, T, B } = su;
  const k = model.kernels;
  const { layers: L, embed: Emb, hidden: H } = model.config;
  const S = model.stateWidth;
  const state = su.state0.slice();
  if (s > 1) model.forward(x.subarray(0, (s - 1) * B), s - 1, B, state, { logits: false });
  // step s layer by layer, nudging layer l's output h(s) (and its carried copy in the state)
  let input = new Float64Array(B * Emb);
  embeddingForward(k, input, model.param('encoder.weight'), x.subarray((s - 1) * B, s * B), B, Emb);
  for (let m = 0; m < L; m++) {
    const st = state.subarray(m * B * S, (m + 1) * B * S);
    const cache = model.layers[m].newCache((n) => new Float64Array(n), B, B);
    const out = model.layers[m].forward(k, cache, input, st, 1, B) as Float64Array;
    if (m === l) {
      out[b * H + j] += d;
      st[b * H + j] += d; // the state's h block [B, H] comes first (LSTM: then c)
    }
    input = out.slice();
  }
  if (s === T) return outputNll(model, input, y.subarray((T - 1) * B, T * B), B)[b];
  const rest = T - s;
  model.forward(x.subarray(s * B, T * B), rest, B, state, { logits: false });
  const lp = new Float64Array(rest * B);
  model.loss(y.subarray(s * B, T * B), false, 1, lp);
  return -lp[(rest - 1) * B + b];
}

function check(cell: Cell, layers: number, classes: number): void {
  const T = 6;
  const B = 2;
  const su = setup(cell, layers, classes, T, B, 7 + layers * 3 + classes);
  const { model, x, y } = su;
  const H = model.config.hidden;
  model.grads.fill(0.5); // the probe must leave the gradient arena as it found it
  const r = bpttProbe(model, x, y, T, B, { state: su.state0, gradients: true });
  assert.ok(model.grads.every((g) => g === 0.5), 'bpttProbe changed model.grads');
  assert.equal(r.norms.length, layers);
  const wantLoss = outputNll(model, runTop(su), y.subarray((T - 1) * B), B).reduce((a, v) => a + v, 0) / B;
  assert.ok(Math.abs(r.loss - wantLoss) <= 1e-12 * wantLoss, `loss ${r.loss} vs ${wantLoss}`);
  let worst = 0;
  let where = '';
  let maxGrad = 0;
  for (let l = 0; l < layers; l++) {
    for (let kk = 0; kk < T; kk++) {
      for (let b = 0; b < B; b++) {
        let ss = 0;
        for (let j = 0; j < H; j++) {
          const analytic = r.gradients![l][(kk * B + b) * H + j];
          const at = (d: number): number => nudgedLoss(su, l, T - kk, b, j, d);
          const numeric = (8 * (at(EPS) - at(-EPS)) - (at(2 * EPS) - at(-2 * EPS))) / (12 * EPS);
          const rel = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), FLOOR);
          if (rel > worst) {
            worst = rel;
            where = `layer ${l}, k=${kk}, stream ${b}, unit ${j}: analytic ${analytic}, numeric ${numeric}`;
          }
          maxGrad = Math.max(maxGrad, Math.abs(analytic));
          ss += analytic * analytic;
        }
        const norm = Math.sqrt(ss);
        assert.ok(Math.abs(r.streamNorms[l][kk * B + b] - norm) <= 1e-12 * norm, `streamNorms layer ${l} k=${kk} b=${b}`);
      }
      const mean = (r.streamNorms[l][kk * B] + r.streamNorms[l][kk * B + 1]) / 2;
      assert.ok(Math.abs(r.norms[l][kk] - mean) <= 1e-12 * mean, `norms layer ${l} k=${kk}`);
    }
  }
  assert.ok(maxGrad > 1e-3, `the gradients are all ~0 (max ${maxGrad}): the check would be empty`);
  assert.ok(worst <= TOL, `largest relative error ${worst.toExponential(3)} > ${TOL} at ${where}`);
}

/** The top layer's h(T) [B, H] from an unperturbed forward. */
function runTop(su: Setup): Float64Array {
  const { model, x, T, B } = su;
  const state = su.state0.slice();
  model.forward(x, T, B, state, { logits: false });
  const { layers: L, hidden: H } = model.config;
  const S = model.stateWidth;
  const top = new Float64Array(B * H);
  for (let b = 0; b < B; b++) top.set(state.subarray((L - 1) * B * S + b * H, (L - 1) * B * S + (b + 1) * H), b * H);
  return top;
}

for (const cell of ['sigmoid', 'tanh', 'relu', 'lstm', 'gru'] as const) {
  for (const layers of [1, 2]) {
    test(`bpttProbe: ∂J(T)/∂h(T-k) equals finite differences, ${cell}, ${layers} layer(s)`, () => check(cell, layers, 0));
  }
}

test('bpttProbe: with a class-factored softmax (sigmoid and LSTM)', () => {
  check('sigmoid', 1, 3);
  check('lstm', 2, 3);
});

test('bpttProbe: onlyStep and onGradH leave ordinary training untouched (same gradients as backward())', () => {
  const su = setup('lstm', 2, 0, 5, 3, 99);
  const { model, x, y, T, B } = su;
  const run = (probeFirst: boolean): Float64Array => {
    if (probeFirst) bpttProbe(model, x, y, T, B, { state: su.state0 });
    model.zeroGrad();
    model.forward(x, T, B, su.state0.slice());
    model.loss(y, true, 1 / (T * B));
    model.backward();
    return (model.grads as Float64Array).slice();
  };
  assert.deepEqual(run(true), run(false));
  assert.throws(() => model.backward({ onlyStep: T }), /onlyStep must be a step from 0 to 4/);
});

test('bpttProbe: the sigmoid Elman network at init: the norm shrinks with k', () => {
  // PyTorch's init, uniform(±1/√H): each factor diag(σ') W_h has a norm well below 1
  const rng = new Rng(3);
  const model = new RnnLM(makeConfig({ cell: 'sigmoid', vocabSize: 50, embed: 16, hidden: 32 }), new RefKernels());
  model.init(rng);
  const T = 20;
  const B = 4;
  const x = Int32Array.from({ length: T * B }, () => rng.int(50));
  const y = Int32Array.from({ length: T * B }, () => rng.int(50));
  const { norms } = bpttProbe(model, x, y, T, B);
  for (let k = 1; k < T; k++) assert.ok(norms[0][k] < norms[0][k - 1], `norm at k=${k} (${norms[0][k]}) ≥ at k=${k - 1} (${norms[0][k - 1]})`);
  assert.ok(norms[0][T - 1] < 1e-6 * norms[0][0], `after ${T - 1} factors: ${norms[0][T - 1] / norms[0][0]} of the first`);
});

test('bpttProbe refuses T and B that are not positive integers, and x or y shorter than T·B, with the values in the message', () => {
  const { model, x, y } = setup('sigmoid', 1, 0, 4, 2, 5);
  const refused = (T: number, B: number, message: string, xs = x, ys = y): void => {
    assert.throws(() => bpttProbe(model, xs, ys, T, B), (e: Error) => e instanceof RangeError && e.message === message);
  };
  for (const [T, B] of [[0, 2], [1.5, 2], [4, 0], [4, 0.5], [-1, 2], [4, -3]]) refused(T, B, `bpttProbe: T and B must be positive integers, got T=${T}, B=${B}`);
  refused(4, 2, 'bpttProbe: x and y need T·B = 8 ids, got 7 and 8', x.subarray(0, 7));
  refused(4, 2, 'bpttProbe: x and y need T·B = 8 ids, got 8 and 6', x, y.subarray(0, 6));
  // the smallest sizes, and x, y longer than T·B (the rest unread), are accepted
  assert.equal(bpttProbe(model, x, y, 1, 1).norms[0].length, 1);
  const r = bpttProbe(model, x, y, 2, 2);
  assert.equal(r.streamNorms[0].length, 4);
});
