// Library-level checkpoint tests (src/io/checkpoint.ts, src/io/train-state.ts, src/node/train-run.ts):
// a trained model survives save + load bit for bit, under PyTorch's tensor names and shapes, with
// its config and vocabulary in the metadata; a run interrupted mid-epoch and resumed ends in
// exactly the same parameters as an uninterrupted one; saving leaves no temporary files behind.
// Tiny models (embed 8, hidden 6) on seeded texts of a few thousand tokens, reference backend.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeKernels as createKernels } from '../src/node/platform.js';
import { loadModel } from '../src/node/checkpoint-file.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { decodeTrainState, statePath } from '../src/io/train-state.js';
import { readFileBytes } from '../src/node/atomic.js';
import { trainRun, type TrainRunOptions, type TrainRunResult } from '../src/node/train-run.js';
import type { RnnLM } from '../src/nn/model.js';
import { Rng } from '../src/rng.js';
import { assertBitEqual, makeText, rmTemp, tempDir } from './helpers.js';

let dir = '';
let trainFile = '';
let validFile = '';

before(() => {
  dir = tempDir('rnnlm-ckpt-');
  trainFile = join(dir, 'train.txt');
  validFile = join(dir, 'valid.txt');
  writeFileSync(trainFile, makeText(11, 500)); // ≈ 2,700 tokens
  writeFileSync(validFile, makeText(12, 60));
});

after(() => rmTemp(dir));

const base = (save: string, extra: Partial<TrainRunOptions> = {}): TrainRunOptions => ({
  train: trainFile, valid: validFile, save, embed: 8, hidden: 6, batch: 4, bptt: 7, epochs: 1, lr: 1, seed: 5,
  backend: 'ref', ...extra,
});

/** Train and also return the in-memory model as it was last saved as "best". */
async function trainKeepingModel(o: TrainRunOptions): Promise<{ r: TrainRunResult; best: RnnLM }> {
  let best: RnnLM | null = null;
  let bestParams: Float32Array | null = null;
  const r = await trainRun({
    ...o,
    hooks: {
      saveBest: (m) => {
        best = m;
        bestParams = (m.params as Float32Array).slice();
      },
    },
  });
  assert.ok(best !== null && bestParams !== null, 'saveBest was never called');
  // The model object keeps training after a save; check it is still the saved one.
  assertBitEqual((best as RnnLM).params as Float32Array, bestParams, 'params after the last best save');
  return { r, best: best as RnnLM };
}

/** Ids [T·B] = [9·2] to run a forward on, spread over the vocabulary. */
function probeIds(V: number): Int32Array {
  const x = new Int32Array(18);
  for (let i = 0; i < x.length; i++) x[i] = (i * 7 + 3) % V;
  return x;
}

function forwardLogits(m: RnnLM, x: Int32Array, T: number, B: number): Float32Array {
  const state = m.newState(B);
  return (m.forward(x, T, B, state) as Float32Array).slice();
}

for (const layers of [1, 2]) {
  test(`round trip (${layers} layer${layers > 1 ? 's' : ''}): PyTorch names and shapes, metadata, bit-identical logits`, async () => {
    const save = join(dir, `rt${layers}.safetensors`);
    const { r, best } = await trainKeepingModel(base(save, { layers, cell: layers === 1 ? 'sigmoid' : 'tanh', valid: null }));
    assert.equal(r.epochs, 1);
    const V = r.vocabSize;
    const E = 8;
    const H = 6;

    // Tensor names, shapes and dtypes exactly as torch's word_language_model state_dict.
    const { tensors, metadata } = decodeSafetensors(readFileBytes(save));
    const expected: Record<string, number[]> = { 'encoder.weight': [V, E] };
    for (let l = 0; l < layers; l++) {
      expected[`rnn.weight_ih_l${l}`] = [H, l === 0 ? E : H];
      expected[`rnn.weight_hh_l${l}`] = [H, H];
      expected[`rnn.bias_ih_l${l}`] = [H];
      expected[`rnn.bias_hh_l${l}`] = [H];
    }
    expected['decoder.weight'] = [V, H];
    expected['decoder.bias'] = [V];
    assert.deepEqual([...tensors.keys()].sort(), Object.keys(expected).sort());
    for (const [name, shape] of Object.entries(expected)) {
      const t = tensors.get(name)!;
      assert.equal(t.dtype, 'F32', name);
      assert.deepEqual(t.shape, shape, name);
      assertBitEqual(t.data as Float32Array, best.param(name) as Float32Array, `file tensor ${name}`);
    }

    // Metadata: format, config JSON, vocabulary JSON array of vocab_size tokens.
    assert.equal(metadata.format, 'rnnlm');
    const config = JSON.parse(metadata.config!) as Record<string, unknown>;
    assert.deepEqual(config, { level: 'word', cell: layers === 1 ? 'sigmoid' : 'tanh', layers, embed: E, hidden: H, vocab_size: V });
    const vocab = JSON.parse(metadata.vocab!) as unknown;
    assert.ok(Array.isArray(vocab));
    assert.equal(vocab.length, V);
    assert.deepEqual(vocab.slice(0, 2), ['<eos>', '<unk>']);

    // Load and compare a forward pass bit for bit with the in-memory model.
    const kernels = await createKernels({ backend: 'ref' });
    const loaded = loadModel(save, kernels);
    assert.deepEqual(loaded.model.config, best.config);
    assert.equal(loaded.vocab.size, V);
    assertBitEqual(loaded.model.params as Float32Array, best.params as Float32Array, 'params');
    const x = probeIds(V);
    assertBitEqual(forwardLogits(loaded.model, x, 9, 2), forwardLogits(best, x, 9, 2), 'logits');
  });
}

