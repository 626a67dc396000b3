// The output layers beyond the full softmax, through the model: the hierarchical softmax
// (--output hs) and max-ent direct connections (--direct) — float64 gradient checks with every
// cell and output, exact normalisation, checkpoints (names, metadata, validation with one-line
// CheckpointErrors), resumed runs equal to uninterrupted ones, the sparse table's optimizer
// semantics — the class order a class-factored model keeps inside (checkpoints stay in
// vocabulary order), and 1 vs 2 wasm threads bit for bit at the model level.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { assignClasses, unigramCounts } from '../src/data/classes.js';
import { Vocab } from '../src/data/vocab.js';
import { CheckpointError, ConfigError } from '../src/errors.js';
import { decodeModel, encodeModel } from '../src/io/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { evaluateIds } from '../src/infer/evaluate.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { RefKernels } from '../src/kernels/ref.js';
import { createWasmKernels } from '../src/kernels/wasm/kernels.js';
import { CELLS, makeConfig, type ModelConfig } from '../src/nn/config.js';
import { gradcheck } from '../src/nn/gradcheck.js';
import { buildHuffmanTree } from '../src/nn/hsoftmax.js';
import { RnnLM } from '../src/nn/model.js';
import { readFileBytes } from '../src/node/atomic.js';
import { loadModel } from '../src/node/checkpoint-file.js';
import { trainRun } from '../src/node/train-run.js';
import { nodeWasmPlatform } from '../src/node/wasm-platform.js';
import { Rng } from '../src/rng.js';
import { DEFAULT_TRAIN, train } from '../src/train/trainer.js';
import { Optimizer, clipGradNorms } from '../src/train/optimizer.js';
import { assertBitEqual, assertCleanFailure, assertGradcheck, assertOk, assertRowsSumToOne, makeText, rmTemp, runCli, tempDir } from './helpers.js';

const k = new RefKernels();
let dir = '';
before(() => {
  dir = tempDir('rnnlm-outputs-');
  writeFileSync(join(dir, 'train.txt'), makeText(51, 300));
  writeFileSync(join(dir, 'valid.txt'), makeText(52, 40));
});
after(() => rmTemp(dir));

// ---------------------------------------------------------------------------------------------
// Gradients (float64, central differences; the max-ent table entry by entry).

for (const cell of CELLS) {
  test(`gradcheck ${cell}: hierarchical softmax, and max-ent connections with every output`, () => {
    assertGradcheck(gradcheck({ cell, layers: 2, T: 4, B: 2, output: 'hs', seed: 21 }), `${cell} hs`);
    for (const [o, what] of [[{ output: 'hs' }, 'hs'], [{ classes: 4 }, 'classes'], [{}, 'softmax']] as const) {
      const r = gradcheck({ cell, layers: 1, T: 4, B: 3, direct: 37, directOrder: 3, seed: 27, ...o });
      assert.ok(r.tensors.some((t) => t.name === 'direct.weight'), 'direct.weight is checked');
      assertGradcheck(r, `${cell} ${what} + direct`);
    }
  });
}

test('gradcheck: max-ent with dropout, tied classes, order 1 (the unigram feature alone) and a table smaller than the outputs (runs wrap)', () => {
  assertGradcheck(gradcheck({ cell: 'sigmoid', layers: 1, T: 5, B: 2, classes: 3, tied: true, dropout: 0.3, direct: 13, seed: 23 }), 'tied classes dropout');
  assertGradcheck(gradcheck({ cell: 'tanh', layers: 1, T: 3, B: 2, output: 'hs', direct: 5, directOrder: 1, seed: 24 }), 'order 1');
  assertGradcheck(gradcheck({ cell: 'gru', layers: 1, T: 3, B: 2, direct: 3, directOrder: 4, seed: 25 }), 'S = 3 < V');
});

// ---------------------------------------------------------------------------------------------
// Distributions.

