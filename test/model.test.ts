// The model's numbers against what they must be: a uniform model's perplexity is exactly |V|,
// the initial loss is ≈ ln |V|, evaluation does not depend on chunking, training drives a
// repetitive text toward perplexity 1 and lowers PTB validation perplexity.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { RefKernels } from '../src/kernels/ref.js';
import { createNodeKernels as createKernels } from '../src/node/platform.js';
import { CELLS, makeConfig } from '../src/nn/config.js';
import { RnnLM } from '../src/nn/model.js';
import { Rng } from '../src/rng.js';
import { Vocab } from '../src/data/vocab.js';
import { evaluateIds } from '../src/infer/evaluate.js';
import { train, DEFAULT_TRAIN } from '../src/train/trainer.js';
import { PTB, needs } from './data-paths.js';
import { assignClasses, unigramCounts } from '../src/data/classes.js';
import { builtinSlice } from './fixtures.js';
import { assertBitEqual } from './helpers.js';

const k = new RefKernels();

function tinyModel(V: number, cell: 'sigmoid' | 'tanh' | 'relu' = 'sigmoid', H = 16): RnnLM {
  const m = new RnnLM(makeConfig({ vocabSize: V, embed: 8, hidden: H, cell }), k);
  m.init(new Rng(3));
  return m;
}

test('a model with zero output weights has perplexity exactly |V|', () => {
  const V = 37;
  const m = tinyModel(V);
  m.param('decoder.weight').fill(0);
  m.param('decoder.bias').fill(0);
  const rng = new Rng(5);
  const ids = Int32Array.from({ length: 500 }, () => rng.int(V));
  const r = evaluateIds(m, ids, { chunk: 64 });
  assert.equal(r.tokens, 500);
  assert.ok(Math.abs(r.perplexity - V) < 1e-9 * V, `perplexity ${r.perplexity} != ${V}`);
});

test('the initial loss is close to ln |V| (-log(1/V) per token)', () => {
  const V = 200;
  const m = tinyModel(V);
  const rng = new Rng(9);
  const ids = Int32Array.from({ length: 400 }, () => rng.int(V));
  const r = evaluateIds(m, ids);
  assert.ok(Math.abs(r.crossEntropy - Math.log(V)) < 0.05, `initial cross-entropy ${r.crossEntropy} vs ln V = ${Math.log(V)}`);
});

test('evaluation is exact: the figure does not depend on the chunk length', () => {
  const m = tinyModel(23, 'tanh');
  const rng = new Rng(2);
  const ids = Int32Array.from({ length: 301 }, () => rng.int(23));
  const a = evaluateIds(m, ids, { chunk: 1 });
  const b = evaluateIds(m, ids, { chunk: 300 });
  const c = evaluateIds(m, ids, { chunk: 17 });
  assert.ok(Math.abs(a.nll - b.nll) < 1e-9 * a.nll && Math.abs(a.nll - c.nll) < 1e-9 * a.nll, `${a.nll} ${b.nll} ${c.nll}`);
});

test('training on a repetitive text drives perplexity toward 1', async () => {
  const text = 'the cat sat on the mat\n'.repeat(150);
  const vocab = Vocab.build(text, 'word');
  const ids = vocab.encode(text).ids;
  const m = new RnnLM(makeConfig({ vocabSize: vocab.size, embed: 16, hidden: 32, cell: 'tanh' }), k);
  m.init(new Rng(1));
  const before = evaluateIds(m, ids.subarray(0, 70)).perplexity;
  await train(m, ids, null, { ...DEFAULT_TRAIN, batch: 4, bptt: 14, epochs: 20, lr: 0.02, optimizer: 'adam', clip: 5 });
  const after = evaluateIds(m, ids.subarray(0, 70)).perplexity;
  assert.ok(before > 5, `initial perplexity ${before}`);
  assert.ok(after < 1.1, `perplexity after training ${after}`);
});

/**
 * Validation perplexity each cell reaches in the test below (reference backend, measured when the
 * test was written). Learning at all is a weak check: with a wrong sigmoid derivative the output
 * layer still learns, and the run ends at 97–167 instead of 63 (y instead of y(1-y): 97; y(1+y):
 * 167; zero: 152). Within 15% of the figure leaves room for a different rounding order.
 */
const REACHED = { sigmoid: 63.03, tanh: 53.05, relu: 70.03 } as const;

