// Dropout (src/nn/dropout.ts; Zaremba et al.: embeddings, between layers, before the output,
// never on the recurrent connections; inverted scaling) and weight tying (decoder.weight is
// encoder.weight): gradient checks in float64 (dropout with a fixed mask), masks drawn only in
// training and only from the caller's seeded Rng, resumed runs with dropout equal uninterrupted
// ones, and a tied model keeps one copy in the arena, two equal tensors in the checkpoint, and
// decoder = encoder after training.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefKernels } from '../src/kernels/ref.js';
import { CELLS, makeConfig } from '../src/nn/config.js';
import { RnnLM, modelSpecs } from '../src/nn/model.js';
import { gradcheck } from '../src/nn/gradcheck.js';
import { Rng } from '../src/rng.js';
import { Vocab } from '../src/data/vocab.js';
import { CheckpointError, ConfigError } from '../src/errors.js';
import { train, DEFAULT_TRAIN } from '../src/train/trainer.js';
import { decodeModel, encodeModel } from '../src/io/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { decodeTrainState, statePath } from '../src/io/train-state.js';
import { readFileBytes } from '../src/node/atomic.js';
import { loadModel } from '../src/node/checkpoint-file.js';
import { trainRun, type TrainRunOptions } from '../src/node/train-run.js';
import { assertBitEqual, assertGradcheck, makeText } from './helpers.js';
import { useTextDir } from './fixtures.js';

const TOL = 1e-6;
const k = new RefKernels();

const td = useTextDir('rnnlm-dropout-', 31);

for (const cell of CELLS) {
  test(`gradcheck ${cell} with dropout (fixed masks), 1 and 2 layers`, () => {
    assertGradcheck(gradcheck({ cell, layers: 1, T: 4, B: 2, dropout: 0.5, seed: 3 }), `${cell} L1`);
    assertGradcheck(gradcheck({ cell, layers: 2, T: 5, B: 3, dropout: 0.3, seed: 4 }), `${cell} L2`);
  });
  test(`gradcheck ${cell} with tied weights (one tensor, both uses' gradients summed), with and without dropout`, () => {
    const r = gradcheck({ cell, layers: 2, T: 4, B: 2, tied: true, seed: 5 });
    assert.deepEqual(r.tensors.map((t) => t.name).filter((n) => n.startsWith('decoder') || n.startsWith('encoder')), ['encoder.weight', 'decoder.bias']);
    assertGradcheck(r, `${cell} tied`);
    assertGradcheck(gradcheck({ cell, layers: 2, T: 4, B: 2, tied: true, dropout: 0.25, seed: 6 }), `${cell} tied + dropout`);
  });
}

// ---------------------------------------------------------------------------------------------
// Dropout behaviour.

function model(cell: 'lstm' | 'gru' | 'sigmoid', dropout: number, layers = 2): RnnLM {
  const m = new RnnLM(makeConfig({ cell, layers, vocabSize: 17, embed: 6, hidden: 6, dropout }), k, { dtype: 'f64' });
  m.init(new Rng(2));
  return m;
}

const xs = Int32Array.from({ length: 24 }, (_, i) => (i * 5 + 2) % 17);
const ys = Int32Array.from({ length: 24 }, (_, i) => (i * 3 + 1) % 17);

test('no dropout at evaluation: a P = 0.5 model without train gives exactly the P = 0 figures, drawing nothing', () => {
  const a = model('lstm', 0.5);
  const b = model('lstm', 0);
  const rng = new Rng(9);
  const s0 = rng.getState();
  const la = a.forward(xs, 6, 4, a.newState(4), { rng }).slice();
  const lb = b.forward(xs, 6, 4, b.newState(4)).slice();
  assertBitEqual(la as Float64Array, lb as Float64Array, 'logits');
  assert.deepEqual(rng.getState(), s0, 'evaluation drew from the rng');
  // And at P = 0, training draws nothing either (runs without dropout keep their numbers).
  b.forward(xs, 6, 4, b.newState(4), { train: true, rng });
  assert.deepEqual(rng.getState(), s0, 'training at dropout 0 drew from the rng');
});

test('training with dropout: masks come from the given rng (same seed, same loss), scale kept units by 1/(1-P)', () => {
  const m = model('gru', 0.4);
  const run = (seed: number): number => {
    m.forward(xs, 6, 4, m.newState(4), { train: true, rng: new Rng(seed) });
    return m.loss(ys, false, 1);
  };
  assert.equal(run(1), run(1));
  assert.notEqual(run(1), run(2));
  const evalLoss = (() => {
    m.forward(xs, 6, 4, m.newState(4));
    return m.loss(ys, false, 1);
  })();
  assert.notEqual(run(1), evalLoss);
  assert.throws(() => m.forward(xs, 6, 4, m.newState(4), { train: true }), ConfigError, 'dropout in training without an rng');
});