function hsModel(V: number, extra: Partial<ModelConfig> = {}, kernels: Kernels = k, dtype: 'f32' | 'f64' = 'f64'): RnnLM {
  const rng = new Rng(3);
  const counts = Array.from({ length: V }, (_, w) => Math.floor(400 / (w + 1)) + rng.int(3));
  const m = new RnnLM(makeConfig({ vocabSize: V, embed: 6, hidden: 7, output: 'hs', ...extra }), kernels, { dtype, hsTree: buildHuffmanTree(counts) });
  m.init(new Rng(2));
  for (const name of ['hs.weight', 'hs.bias']) {
    const p = m.param(name);
    for (let i = 0; i < p.length; i++) p[i] = rng.uniform(-2, 2);
  }
  if (m.direct) for (let i = 0; i < m.direct.size; i++) m.direct.weight[i] = rng.uniform(-1, 1);
  return m;
}

test('hierarchical softmax (and with max-ent scores) through the model: Σ_w P(w|h) = 1, and the loss path equals the log-prob path', () => {
  for (const extra of [{}, { direct: 41, directOrder: 2 }] as Partial<ModelConfig>[]) {
    const V = 29;
    const m = hsModel(V, extra);
    const [T, B] = [3, 2];
    const N = T * B;
    const x = Int32Array.from({ length: N }, (_, i) => (i * 11 + 3) % V);
    const s0 = m.newState(B);
    const rng = new Rng(4);
    for (let i = 0; i < m.config.layers * B * m.stateWidth; i++) s0[i] = rng.uniform(-1, 1);
    const full = m.forward(x, T, B, s0.slice()).slice();
    const lp = new Float64Array(N);
    assertRowsSumToOne(full, N, V);
    for (let w = 0; w < V; w += 3) {
      m.forward(x, T, B, s0.slice(), { logits: false });
      m.loss(new Int32Array(N).fill(w), false, 1, lp);
      for (let r = 0; r < N; r++) assert.ok(Math.abs(lp[r] - full[r * V + w]) < 1e-12, `word ${w} row ${r}`);
    }
  }
});

test('class-factored softmax with max-ent scores: Σ_w P(w|h) = 1, and the loss path equals the log-prob path', () => {
  const V = 23;
  const rng = new Rng(14);
  const counts = Array.from({ length: V }, () => 1 + rng.int(40)); // classes not runs of ids
  const m = new RnnLM(makeConfig({ vocabSize: V, embed: 5, hidden: 6, classes: 5, direct: 53, directOrder: 3 }), k, { dtype: 'f64', wordClasses: assignClasses(counts, 5) });
  m.init(new Rng(2));
  for (let i = 0; i < m.direct!.size; i++) m.direct!.weight[i] = rng.uniform(-1, 1);
  const [T, B] = [3, 2];
  const N = T * B;
  const x = Int32Array.from({ length: N }, () => rng.int(V));
  const s0 = m.newState(B);
  for (let i = m.config.layers * B * m.stateWidth; i < s0.length; i++) s0[i] = rng.int(V);
  const full = m.forward(x, T, B, s0.slice()).slice();
  const lp = new Float64Array(N);
  assertRowsSumToOne(full, N, V);
  for (let w = 0; w < V; w++) {
    m.forward(x, T, B, s0.slice(), { logits: false });
    m.loss(new Int32Array(N).fill(w), false, 1, lp);
    for (let r = 0; r < N; r++) assert.ok(Math.abs(lp[r] - full[r * V + w]) < 1e-12, `word ${w} row ${r}: ${lp[r]} vs ${full[r * V + w]}`);
  }
});