test('each cell learns: training lowers validation perplexity on the builtin corpus to the figure it reached', async () => {
  const { vocab, ids, valid } = builtinSlice(1200, 1500);
  for (const cell of ['sigmoid', 'tanh', 'relu'] as const) {
    const m = new RnnLM(makeConfig({ vocabSize: vocab.size, embed: 16, hidden: 16, cell }), k);
    m.init(new Rng(1));
    const before = evaluateIds(m, valid).perplexity;
    await train(m, ids, null, { ...DEFAULT_TRAIN, batch: 8, bptt: 10, epochs: 2, lr: cell === 'relu' ? 0.003 : 0.01, optimizer: 'adam', clip: 1 });
    const after = evaluateIds(m, valid).perplexity;
    assert.ok(after < 0.6 * before, `${cell}: validation perplexity ${before.toFixed(1)} -> ${after.toFixed(1)}`);
    assert.ok(after < 1.15 * REACHED[cell], `${cell}: validation perplexity ${after.toFixed(2)}, it reached ${REACHED[cell]}`);
  }
});

test('training on the wasm backend: bit-identical parameters and evaluation for 1 and 2 threads (LSTM, classes, dropout, Adam)', async (t) => {
  const { vocab, ids, valid } = builtinSlice(400, 500);
  const run = async (threads: number): Promise<{ params: Float32Array; nll: number } | string> => {
    let kw;
    try {
      kw = await createKernels({ backend: 'wasm', threads });
    } catch (e) {
      return (e as Error).message;
    }
    try {
      const counts = unigramCounts(ids, vocab.size);
      const m = new RnnLM(makeConfig({ vocabSize: vocab.size, embed: 32, hidden: 48, cell: 'lstm', layers: 2, classes: 12, dropout: 0.2 }), kw,
        { wordClasses: assignClasses(counts, 12) });
      m.init(new Rng(4));
      const controller = new AbortController();
      let steps = 0;
      await train(m, ids, null, { ...DEFAULT_TRAIN, batch: 16, bptt: 20, epochs: 1, lr: 0.005, optimizer: 'adam', clip: 1 }, {
        signal: controller.signal, onStep: () => { if (++steps === 8) controller.abort(); },
      });
      return { params: (m.params as Float32Array).slice(), nll: evaluateIds(m, valid).nll };
    } finally {
      kw.dispose();
    }
  };
  const one = await run(1);
  const two = await run(2);
  if (typeof one === 'string' || typeof two === 'string') {
    if ((process.env.RNNLM_REQUIRE_BACKENDS ?? '').includes('wasm')) assert.fail(`wasm did not load: ${one} ${two}`);
    t.skip(`wasm did not load: ${typeof one === 'string' ? one : two}`);
    return;
  }
  assertBitEqual(two.params, one.params, 'parameters after 8 steps, 2 threads vs 1');
  assert.equal(two.nll, one.nll, 'validation nll');
});

test('training on the first 20k PTB tokens lowers validation perplexity, every cell', { skip: needs(PTB) }, async () => {
  const trainText = readFileSync(join(PTB, 'train.txt'), 'utf8');
  const vocab = Vocab.build(trainText, 'word');
  assert.equal(vocab.size, 10000);
  const ids = vocab.encode(trainText).ids.subarray(0, 20000);
  const valid = vocab.encode(readFileSync(join(PTB, 'valid.txt'), 'utf8')).ids.subarray(0, 3000);
  // the fast backend (what users train with; the reference would take minutes at V = 10k)
  const fast = await createKernels({ threads: 1 });
  after(() => fast.dispose());
  for (const cell of CELLS) {
    const m = new RnnLM(makeConfig({ vocabSize: vocab.size, embed: 16, hidden: 16, cell }), fast);
    m.init(new Rng(1));
    const before = evaluateIds(m, valid).perplexity;
    const r = await train(m, ids, valid, { ...DEFAULT_TRAIN, batch: 20, bptt: 20, epochs: 1, lr: cell === 'relu' ? 0.003 : 0.01, optimizer: 'adam', clip: 1 });
    assert.ok(before > 9000, `${cell}: initial perplexity ${before}`);
    assert.ok(r.validPerplexity! < 0.2 * before, `${cell}: validation perplexity ${before.toFixed(0)} -> ${r.validPerplexity}`);
  }
});