test('dropout is inverted: E[dropped embedding] = embedding, and about P of the units are zero', async () => {
  const { dropoutMask, dropoutForward } = await import('../src/nn/dropout.js');
  const n = 20000;
  const P = 0.3;
  const mask = new Float64Array(n);
  dropoutMask(k, mask, P, new Rng(4), n);
  const zeros = mask.filter((v) => v === 0).length;
  assert.ok(Math.abs(zeros / n - P) < 0.02, `dropped share ${zeros / n}`);
  assert.ok(mask.every((v) => v === 0 || v === 1 / (1 - P)));
  const x = new Float64Array(n).fill(2);
  const y = new Float64Array(n);
  dropoutForward(k, y, x, mask, n);
  const mean = y.reduce((a, b) => a + b, 0) / n;
  assert.ok(Math.abs(mean - 2) < 0.05, `mean ${mean}`);
});

test('dropout kernels: two 32-bit draws per mask, whatever its size; nothing written past n', async () => {
  const { dropoutMask, dropoutForward, dropoutBackward } = await import('../src/nn/dropout.js');
  const rng = new Rng(6);
  const twin = new Rng(6);
  const mask = new Float64Array(6).fill(9);
  dropoutMask(k, mask, 0.25, rng, 4);
  twin.nextU32();
  twin.nextU32();
  assert.deepEqual(rng.getState(), twin.getState(), 'drew exactly two words');
  assert.deepEqual([...mask.subarray(4)], [9, 9], 'nothing past n');
  assert.ok(mask.subarray(0, 4).every((v) => v === 0 || v === 1 / 0.75));
  const y = new Float64Array(4).fill(7);
  dropoutForward(k, y, Float64Array.from([1, 2, 3, 4]), Float64Array.from([0, 2, 2, 0]), 3);
  assert.deepEqual([...y], [0, 4, 6, 7]);
  const dx = new Float64Array(4).fill(7);
  dropoutBackward(k, dx, Float64Array.from([1, 1, 1, 1]), Float64Array.from([2, 0, 2, 2]), 3);
  assert.deepEqual([...dx], [2, 0, 2, 7]);
});


/** An Rng whose first `first` 32-bit words come from seed a and the rest from seed b. */
function splicedRng(first: number, a: number, b: number): Rng {
  const ra = new Rng(a);
  const rb = new Rng(b);
  let used = 0;
  return { nextU32: () => (used++ < first ? ra.nextU32() : rb.nextU32()) } as unknown as Rng;
}

test('dropout stays off the recurrent path: with the embedding mask fixed, the carried state ignores the output mask', () => {
  // One layer: masks at the embeddings (site 0, a key of two words) and before the output (site 1).
  const m = model('lstm', 0.5, 1);
  const run = (seedB: number) => {
    const st = m.newState(4);
    m.forward(xs, 6, 4, st, { train: true, rng: splicedRng(2, 7, seedB) });
    return { st, loss: m.loss(ys, false, 1) };
  };
  const a = run(8);
  const b = run(9);
  assertBitEqual(b.st as Float64Array, a.st as Float64Array, 'carried h and c');
  assert.notEqual(a.loss, b.loss, 'the output-side mask must change the loss');
});

const base = (save: string, extra: Partial<TrainRunOptions> = {}): TrainRunOptions => td.run(save, { hidden: 6, seed: 3, ...extra });

test('a run with dropout interrupted mid-epoch and resumed equals an uninterrupted one (the mask stream is saved)', async () => {
  const opts = { cell: 'gru', layers: 2, dropout: 0.3 } as const;
  const saveA = td.path('dA.safetensors');
  const saveB = td.path('dB.safetensors');
  await trainRun(base(saveA, opts));
  const controller = new AbortController();
  let steps = 0;
  const b1 = await trainRun({ ...base(saveB, opts), hooks: { signal: controller.signal, onStep: () => { if (++steps === 11) controller.abort(); } } });
  assert.equal(b1.interrupted, true);
  await trainRun({ ...base(saveB, opts), resume: true });
  const a = decodeTrainState(readFileBytes(statePath(saveA)), k, 'A');
  const b = decodeTrainState(readFileBytes(statePath(saveB)), k, 'B');
  assertBitEqual(b.model.params as Float32Array, a.model.params as Float32Array, 'params');
  assert.deepEqual(b.state.rng, a.state.rng);
  assert.equal(JSON.parse(decodeSafetensors(readFileBytes(saveA)).metadata.config!).dropout, 0.3);
  assert.equal(loadModel(saveA, k).model.config.dropout, 0.3);
});