test('max-ent: evaluation does not depend on the chunk length (the history is carried in the state)', () => {
  for (const extra of [{ output: 'hs' }, { classes: 5 }, {}] as Partial<ModelConfig>[]) {
    const V = 23;
    const rng = new Rng(9);
    const counts = Array.from({ length: V }, (_, w) => 100 / (w + 1) + rng.int(3));
    const cfg = makeConfig({ vocabSize: V, embed: 5, hidden: 5, direct: 101, directOrder: 4, ...extra });
    const m = new RnnLM(cfg, k, {
      dtype: 'f64', wordClasses: cfg.classes ? assignClasses(counts, cfg.classes) : undefined, hsTree: cfg.output === 'hs' ? buildHuffmanTree(counts) : undefined,
    });
    m.init(new Rng(1));
    for (let i = 0; i < m.direct!.size; i++) m.direct!.weight[i] = rng.uniform(-1, 1);
    const ids = Int32Array.from({ length: 60 }, () => rng.int(V));
    const a = evaluateIds(m, ids, { chunk: 60 }).nll;
    for (const chunk of [1, 7, 13]) assert.ok(Math.abs(evaluateIds(m, ids, { chunk }).nll - a) < 1e-9 * Math.abs(a), `${cfg.output} chunk ${chunk}`);
    // and the table matters
    m.direct!.weight.fill(0);
    assert.ok(Math.abs(evaluateIds(m, ids).nll - a) > 1e-3);
  }
});

// ---------------------------------------------------------------------------------------------
// Config and checkpoints.

test('config: output, direct and direct_order validated; stored only where not default, so older checkpoints read unchanged', () => {
  const c = makeConfig({ vocabSize: 10, output: 'hs', direct: 1000, directOrder: 2 });
  assert.equal(c.output, 'hs');
  assert.equal(makeConfig({ vocabSize: 10, classes: 3 }).output, 'classes');
  assert.equal(makeConfig({ vocabSize: 10 }).output, 'softmax');
  const bad = (o: Partial<ModelConfig>, re: RegExp): void => assert.throws(() => makeConfig({ vocabSize: 10, ...o }), (e: Error) => e instanceof ConfigError && re.test(e.message));
  bad({ output: 'classes' }, /needs the number of classes/);
  bad({ output: 'hs', classes: 3 }, /leave classes at 0/);
  bad({ output: 'hs', tied: true, embed: 200 }, /tied weights need decoder.weight/);
  bad({ output: 'tree' as 'hs' }, /softmax, classes, hs/);
  bad({ direct: -1 }, /direct must be 0/);
  bad({ direct: 2 ** 28 }, /2\^27/);
  bad({ direct: 10, directOrder: 0 }, /direct order/);
});

test('checkpoint: hs.weight [V-1, H], hs.bias [V-1], hs_tree; direct.weight [S] and config direct / direct_order; exact reload', () => {
  const V = 17;
  const m = hsModel(V, { direct: 77, directOrder: 3 }, k, 'f32');
  const vocab = new Vocab(['<eos>', '<unk>', ...Array.from({ length: V - 2 }, (_, i) => `w${i}`)], 'word');
  const bytes = encodeModel(m, vocab);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(tensors.get('hs.weight')!.shape, [V - 1, 7]);
  assert.deepEqual(tensors.get('hs.bias')!.shape, [V - 1]);
  assert.deepEqual(tensors.get('direct.weight')!.shape, [77]);
  assert.ok(!tensors.has('decoder.weight') && !tensors.has('decoder.bias'));
  const cfg = JSON.parse(metadata.config!);
  assert.equal(cfg.output, 'hs');
  assert.equal(cfg.direct, 77);
  assert.equal(cfg.direct_order, 3);
  assert.deepEqual(JSON.parse(metadata.hs_tree!), Array.from(m.hsTree!));
  const loaded = decodeModel(bytes, k).model;
  const ids = Int32Array.from({ length: 40 }, (_, i) => (i * 5) % V);
  assert.equal(evaluateIds(loaded, ids).nll, evaluateIds(m, ids).nll);
  // bad trees and tables: one-line CheckpointErrors naming the problem
  const reject = (meta: Record<string, string>, t: typeof tensors, re: RegExp): void =>
    assert.throws(() => decodeModel(encodeSafetensors([...t.entries()], meta), k, 'f'), (e: Error) =>
      e instanceof CheckpointError && re.test(e.message) && !e.message.includes('\n'));
  const tree = JSON.parse(metadata.hs_tree!) as number[];
  const cyc = [...tree];
  cyc[cyc.indexOf(-1)] = -2;
  reject({ ...metadata, hs_tree: JSON.stringify(cyc) }, tensors, /word 1 is a leaf twice/);
  reject({ ...metadata, hs_tree: JSON.stringify(tree.slice(1)) }, tensors, /child entries for a vocabulary of 17/);
  reject({ ...metadata, hs_tree: JSON.stringify(tree.map((c, i) => (i === 1 ? 99 : c))) }, tensors, /expected an inner node/);
  reject({ ...metadata, hs_tree: '{"a":1}' }, tensors, /must be a JSON array/);
  const noTree = { ...metadata };
  delete noTree.hs_tree;
  reject(noTree, tensors, /lacks "hs_tree"/);
  const t2 = new Map(tensors);
  t2.set('direct.weight', { dtype: 'F32', shape: [76], data: new Float32Array(76) });
  reject(metadata, t2, /direct.weight has shape \[76\], config needs \[77\]/);
  const t3 = new Map(tensors);
  t3.delete('direct.weight');
  reject(metadata, t3, /missing tensor direct.weight/);
  reject({ ...metadata, config: JSON.stringify({ ...cfg, direct_order: 0 }) }, tensors, /direct order/);
});

