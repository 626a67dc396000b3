// Hierarchical softmax (src/nn/hsoftmax.ts): Huffman's tree over the counts, the tree's
// validation (a proper binary tree over exactly V leaves), exact normalisation (Σ_w P(w|h) = 1,
// loss path and full-distribution path agree), and the layer's gradients against central
// differences in float64 (node vectors, biases and the hidden input), with and without max-ent
// scores.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefKernels } from '../src/kernels/ref.js';
import { ConfigError } from '../src/errors.js';
import { buildHuffmanTree, HsOutput, MAX_DEPTH, treePaths, validateHsTree } from '../src/nn/hsoftmax.js';
import { Rng } from '../src/rng.js';
import { assertRowsSumToOne } from './helpers.js';

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
  assertRowsSumToOne(full, N, V);
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

test('Huffman by hand: counts [5, 1, 2, 3] give [-1, 1, -4, 2, -2, -3] (ties: a word before a tree), and its paths', () => {
  // join 1 (w1) + 2 (w2) = A(3); then w3 (3, a tie with A: the word first) + A = B(6); then w0 (5) + B = root(11).
  // Breadth first: root 0 = [w0, B], B = 1 = [w3, A], A = 2 = [w1, w2] (a word w is -w-1).
  const children = buildHuffmanTree([5, 1, 2, 3]);
  assert.deepEqual([...children], [-1, 1, -4, 2, -2, -3]);
  // pathStart [V+1], pathNode [P], pathBit [P]: w0 = 0(left); w1 = 0(right) 1(right) 2(left); w2 = … 2(right); w3 = 0(right) 1(left)
  const { V, data } = treePaths(children, 4);
  assert.equal(V, 4);
  assert.deepEqual([...data], [0, 1, 4, 7, 9, /* nodes */ 0, 0, 1, 2, 0, 1, 2, 0, 1, /* bits */ 0, 1, 1, 0, 1, 1, 1, 1, 0]);
  const out = new HsOutput(children, 2, (n) => new Float64Array(n));
  assert.deepEqual([0, 1, 2, 3].map((w) => out.depth(w)), [1, 3, 3, 2]);
  assert.equal(out.V, 4);
  assert.equal(out.H, 2);
  assert.deepEqual([...out.children], [...children]);
  assert.notEqual(out.children, children, 'the layer keeps a copy');
  // equal counts: the lower ids joined first, each join the lighter (earlier) as the left child
  assert.deepEqual([...buildHuffmanTree([1, 1, 1])], [-3, 1, -1, -2]);
  assert.deepEqual([...buildHuffmanTree([0, 0])], [-1, -2]);
});

test('Huffman counts: V ≥ 2 finite counts ≥ 0, else a ConfigError naming the word and the value', () => {
  const refused = (counts: number[], message: string): void => {
    assert.throws(() => buildHuffmanTree(counts), (e: Error) => e instanceof ConfigError && e.message === message);
  };
  refused([3], 'a hierarchical softmax needs a vocabulary of at least 2 words, got 1');
  refused([3, -1], 'unigram count of word 1 must be a finite number ≥ 0, got -1');
  refused([Number.NaN, 1], 'unigram count of word 0 must be a finite number ≥ 0, got NaN');
  refused([1, 2, Number.POSITIVE_INFINITY], 'unigram count of word 2 must be a finite number ≥ 0, got Infinity');
});

test('tree validation: each message in full; paths up to MAX_DEPTH = 255 nodes, one deeper refused', () => {
  const refused = (c: ArrayLike<number>, V: number, message: string): void => {
    assert.throws(() => validateHsTree(c, V, 'f.safetensors'), (e: Error) => e instanceof ConfigError && e.message === message);
  };
  const good = [-1, 1, -4, 2, -2, -3];
  refused(good, 3.5, 'f.safetensors: a hierarchical softmax needs a vocabulary of at least 2 words, got 3.5');
  refused(good, 1, 'f.safetensors: a hierarchical softmax needs a vocabulary of at least 2 words, got 1');
  refused(good.slice(1), 4, 'f.safetensors: 5 child entries for a vocabulary of 4 (expected 2·(V-1) = 6)');
  refused([-1, 3, -4, 2, -2, -3], 4, 'f.safetensors: child right of inner node 0 is 3, expected an inner node from 1 to 2 or a word -1 … -4');
  refused([-1, 1, -5, 2, -2, -3], 4, 'f.safetensors: child left of inner node 1 is -5, expected an inner node from 1 to 2 or a word -1 … -4');
  refused([-1, 1, -4, 2, -2, 0.5], 4, 'f.safetensors: child right of inner node 2 is 0.5, expected an inner node from 1 to 2 or a word -1 … -4');
  refused([-1, 1, -4, 0, -2, -3], 4, 'f.safetensors: child right of inner node 1 is the root (node 0)');
  refused([-1, 1, 1, 2, -2, -3], 4, 'f.safetensors: inner node 1 has two parents');
  refused([-1, 1, -4, 2, -2, -2], 4, 'f.safetensors: word 1 is a leaf twice');
  refused([-1, -2, 2, -3, 1, -4], 4, 'f.safetensors: 2 inner node(s) are not reachable from the root (a cycle)');
  assert.throws(() => validateHsTree([-1], 2), (e: Error) => e.message.startsWith('hs tree: 1 child entries'));
  // a caterpillar: inner node i = [word i, node i+1], the last [word V-2, word V-1]; its deepest path has V-1 nodes
  const caterpillar = (V: number): number[] => Array.from({ length: V - 1 }, (_, i) => (i < V - 2 ? [-i - 1, i + 1] : [-i - 1, -i - 2])).flat();
  assert.equal(MAX_DEPTH, 255);
  assert.doesNotThrow(() => validateHsTree(caterpillar(256), 256));
  assert.equal(treePaths(caterpillar(256), 256).data[256] - treePaths(caterpillar(256), 256).data[255], 255, 'word 255: 255 nodes');
  refused(caterpillar(257), 257, 'f.safetensors: paths deeper than 255 nodes (at inner node 255)');
});

