// Hierarchical softmax (src/nn/hsoftmax.ts): Huffman's tree over the counts, the tree's
// validation (a proper binary tree over exactly V leaves), exact normalisation (Σ_w P(w|h) = 1,
// loss path and full-distribution path agree), and the layer's gradients against central
// differences in float64 (node vectors, biases and the hidden input), with and without max-ent
// scores.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefKernels } from '../src/kernels/ref.js';
import { ConfigError } from '../src/errors.js';
import { buildHuffmanTree, HsOutput, treePaths, validateHsTree } from '../src/nn/hsoftmax.js';
import { Rng } from '../src/rng.js';

const k = new RefKernels();

test('Huffman tree: frequent words get short paths; mean depth within 1 bit of the entropy; root is node 0', () => {
  const rng = new Rng(4);
  const V = 300;
  const counts = Array.from({ length: V }, (_, w) => Math.floor(10000 / (w + 1)) + rng.int(3));
  const children = buildHuffmanTree(counts);
  validateHsTree(children, V);
  const { data } = treePaths(children, V);
  const depth = (w: number): number => data[w + 1] - data[w];
  const total = counts.reduce((a, b) => a + b, 0);
  let mean = 0;
  let entropy = 0;
  for (let w = 0; w < V; w++) {
    mean += (counts[w] / total) * depth(w);
    entropy -= (counts[w] / total) * Math.log2(counts[w] / total);
  }
  assert.ok(mean >= entropy - 1e-9 && mean < entropy + 1, `mean depth ${mean} vs entropy ${entropy}`);
  for (let w = 1; w < V; w++) if (counts[w] < counts[w - 1]) assert.ok(depth(w) >= depth(w - 1) - 1, `word ${w}`);
  // every path starts at the root, node 0
  for (let w = 0; w < V; w++) assert.equal(data[V + 1 + data[w]], 0);
  // two words: one node, one bit each
  assert.deepEqual(Array.from(buildHuffmanTree([5, 1])), [-2, -1]);
  // equal counts give a balanced tree: 8 words, depth 3 each
  const eq = treePaths(buildHuffmanTree(new Array(8).fill(1)), 8).data;
  for (let w = 0; w < 8; w++) assert.equal(eq[w + 1] - eq[w], 3);
});

test('tree validation: one-line ConfigErrors for bad trees', () => {
  const V = 4;
  const good = buildHuffmanTree([4, 3, 2, 1]);
  validateHsTree(good, V);
  const bad = (mut: (c: number[]) => void, re: RegExp): void => {
    const c = Array.from(good);
    mut(c);
    assert.throws(() => validateHsTree(c, V), (e: Error) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'));
  };
  bad((c) => c.pop(), /5 child entries for a vocabulary of 4/);
  bad((c) => (c[0] = 7), /expected an inner node from 1 to 2 or a word/);
  bad((c) => (c[1] = 0), /is the root/);
  bad((c) => (c[c.indexOf(-1)] = -2), /word 1 is a leaf twice/);
  bad((c) => (c[0] = 1.5), /expected an inner node/);
  // a cycle: nodes 1 and 2 each other's child, words hung elsewhere
  assert.throws(() => validateHsTree([-1, -2, 2, -3, 1, -4], 4), (e: Error) => e instanceof ConfigError && /not reachable from the root/.test(e.message));
  assert.throws(() => validateHsTree([], 1), /at least 2 words/);
});

function layer(V: number, H: number, dtype: 'f64' | 'f32'): { out: HsOutput; w: { Wn: Float64Array | Float32Array; bn: Float64Array | Float32Array }; g: { Wn: Float64Array | Float32Array; bn: Float64Array | Float32Array } } {
  const rng = new Rng(7);
  const counts = Array.from({ length: V }, (_, w) => Math.floor(500 / (w + 1)) + rng.int(5));
  const alloc = (n: number) => (dtype === 'f64' ? new Float64Array(n) : new Float32Array(n));
  const out = new HsOutput(buildHuffmanTree(counts), H, alloc);
  const w = { Wn: alloc((V - 1) * H), bn: alloc(V - 1) };
  const g = { Wn: alloc((V - 1) * H), bn: alloc(V - 1) };
  for (const a of [w.Wn, w.bn]) for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-1.5, 1.5);
  out.bind(w, g);
  return { out, w, g };
}

test('the hierarchical softmax is a distribution: Σ_w P(w|h) = 1; loss path = log-prob path', () => {
  const V = 37;
  const H = 5;
  const { out } = layer(V, H, 'f64');
  const N = 4;
  const rng = new Rng(3);
  const Hn = Float64Array.from({ length: N * H }, () => rng.uniform(-1, 1));
  const full = new Float64Array(N * V);
  out.logProbs(k, full, Hn, N);
  const lp = new Float64Array(N);
  for (let r = 0; r < N; r++) {
    let s = 0;
    for (let w = 0; w < V; w++) s += Math.exp(full[r * V + w]);
    assert.ok(Math.abs(s - 1) < 1e-12, `row ${r}: Σ P = ${s}`);
  }
  for (let w = 0; w < V; w++) {
    const nll = out.loss(k, Hn, new Int32Array(N).fill(w), N, false, 1, lp);
    for (let r = 0; r < N; r++) assert.ok(Math.abs(lp[r] - full[r * V + w]) < 1e-12);
    assert.ok(Math.abs(nll + lp.reduce((a, b) => a + b, 0)) < 1e-12);
  }
});

test('hierarchical softmax gradients against central differences in float64 (Wn, bn, h)', () => {
  const V = 13;
  const H = 4;
  const N = 6;
  const { out, w, g } = layer(V, H, 'f64');
  const rng = new Rng(11);
  const Hn = Float64Array.from({ length: N * H }, () => rng.uniform(-1, 1));
  const y = Int32Array.from({ length: N }, () => rng.int(V));
  const J = (): number => out.loss(k, Hn, y, N, false, 1) / N;
  out.loss(k, Hn, y, N, true, 1 / N);
  const dH = new Float64Array(N * H);
  out.backward(k, dH, Hn);
  const eps = 1e-5;
  const check = (name: string, x: Float64Array | Float32Array, an: Float64Array | Float32Array): void => {
    let worst = 0;
    let big = 0;
    for (let i = 0; i < x.length; i++) {
      const s = x[i];
      x[i] = s + eps;
      const jp = J();
      x[i] = s - eps;
      const jm = J();
      x[i] = s;
      const num = (jp - jm) / (2 * eps);
      worst = Math.max(worst, Math.abs(num - an[i]) / Math.max(Math.abs(num), Math.abs(an[i]), 1e-5));
      big = Math.max(big, Math.abs(an[i]));
    }
    assert.ok(big > 0, `${name}: all zero`);
    assert.ok(worst < 1e-6, `${name}: max relative error ${worst}`);
  };
  check('hs.weight', w.Wn, g.Wn);
  check('hs.bias', w.bn, g.bn);
  check('h', Hn, dH);
});