test('folded input: gradients for the Elman cells; the file stores rnn.weight_ih_l0 = I (torch.nn.RNN loads it); any other matrix is refused', () => {
  for (const cell of ['sigmoid', 'tanh', 'relu'] as const) {
    assertGradcheck(gradcheck({ cell, layers: 2, T: 4, B: 2, foldInput: true, classes: 3, seed: 31 }), `${cell} folded`);
  }
  assert.throws(() => makeConfig({ vocabSize: 9, cell: 'lstm', foldInput: true, embed: 5, hidden: 5 }), /Elman cells/);
  assert.throws(() => makeConfig({ vocabSize: 9, foldInput: true, embed: 4, hidden: 5 }), /embed = hidden/);
  const V = 9;
  const m = new RnnLM(makeConfig({ vocabSize: V, embed: 5, hidden: 5, foldInput: true }), k);
  m.init(new Rng(1));
  assert.ok(!m.layout.has('rnn.weight_ih_l0'), 'W_e is not a parameter');
  const vocab = new Vocab(['<eos>', '<unk>', ...Array.from({ length: V - 2 }, (_, i) => `w${i}`)], 'word');
  const { tensors, metadata } = decodeSafetensors(encodeModel(m, vocab));
  const eye = tensors.get('rnn.weight_ih_l0')!;
  assert.deepEqual(eye.shape, [5, 5]);
  assert.deepEqual(Array.from(eye.data as Float32Array), Array.from({ length: 25 }, (_, i) => (i % 6 === 0 ? 1 : 0)));
  assert.deepEqual([...tensors.keys()].slice(0, 3), ['encoder.weight', 'rnn.weight_ih_l0', 'rnn.weight_hh_l0'], 'PyTorch state_dict order');
  assert.equal(JSON.parse(metadata.config!).fold_input, true);
  const ids = Int32Array.from({ length: 20 }, (_, i) => (i * 4) % V);
  assert.equal(evaluateIds(decodeModel(encodeSafetensors([...tensors.entries()], metadata), k).model, ids).nll, evaluateIds(m, ids).nll);
  const t2 = new Map(tensors);
  const notEye = new Float32Array(eye.data as Float32Array);
  notEye[1] = 0.5;
  t2.set('rnn.weight_ih_l0', { dtype: 'F32', shape: [5, 5], data: notEye });
  assert.throws(() => decodeModel(encodeSafetensors([...t2.entries()], metadata), k, 'f'), (e: Error) =>
    e instanceof CheckpointError && /must be the identity for a folded input/.test(e.message));
});