test('HsOutput: targets outside [0, V) refused; gradients only after loss(grad); backward once; logProbs ends a pending gradient', () => {
  const { out } = layer(6, 3, 'f64');
  const Hn = new Float64Array(2 * 3).fill(0.25);
  for (const bad of [6, -1]) {
    assert.throws(() => out.loss(k, Hn, Int32Array.from([0, bad]), 2, false, 1), (e: Error) =>
      e instanceof RangeError && e.message === `hierarchical softmax: target ${bad} at row 1 is outside [0, 6)`);
  }
  assert.throws(() => out.lastGrad(), /HsOutput.lastGrad needs loss\(grad = true\) first/);
  assert.throws(() => out.backward(k, new Float64Array(6), Hn), /HsOutput.backward needs loss\(grad = true\) first/);
  out.loss(k, Hn, Int32Array.from([0, 5]), 2, false, 1);
  assert.throws(() => out.lastGrad(), /needs loss\(grad = true\)/, 'a loss without grad leaves no gradient');
  out.loss(k, Hn, Int32Array.from([0, 5]), 2, true, 1);
  const { G, batch, N } = out.lastGrad();
  assert.equal(N, 2);
  assert.equal(batch.rowOff[2], out.depth(0) + out.depth(5));
  assert.ok(G.length >= batch.rowOff[2]);
  out.backward(k, new Float64Array(6), Hn);
  assert.throws(() => out.backward(k, new Float64Array(6), Hn), /needs loss\(grad = true\)/, 'backward consumes the gradient');
  out.loss(k, Hn, Int32Array.from([0, 5]), 2, true, 1);
  out.logProbs(k, new Float64Array(12), Hn, 2);
  assert.throws(() => out.backward(k, new Float64Array(6), Hn), /needs loss\(grad = true\)/);
});

test('HsOutput: buffers grow with the batch (a small batch first gives the same loss and gradients); the tree lives in the given i32 memory', () => {
  const V = 9;
  const H = 3;
  const rng = new Rng(5);
  const Hn = Float64Array.from({ length: 12 * H }, () => rng.uniform(-1, 1));
  const y = Int32Array.from({ length: 12 }, () => rng.int(V));
  const run = (warm: boolean): { nll: number; lp: Float64Array; dH: Float64Array; dW: number[]; full: Float64Array } => {
    const { out, g } = layer(V, H, 'f64');
    if (warm) {
      out.loss(k, Hn, y, 1, true, 1); // one row first: G, lp and the plan sized for it
      out.logProbs(k, new Float64Array(V), Hn, 1);
      g.Wn.fill(0);
      g.bn.fill(0);
    }
    const lp = new Float64Array(12);
    const nll = out.loss(k, Hn, y, 12, true, 0.5, lp);
    const dH = new Float64Array(12 * H);
    out.backward(k, dH, Hn);
    const full = new Float64Array(12 * V);
    out.logProbs(k, full, Hn, 12);
    return { nll, lp, dH, dW: [...g.Wn, ...g.bn], full };
  };
  const cold = run(false);
  const warm = run(true);
  assert.equal(warm.nll, cold.nll);
  assert.deepEqual(warm.lp, cold.lp);
  assert.deepEqual(warm.dH, cold.dH);
  assert.deepEqual(warm.dW, cold.dW);
  assert.deepEqual(warm.full, cold.full);
  for (let r = 0; r < 12; r++) assert.ok(Math.abs(cold.full[r * V + y[r]] - cold.lp[r]) < 1e-12, `row ${r}`);
  assert.ok(Math.abs(cold.nll + cold.lp.reduce((a, b) => a + b, 0)) < 1e-12);
  // the i32 arrays come from allocI32 (the kernels' memory), the tree copied in
  const shared: Int32Array[] = [];
  const out = new HsOutput(buildHuffmanTree([5, 1, 2, 3]), 2, (n) => new Float64Array(n), (n) => {
    const a = new Int32Array(n);
    shared.push(a);
    return a;
  });
  assert.ok(shared.includes(out.tree.data), 'tree data in kernel memory');
  assert.deepEqual([...out.tree.data], [...treePaths([-1, 1, -4, 2, -2, -3], 4).data]);
});