async function resumeEqualsUninterrupted(optimizer: 'sgd' | 'adam', seed: number): Promise<void> {
  const opts = { epochs: 2, optimizer, lr: optimizer === 'adam' ? 0.01 : 1, seed } as const;
  const saveA = join(dir, `A-${optimizer}.safetensors`);
  const saveB = join(dir, `B-${optimizer}.safetensors`);

  const a = await trainRun(base(saveA, opts));
  assert.equal(a.interrupted, false);
  assert.equal(a.epochs, 2);

  // Run B: abort from onStep after k steps of epoch 1; the trainer stops after that step.
  const k = 13;
  const controller = new AbortController();
  let steps = 0;
  const b1 = await trainRun({
    ...base(saveB, opts),
    hooks: {
      signal: controller.signal,
      onStep: () => {
        if (++steps === k) controller.abort();
      },
    },
  });
  assert.equal(b1.interrupted, true);
  assert.equal(b1.steps, k);
  assert.equal(b1.epochs, 0, 'no epoch should have completed');
  assert.ok(!existsSync(saveB), 'no best model before the first epoch ends');
  const kernels = await createKernels({ backend: 'ref' });
  const mid = decodeTrainState(readFileBytes(statePath(saveB)), kernels, 'B state');
  assert.equal(mid.state.epoch, 0);
  assert.equal(mid.state.segment, k);
  assert.equal(mid.state.step, k);
  assert.ok(mid.state.segment < a.steps / 2, 'the abort must land inside epoch 1');

  const b2 = await trainRun({ ...base(saveB, opts), resume: true });
  assert.equal(b2.interrupted, false);
  assert.equal(b2.steps, a.steps);

  const sA = decodeTrainState(readFileBytes(statePath(saveA)), kernels, 'A state');
  const sB = decodeTrainState(readFileBytes(statePath(saveB)), kernels, 'B state');
  assertBitEqual(sB.model.params as Float32Array, sA.model.params as Float32Array, 'final state params');
  assertBitEqual(sB.state.hidden as Float32Array, sA.state.hidden as Float32Array, 'final carried hidden state');
  assert.deepEqual([...sB.state.optimizerState.keys()], [...sA.state.optimizerState.keys()]);
  for (const [name, buf] of sA.state.optimizerState) {
    assertBitEqual(sB.state.optimizerState.get(name) as Float32Array, buf as Float32Array, `optimizer.${name}`);
  }
  assert.equal(sB.state.optimizerT, sA.state.optimizerT);
  assert.equal(sB.state.lr, sA.state.lr);
  assert.equal(sB.state.bestValid, sA.state.bestValid);
  assert.deepEqual(sB.state.rng, sA.state.rng);

  // The best models are the same file, byte for byte.
  assert.ok(readFileSync(saveB).equals(readFileSync(saveA)), 'best models differ');

  // Histories: same perplexities and learning rates (timings differ).
  const figures = (h: TrainRunResult['history']) => h.map((e) => ({ epoch: e.epoch, train: e.trainPerplexity, valid: e.validPerplexity, lr: e.lr }));
  assert.deepEqual(figures(b2.history), figures(a.history));
  assert.equal(b2.bestValidPerplexity, a.bestValidPerplexity);
}

// Seed 1 is the CLI's default seed. (It is also one whose RNG state has a word ≥ 2^31: see the
// RNG test below; seed 5 does not, so the adam case isolates the optimizer state.)
test('resume equals uninterrupted (sgd, default seed 1): params, best model and history bit-identical', async () => {
  await resumeEqualsUninterrupted('sgd', 1);
});

test('resume equals uninterrupted (adam, seed 5): optimizer moments carried across the interruption', async () => {
  await resumeEqualsUninterrupted('adam', 5);
});

// A fixed bug (src/rng.ts): nextU32 stored `a = b ^ (b >>> 9)`, a *signed* 32-bit integer, so
// getState() could return negative words, which setState() refused ("must be four unsigned 32-bit
// integers"); resuming a run then failed with a RangeError for about half of all seeds, the
// default seed 1 among them. getState() now returns unsigned words; this keeps it so.
test('train state: the RNG state of every seed round-trips through getState / setState', () => {
  const failing: number[] = [];
  for (let seed = 0; seed < 64; seed++) {
    const r = new Rng(seed);
    for (let i = 0; i < seed; i++) r.nextU32(); // and at other points of the stream
    const st = r.getState();
    const copy = new Rng(12345);
    try {
      copy.setState(st);
    } catch {
      failing.push(seed);
      continue;
    }
    for (let i = 0; i < 8; i++) assert.equal(copy.nextU32(), r.nextU32(), `seed ${seed}: stream after setState`);
  }
  assert.deepEqual(failing, [], `setState(getState()) throws for seeds ${failing.join(', ')}`);
});

test('atomic write: no temporary files remain after saving', async () => {
  const sub = join(dir, 'atomic');
  mkdirSync(sub);
  const save = join(sub, 'm.safetensors');
  await trainRun(base(save, { epochs: 2 }));
  const files = readdirSync(sub).sort();
  assert.ok(files.includes('m.safetensors') && files.includes('m.safetensors.state'), `files: ${files.join(', ')}`);
  assert.deepEqual(files.filter((f) => f.includes('.tmp-')), [], `leftover temporaries: ${files.join(', ')}`);
  assert.deepEqual(files, ['m.safetensors', 'm.safetensors.state']);
  const all = readdirSync(dir);
  assert.deepEqual(all.filter((f) => f.includes('.tmp-')), [], `leftover temporaries in ${dir}`);
});