test('class order inside: a class model whose classes are not runs of ids stores vocabulary order, reloads exactly, and old files load unchanged', () => {
  const V = 19;
  const rng = new Rng(12);
  const counts = Array.from({ length: V }, () => 1 + rng.int(50)); // classes scattered over the ids
  const cls = assignClasses(counts, 4);
  const m = new RnnLM(makeConfig({ vocabSize: V, embed: 5, hidden: 5, classes: 4 }), k, { wordClasses: cls });
  m.init(new Rng(3));
  assert.ok(m.rowOrder !== null, 'the model keeps class order');
  const vocab = new Vocab(['<eos>', '<unk>', ...Array.from({ length: V - 2 }, (_, i) => `w${i}`)], 'word');
  const { tensors, metadata } = decodeSafetensors(encodeModel(m, vocab));
  const U = m.param('decoder.weight');
  const file = tensors.get('decoder.weight')!.data as Float32Array;
  for (let i = 0; i < V; i++) {
    const w: number = m.rowOrder![i];
    for (let j = 0; j < 5; j++) assert.equal(file[w * 5 + j], U[i * 5 + j], `word ${w}`);
  }
  // a file written in vocabulary order (as every rnnlm version writes it) loads to the same figures
  const loaded = decodeModel(encodeSafetensors([...tensors.entries()], metadata), k).model;
  const ids = Int32Array.from({ length: 30 }, () => rng.int(V));
  assert.equal(evaluateIds(loaded, ids).nll, evaluateIds(m, ids).nll);
  assertBitEqual(loaded.tensor('decoder.weight') as Float32Array, file, 'decoder.weight in vocabulary order');
});

// ---------------------------------------------------------------------------------------------
// Training: the sparse table, resume, threads.

test('the max-ent table is updated only where touched: SGD equals the dense rule, Adam is lazy (untouched entries keep their moments)', () => {
  const V = 11;
  const m = new RnnLM(makeConfig({ vocabSize: V, embed: 4, hidden: 4, direct: 5000, directOrder: 2 }), k);
  m.init(new Rng(1));
  const x = Int32Array.from({ length: 8 }, (_, i) => i % V);
  const y = Int32Array.from({ length: 8 }, (_, i) => (i + 3) % V);
  for (const name of ['sgd', 'adam'] as const) {
    const opt = new Optimizer(name, (n) => m.alloc(n), m.params.length);
    opt.attachSparse((n) => m.alloc(n), 5000);
    m.direct!.weight.fill(0);
    m.zeroGrad();
    m.forward(x, 4, 2, m.newState(2), { train: true });
    m.loss(y, true, 1 / 8);
    m.backward();
    const sg = m.direct!.grad;
    const touched = Array.from(sg.list.subarray(1, 1 + sg.list[0]));
    assert.ok(touched.length > 0 && touched.length < 5000 / 2, `${touched.length} entries touched`);
    const g = Float64Array.from(sg.g);
    opt.step(k, m.params, m.grads, 0.5, { table: m.direct!.weight, grad: sg, gs: 1 });
    assert.equal(sg.list[0], 0, 'the touched list is emptied by the update');
    assert.ok(sg.g.every((v) => v === 0), 'and the gradient cleared');
    for (let i = 0; i < 5000; i++) {
      if (!touched.includes(i)) {
        assert.equal(m.direct!.weight[i], 0, `${name}: untouched entry ${i} moved`);
        if (name === 'adam') assert.equal(opt.sparseState.get('direct.m')![i], 0);
      } else if (name === 'sgd') {
        assert.equal(m.direct!.weight[i], Math.fround(-0.5 * g[i]), `sgd entry ${i}`);
      }
    }
  }
});