test('max-ent scores: the loss with table scores per node equals the full log-probabilities with the same node scores; Σ_w P = 1', () => {
  const V = 11;
  const H = 3;
  const N = 4;
  const { out } = layer(V, H, 'f64');
  const rng = new Rng(21);
  const Hn = Float64Array.from({ length: N * H }, () => rng.uniform(-1, 1));
  const S = 13;
  const O = 2;
  const table = Float64Array.from({ length: S }, () => rng.uniform(-2, 2));
  const keys = Uint32Array.from([3, 0xffffffff, 12, 5, 0, 7, 9, 1]); // [N, O]; row 0's second order absent
  // node n of row r scores Σ_a table[(keys[r, a] + n) mod S]
  const nodeScores = new Float64Array(N * (V - 1));
  for (let r = 0; r < N; r++) for (let n = 0; n < V - 1; n++) for (let a = 0; a < O; a++) if (keys[r * O + a] !== 0xffffffff) nodeScores[r * (V - 1) + n] += table[(keys[r * O + a] + n) % S];
  const full = new Float64Array(N * V);
  out.logProbs(k, full, Hn, N, nodeScores);
  const plain = new Float64Array(N * V);
  out.logProbs(k, plain, Hn, N);
  assert.ok(full.some((v, i) => Math.abs(v - plain[i]) > 1e-3), 'the scores change the distribution');
  const lp = new Float64Array(N);
  for (let w = 0; w < V; w++) {
    out.loss(k, Hn, new Int32Array(N).fill(w), N, false, 1, lp, { table, keys, O });
    for (let r = 0; r < N; r++) assert.ok(Math.abs(lp[r] - full[r * V + w]) < 1e-12, `row ${r} word ${w}`);
  }
  assertRowsSumToOne(full, N, V);
});

test('Huffman by hand, balanced: counts [1, 1, 1, 1] join w0 + w1 = A, w2 + w3 = B, A + B = root; breadth first root 0 = [A, B], A = 1, B = 2', () => {
  assert.deepEqual([...buildHuffmanTree([1, 1, 1, 1])], [1, 2, -1, -2, -3, -4]);
  // eight equal counts: a complete tree of depth 3, the words left to right
  const c8 = buildHuffmanTree(new Array(8).fill(1));
  assert.deepEqual([...c8], [1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6, -7, -8]);
});

test('HsOutput: its float buffers are allocated only when too short (G of the batch\'s Σ path lengths, node scores [N, V-1]); logProbs writes rows < N only', () => {
  const V = 9;
  const H = 2;
  const sizes: number[] = [];
  const alloc = (n: number): Float64Array => (sizes.push(n), new Float64Array(n));
  const out = new HsOutput(buildHuffmanTree([9, 8, 7, 6, 5, 4, 3, 2, 1]), H, alloc);
  out.bind({ Wn: new Float64Array((V - 1) * H).fill(0.1), bn: new Float64Array(V - 1) }, { Wn: new Float64Array((V - 1) * H), bn: new Float64Array(V - 1) });
  assert.deepEqual(sizes, [0, 0], 'G and the node scores start empty');
  const N = 5;
  const Hn = Float64Array.from({ length: N * H }, (_, i) => (i % 3) - 1);
  const y = Int32Array.from([0, 8, 4, 8, 2]);
  const E = [...y].reduce((a, w) => a + out.depth(w), 0);
  out.loss(k, Hn, y, N, true, 1);
  assert.deepEqual(sizes, [0, 0, E], 'G grown to the batch');
  out.loss(k, Hn, y, N, true, 1);
  out.loss(k, Hn, y.subarray(0, 2), 2, true, 1);
  assert.deepEqual(sizes, [0, 0, E], 'G long enough: kept');
  const X = 7.25;
  const full = new Float64Array((N + 1) * V).fill(X);
  out.logProbs(k, full, Hn, N);
  assert.deepEqual(sizes, [0, 0, E, N * (V - 1)], 'node scores [N, V-1]');
  assert.ok(full.subarray(N * V).every((v) => v === X), 'logProbs wrote past row N - 1');
  assertRowsSumToOne(full, N, V);
  out.logProbs(k, full, Hn, N);
  out.logProbs(k, full, Hn, 1);
  assert.deepEqual(sizes, [0, 0, E, N * (V - 1)], 'node scores long enough: kept');
});
