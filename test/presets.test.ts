// Named recipes: every preset names valid model and training options, and an unknown name is
// refused with the list of known ones.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { makeConfig } from '../src/nn/config.js';
import { PRESETS, presetOptions } from '../src/tasks/presets.js';
import { DEFAULT_TRAIN, validateTrainOptions } from '../src/train/trainer.js';

test('every preset gives a valid model config and valid training options', () => {
  assert.ok(Object.keys(PRESETS).length >= 3);
  for (const name of Object.keys(PRESETS)) {
    const o = presetOptions(name);
    const config = makeConfig({ ...o, vocabSize: 10000 });
    assert.equal(config.cell, o.cell, name);
    assert.equal(config.hidden, o.hidden, name);
    const train = validateTrainOptions({ ...DEFAULT_TRAIN, ...Object.fromEntries(Object.entries(o).filter(([k]) => k in DEFAULT_TRAIN)) });
    assert.equal(train.lr, o.lr, name);
    assert.match(PRESETS[name].about, /PTB test \d+(\.\d+)?/, `${name}: its documented figure`);
    // a copy: changing it does not change the preset
    (o as Record<string, unknown>).lr = -1;
    assert.notEqual(presetOptions(name).lr, -1);
  }
});

test('an unknown preset is refused, naming the known ones', () => {
  assert.throws(() => presetOptions('nope'), /unknown preset "nope": choose one of mikolov, zaremba-small, lstm-tied/);
});