// ---------------------------------------------------------------------------------------------
// Tied weights.

test('tied needs embed = hidden: a ConfigError that says so', () => {
  assert.throws(() => makeConfig({ vocabSize: 9, embed: 4, hidden: 5, tied: true }), (e: Error) =>
    e instanceof ConfigError && /embed = hidden/.test(e.message) && /4/.test(e.message) && /5/.test(e.message));
  assert.throws(() => makeConfig({ vocabSize: 9, dropout: 1 }), (e: Error) => e instanceof ConfigError && /dropout/.test(e.message));
  assert.throws(() => makeConfig({ vocabSize: 9, dropout: -0.1 }), ConfigError);
});

test('tied: one copy in the arena; the checkpoint holds encoder.weight and decoder.weight, equal, and loads back', () => {
  const cfg = makeConfig({ cell: 'lstm', vocabSize: 12, embed: 5, hidden: 5, tied: true });
  const untied = makeConfig({ ...cfg, tied: false });
  const m = new RnnLM(cfg, k);
  m.init(new Rng(1));
  assert.equal(m.params.length, new RnnLM(untied, k).params.length - 12 * 5);
  assert.ok(!modelSpecs(cfg).some((s) => s.name === 'decoder.weight'));
  const [dv, ev] = [m.param('decoder.weight'), m.param('encoder.weight')];
  assert.ok(dv.buffer === ev.buffer && dv.byteOffset === ev.byteOffset && dv.length === ev.length, 'decoder.weight is a view of encoder.weight');
  const vocab = new Vocab(['<eos>', '<unk>', ...'abcdefghij'], 'word');
  const bytes = encodeModel(m, vocab);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(tensors.get('decoder.weight')!.shape, [12, 5]);
  assertBitEqual(tensors.get('decoder.weight')!.data as Float32Array, tensors.get('encoder.weight')!.data as Float32Array, 'file copies');
  assert.equal(JSON.parse(metadata.config!).tied, true);
  const loaded = decodeModel(bytes, k).model;
  assertBitEqual(loaded.params as Float32Array, m.params as Float32Array, 'params');
  // A file whose copies differ is refused.
  const bad = new Map(tensors);
  const dec = (tensors.get('decoder.weight')!.data as Float32Array).slice();
  dec[7] += 1;
  bad.set('decoder.weight', { ...tensors.get('decoder.weight')!, data: dec });
  assert.throws(() => decodeModel(encodeSafetensors([...bad.entries()], metadata), k, 'bad'), (e: Error) =>
    e instanceof CheckpointError && /decoder\.weight differs from encoder\.weight at index 7/.test(e.message));
});

test('tied: decoder and encoder stay identical after training steps, and both uses move the shared weights', async () => {
  const text = makeText(5, 200);
  const vocab = Vocab.build(text, 'word');
  const ids = vocab.encode(text).ids;
  for (const cell of ['sigmoid', 'lstm', 'gru'] as const) {
    const m = new RnnLM(makeConfig({ cell, vocabSize: vocab.size, embed: 8, hidden: 8, tied: true, dropout: 0.2 }), k);
    m.init(new Rng(4));
    const before = (m.param('encoder.weight') as Float32Array).slice();
    await train(m, ids, null, { ...DEFAULT_TRAIN, batch: 4, bptt: 8, epochs: 1, lr: 0.01, optimizer: 'adam', clip: 1 });
    assertBitEqual(m.param('decoder.weight') as Float32Array, m.param('encoder.weight') as Float32Array, `${cell}: decoder vs encoder`);
    // Rows of words that never occur as input are still trained by the output layer's use.
    const E = m.config.embed;
    let changedRows = 0;
    for (let w = 0; w < vocab.size; w++) {
      if (before.subarray(w * E, (w + 1) * E).some((v, j) => v !== m.param('encoder.weight')[w * E + j])) changedRows++;
    }
    assert.equal(changedRows, vocab.size, `${cell}: every row of the shared matrix moved`);
  }
});

test('train --tied through trainRun: refused with embed ≠ hidden; saved file holds both names', async () => {
  await assert.rejects(trainRun(base(td.path('t0.safetensors'), { tied: true, embed: 4, hidden: 6 })), (e: Error) =>
    e instanceof ConfigError && /embed = hidden/.test(e.message));
  const save = td.path('t1.safetensors');
  await trainRun(base(save, { tied: true, epochs: 1, cell: 'lstm' }));
  const { tensors } = decodeSafetensors(readFileBytes(save));
  assertBitEqual(tensors.get('decoder.weight')!.data as Float32Array, tensors.get('encoder.weight')!.data as Float32Array, 'file copies');
});