test('row-sparse gradients: clipping, SGD and Adagrad over the touched rows equal the dense steps; zeroGrad clears every touched row', () => {
  for (const name of ['sgd', 'adagrad'] as const) {
    const make = (): RnnLM => hsModel(31, { embed: 7, hidden: 7 });
    const [a, b] = [make(), make()];
    const x = Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 31);
    const y = Int32Array.from({ length: 12 }, (_, i) => (i * 5 + 2) % 31);
    const [oa, ob] = [new Optimizer(name, (n) => a.alloc(n), a.params.length), new Optimizer(name, (n) => b.alloc(n), b.params.length)];
    for (let step = 0; step < 3; step++) {
      for (const m of [a, b]) {
        m.zeroGrad();
        assert.ok(m.grads.every((v) => v === 0), 'zeroGrad left a non-zero gradient');
        m.forward(x, 4, 3, m.newState(3), { train: true });
        m.loss(y, true, 1 / 12);
        m.backward();
      }
      const regions = a.gradRegions();
      assert.ok(regions.rows.length === 2 && regions.rows[0].count < 31 && regions.rows[1].count < 30, 'encoder.weight and hs.weight are row-sparse');
      const ca = clipGradNorms(k, a.grads, null, 0.05, regions);
      const cb = clipGradNorms(k, b.grads, null, 0.05);
      assert.ok(Math.abs(ca.norm - cb.norm) < 1e-12 * cb.norm && ca.gs < 1, `norm ${ca.norm} vs ${cb.norm}`);
      oa.step(k, a.params, a.grads, 0.5, undefined, regions);
      ob.step(k, b.params, b.grads, 0.5);
      for (let i = 0; i < a.params.length; i++) assert.ok(Math.abs(a.params[i] - b.params[i]) < 1e-12, `${name} step ${step}: param ${i} ${a.params[i]} vs ${b.params[i]}`);
    }
  }
});

test('a run with max-ent connections (hs and classes) interrupted and resumed equals an uninterrupted one', async () => {
  for (const extra of [{ output: 'hs' as const, optimizer: 'adam' as const, lr: 0.01 }, { classes: 4, optimizer: 'sgd' as const, lr: 1 }]) {
    const base = {
      train: join(dir, 'train.txt'), valid: join(dir, 'valid.txt'), embed: 6, hidden: 6, batch: 4, bptt: 6, epochs: 2, seed: 3,
      backend: 'ref' as const, direct: 3000, directOrder: 3, dropout: 0.2, force: true, ...extra, // force: each case trains over the last one's files
    };
    const full = await trainRun({ ...base, save: join(dir, 'full.safetensors') });
    const ac = new AbortController();
    let steps = 0;
    const part = await trainRun({ ...base, save: join(dir, 'part.safetensors'), hooks: { signal: ac.signal, onStep: () => { if (++steps === 17) ac.abort(); } } });
    assert.equal(part.interrupted, true);
    const rest = await trainRun({ ...base, save: join(dir, 'part.safetensors'), resume: true });
    assert.equal(rest.epochs, full.epochs);
    const a = loadModel(join(dir, 'full.safetensors'), k).model;
    const b = loadModel(join(dir, 'part.safetensors'), k).model;
    assertBitEqual(b.params as Float32Array, a.params as Float32Array, `${extra.output ?? 'classes'} params`);
    assertBitEqual(b.direct!.weight as Float32Array, a.direct!.weight as Float32Array, `${extra.output ?? 'classes'} direct.weight`);
  }
});

test('1 and 2 wasm threads train bit-identical models: classes (+ dropout, max-ent), hierarchical softmax (+ max-ent)', async (t) => {
  let k1: Kernels;
  let k2: Kernels;
  try {
    k1 = await createWasmKernels(nodeWasmPlatform, { threads: 1 });
    k2 = await createWasmKernels(nodeWasmPlatform, { threads: 2 });
  } catch (err) {
    t.skip(`wasm threads unavailable: ${(err as Error).message}`);
    return;
  }
  try {
    const text = makeText(61, 600);
    const vocab = Vocab.build(text, 'word');
    const ids = vocab.encode(text).ids;
    const counts = unigramCounts(ids, vocab.size);
    const opts = { ...DEFAULT_TRAIN, batch: 24, bptt: 12, epochs: 1, lr: 0.01, optimizer: 'adam' as const, clip: 1 };
    for (const extra of [{ classes: 6, dropout: 0.25, direct: 20000 }, { output: 'hs' as const, direct: 20000 }, { classes: 5, cell: 'tanh' as const }] as Partial<ModelConfig>[]) {
      const run = async (kk: Kernels): Promise<RnnLM> => {
        const cfg = makeConfig({ vocabSize: vocab.size, embed: 40, hidden: 40, ...extra });
        const m = new RnnLM(cfg, kk, {
          wordClasses: cfg.classes ? assignClasses(counts, cfg.classes) : undefined, hsTree: cfg.output === 'hs' ? buildHuffmanTree(counts) : undefined,
        });
        m.init(new Rng(1));
        await train(m, ids, null, opts);
        return m;
      };
      const a = await run(k1);
      const b = await run(k2);
      assertBitEqual(b.params as Float32Array, a.params as Float32Array, `${JSON.stringify(extra)}: params`);
      if (a.direct) assertBitEqual(b.direct!.weight as Float32Array, a.direct.weight as Float32Array, 'direct.weight');
    }
  } finally {
    k1.dispose();
    k2.dispose();
  }
});

