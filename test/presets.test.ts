// Named recipes: every preset names valid model and training options, its documented figure is
// the one the README's Results table reports for it, a few training steps with its options lower
// the loss on the built-in corpus, and an unknown name is refused with the list of known ones.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { makeConfig } from '../src/nn/config.js';
import { RnnLM } from '../src/nn/model.js';
import { Rng } from '../src/rng.js';
import { assignClasses, unigramCounts } from '../src/data/classes.js';
import { evaluateIds } from '../src/infer/evaluate.js';
import { createNodeKernels } from '../src/node/platform.js';
import { PRESETS, presetOptions } from '../src/tasks/presets.js';
import { DEFAULT_TRAIN, train, trainOptions, validateTrainOptions } from '../src/train/trainer.js';
import { ROOT } from './data-paths.js';
import { builtinSlice } from './fixtures.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { statePath } from '../src/io/train-state.js';
import { assertOk, rmTemp, runCli, tempDir } from './helpers.js';

test('every preset gives a valid model config and valid training options', () => {
  assert.ok(Object.keys(PRESETS).length >= 3);
  for (const name of Object.keys(PRESETS)) {
    const o = presetOptions(name);
    const config = makeConfig({ ...o, vocabSize: 10000 });
    assert.equal(config.cell, o.cell, name);
    assert.equal(config.hidden, o.hidden, name);
    const train = validateTrainOptions({ ...DEFAULT_TRAIN, ...Object.fromEntries(Object.entries(o).filter(([k]) => k in DEFAULT_TRAIN)) });
    assert.equal(train.lr, o.lr, name);
    // a copy: changing it does not change the preset
    (o as Record<string, unknown>).lr = -1;
    assert.notEqual(presetOptions(name).lr, -1);
  }
});

test('each preset\'s documented PTB figure is the one the README\'s Results table reports for it', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const [name, p] of Object.entries(PRESETS)) {
    const figure = /PTB test (\d+\.\d+)/.exec(p.about)?.[1];
    assert.ok(figure, `${name}: its "about" names no PTB test figure`);
    const rows = readme.split('\n').filter((l) => l.startsWith('|') && new RegExp(`--preset ${name}[ \`]`).test(l) && /\btest \**\d/.test(l));
    assert.ok(rows.length > 0, `${name}: no README Results row runs --preset ${name} and reports a test figure`);
    const re = new RegExp(`test (\\*\\*)?${figure.replace('.', '\\.')}\\b`);
    assert.ok(rows.some((r) => re.test(r)), `${name}: "about" says PTB test ${figure}; the README rows say:\n${rows.join('\n')}`);
  }
});

test('a few training steps with each preset\'s options lower the validation loss on the built-in corpus', async () => {
  const { vocab, ids, valid } = builtinSlice(600, 400);
  const k = await createNodeKernels({ backend: 'auto', threads: 1 });
  try {
    for (const name of Object.keys(PRESETS)) {
      const o = presetOptions(name);
      const config = makeConfig({ ...o, vocabSize: vocab.size });
      const wordClasses = config.classes > 0 ? assignClasses(unigramCounts(ids, vocab.size), config.classes) : undefined;
      const m = new RnnLM(config, k, { wordClasses });
      m.init(new Rng(1));
      const before = evaluateIds(m, valid).crossEntropy;
      const controller = new AbortController();
      let steps = 0;
      await train(m, ids, null, trainOptions(o), { signal: controller.signal, onStep: () => { if (++steps === 12) controller.abort(); } });
      const after = evaluateIds(m, valid).crossEntropy;
      assert.ok(after < before - 0.03, `${name}: validation cross-entropy ${before.toFixed(3)} -> ${after.toFixed(3)} after 12 steps`);
    }
  } finally {
    k.dispose();
  }
});

test('an unknown preset is refused, naming the known ones', () => {
  assert.throws(() => presetOptions('nope'), /unknown preset "nope": choose one of mikolov, zaremba-small, lstm-tied/);
});

test('a budgeted preset trains for its own minutes under the budget schedule; --time-budget (minutes) replaces them', () => {
  const d = tempDir('rnnlm-preset-');
  try {
    const optionsAfter = (extra: string[]): Record<string, unknown> => {
      const small = ['--embed', '8', '--hidden', '8', '--classes', '4', '--epochs', '1', '--backend', 'ref', '--force'];
      assertOk(runCli(['train', '--preset', 'mikolov', '--save', 'm.safetensors', ...small, ...extra], d));
      const { metadata } = decodeSafetensors(readFileSync(join(d, statePath('m.safetensors'))));
      return (JSON.parse(metadata.state) as { options: Record<string, unknown> }).options;
    };
    const own = optionsAfter([]);
    assert.equal(PRESETS.mikolov.minutes, 2);
    assert.equal(own.schedule, 'budget');
    assert.equal(own.timeBudget, 120);
    assert.equal(own.lr, PRESETS.mikolov.options.lr);
    assert.equal(optionsAfter(['--time-budget', '0.5']).timeBudget, 30);
    assert.equal(optionsAfter(['--schedule', 'fixed']).schedule, 'fixed');
  } finally {
    rmTemp(d);
  }
});