// ---------------------------------------------------------------------------------------------
// The flags, end to end.

test('CLI: train --output hs --direct, eval / generate / score; gradcheck --output hs --direct; bad values rejected', () => {
  const flags = ['--train', 'train.txt', '--valid', 'valid.txt', '--embed', '8', '--hidden', '8', '--batch', '4', '--bptt', '6', '--epochs', '1', '--backend', 'ref'];
  const t = runCli(['train', '--save', 'h.safetensors', '--output', 'hs', '--direct', '0.01', '--direct-order', '2', ...flags, '--json'], dir);
  assertOk(t);
  const { metadata, tensors } = decodeSafetensors(readFileBytes(join(dir, 'h.safetensors')));
  const cfg = JSON.parse(metadata.config!);
  assert.deepEqual([cfg.output, cfg.direct, cfg.direct_order], ['hs', 10000, 2]);
  assert.deepEqual(tensors.get('direct.weight')!.shape, [10000]);
  const ev = runCli(['eval', '--model', 'h.safetensors', '--text', 'valid.txt', '--json', '--backend', 'ref'], dir);
  assertOk(ev);
  assert.ok(JSON.parse(ev.stdout).perplexity > 1);
  assertOk(runCli(['generate', '--model', 'h.safetensors', '--length', '10', '--backend', 'ref'], dir));
  assertOk(runCli(['score', '--model', 'h.safetensors', '--text', 'valid.txt', '--backend', 'ref'], dir));
  const g = runCli(['gradcheck', '--cell', 'sigmoid', '--output', 'hs', '--direct', '23', '--json'], dir);
  assertOk(g);
  const o = JSON.parse(g.stdout);
  assert.equal(o.pass, true);
  assert.ok(o.results[0].tensors.some((x: { name: string }) => x.name === 'hs.weight') && o.results[0].tensors.some((x: { name: string }) => x.name === 'direct.weight'));
  assertCleanFailure(runCli(['train', '--save', 'x.safetensors', '--output', 'classes', ...flags], dir), [/output classes needs the number of classes/]);
  // --output hs replaces a class-factored preset's output layer
  assertOk(runCli(['train', '--save', 'p.safetensors', '--preset', 'mikolov', '--output', 'hs', ...flags], dir));
  assert.equal(JSON.parse(decodeSafetensors(readFileBytes(join(dir, 'p.safetensors'))).metadata.config!).output, 'hs');
  assertCleanFailure(runCli(['train', '--save', 'x.safetensors', '--output', 'hs', '--tied', ...flags], dir), [/tied weights need decoder.weight/]);
  assertCleanFailure(runCli(['train', '--save', 'x.safetensors', '--output', 'tree', ...flags], dir), [/--output/, /softmax, classes, hs/]);
  assertCleanFailure(runCli(['train', '--save', 'x.safetensors', '--direct', '-1', ...flags], dir), [/--direct/, /millions of entries/]);
  assertCleanFailure(runCli(['train', '--save', 'x.safetensors', '--direct', '1', '--direct-order', '9', ...flags], dir), [/--direct-order/]);
});
