// The model configuration (src/nn/config.ts): defaults, every limit at its boundary, every refusal
// with its whole message (the message is the user's fix), the JSON form stored in checkpoints
// (fields at their defaults left out) and its reading back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../src/errors.js';
import { CELLS, ELMAN_CELLS, OUTPUTS, configFromJson, configToJson, isElmanCell, makeConfig, type ModelConfig } from '../src/nn/config.js';

type Input = Parameters<typeof makeConfig>[0];

/** makeConfig(c) throws a ConfigError whose message is exactly `message`. */
function refused(c: Record<string, unknown>, message: string): void {
  assert.throws(() => makeConfig(c as Input), (e: Error) => {
    assert.equal(e.message, message);
    return e instanceof ConfigError;
  });
}

test('defaults: a word-level 1×200 sigmoid network, full softmax, nothing else; frozen', () => {
  const c = makeConfig({ vocabSize: 50 });
  assert.deepEqual(c, {
    level: 'word', cell: 'sigmoid', layers: 1, embed: 200, hidden: 200, vocabSize: 50, dropout: 0, tied: false, classes: 0,
    forgetBias: 0, output: 'softmax', direct: 0, directOrder: 3, foldInput: false,
  });
  assert.ok(Object.isFrozen(c));
  assert.deepEqual([...CELLS], ['sigmoid', 'tanh', 'relu', 'lstm', 'gru']);
  assert.deepEqual([...ELMAN_CELLS], ['sigmoid', 'tanh', 'relu']);
  assert.deepEqual([...OUTPUTS], ['softmax', 'classes', 'hs']);
  assert.deepEqual(CELLS.map(isElmanCell), [true, true, true, false, false]);
  // every field given is kept
  const all = makeConfig({
    level: 'char', cell: 'lstm', layers: 3, embed: 7, hidden: 7, vocabSize: 9, dropout: 0.25, tied: true, classes: 3, forgetBias: 1, direct: 100, directOrder: 2,
  });
  assert.deepEqual(all, {
    level: 'char', cell: 'lstm', layers: 3, embed: 7, hidden: 7, vocabSize: 9, dropout: 0.25, tied: true, classes: 3, forgetBias: 1, output: 'classes', direct: 100, directOrder: 2, foldInput: false,
  });
  assert.equal(makeConfig({ vocabSize: 5, output: 'hs' }).output, 'hs');
  assert.equal(makeConfig({ vocabSize: 5, embed: 4, hidden: 4, foldInput: true, cell: 'relu' }).foldInput, true);
});

test('limits: layers 1 … 16, embed and hidden 1 … 65536, vocabulary 1 … 2^24 (boundaries accepted, one past refused)', () => {
  for (const [field, name, max] of [['layers', 'layers', 16], ['embed', 'embed', 65536], ['hidden', 'hidden', 65536], ['vocabSize', 'vocab_size', 1 << 24]] as const) {
    const base = { vocabSize: 5, embed: 4, hidden: 4 };
    assert.equal(makeConfig({ ...base, [field]: 1 })[field], 1);
    assert.equal(makeConfig({ ...base, [field]: max })[field], max);
    for (const bad of [0, max + 1, 2.5, '3']) refused({ ...base, [field]: bad }, `${name} must be an integer from 1 to ${max}, got ${JSON.stringify(bad)}`);
  }
});

test('each refusal names the field, the valid values and the value given', () => {
  const v = { vocabSize: 10, embed: 4, hidden: 4 };
  refused({ ...v, level: 'byte' }, 'level must be word or char, got "byte"');
  refused({ ...v, cell: 'rnn' }, 'cell must be one of sigmoid, tanh, relu, lstm, gru, got "rnn"');
  for (const d of [-0.1, 1, Number.NaN, '0.5']) refused({ ...v, dropout: d }, `dropout must be a probability from 0 (off) to below 1, got ${JSON.stringify(d)}`);
  assert.equal(makeConfig({ ...v, dropout: 0 }).dropout, 0);
  assert.equal(makeConfig({ ...v, dropout: 0.999 }).dropout, 0.999);
  refused({ ...v, tied: 1 }, 'tied must be true or false, got 1');
  refused({ ...v, hidden: 5, tied: true }, 'tied weights need embed = hidden (decoder.weight [V, H] is encoder.weight [V, Emb]), got embed 4 and hidden 5');
  for (const c of [1, -2, 11, 2.5, '3']) refused({ ...v, classes: c }, `classes must be 0 (full softmax) or an integer from 2 to the vocabulary size 10, got ${JSON.stringify(c)}`);
  assert.equal(makeConfig({ ...v, classes: 2 }).classes, 2);
  assert.equal(makeConfig({ ...v, classes: 10 }).classes, 10);
  for (const f of [Number.POSITIVE_INFINITY, Number.NaN, '1']) refused({ ...v, cell: 'lstm', forgetBias: f }, `forget bias must be a finite number, got ${JSON.stringify(f)}`);
  refused({ ...v, cell: 'gru', forgetBias: 1 }, 'forget bias applies to the lstm cell only (cell is gru); leave it at 0 or use --cell lstm');
  assert.equal(makeConfig({ ...v, cell: 'lstm', forgetBias: -2 }).forgetBias, -2);
  refused({ ...v, output: 'nce' }, 'output must be one of softmax, classes, hs, got "nce"');
  refused({ ...v, output: 'classes' }, 'output classes needs the number of classes (classes from 2 to the vocabulary size)');
  refused({ ...v, output: 'hs', classes: 3 }, 'classes 3 is a class-factored output, but output is hs: leave classes at 0 or use output classes');
  refused({ ...v, output: 'softmax', classes: 3 }, 'classes 3 is a class-factored output, but output is softmax: leave classes at 0 or use output classes');
  refused({ vocabSize: 1, output: 'hs' }, 'a hierarchical softmax needs a vocabulary of at least 2 tokens, got 1');
  assert.equal(makeConfig({ vocabSize: 2, output: 'hs' }).output, 'hs');
  refused({ ...v, output: 'hs', tied: true }, 'tied weights need decoder.weight, which a hierarchical softmax does not have (its node vectors are hs.weight): drop tied or use output softmax or classes');
  refused({ ...v, direct: -5 }, 'direct must be 0 (off) or a number of table entries from 1 to 134217728 (2^27), got -5');
  refused({ ...v, direct: 10, directOrder: 9 }, 'direct order must be an integer from 1 to 8, got 9');
  refused({ ...v, foldInput: 'yes' }, 'fold input must be true or false, got "yes"');
  refused({ ...v, cell: 'lstm', foldInput: true }, 'fold input applies to the Elman cells (sigmoid, tanh, relu), not lstm: the folded table enters h(t) = act(e(t) + W_h h(t-1) + b) directly');
  refused({ ...v, hidden: 6, foldInput: true }, 'fold input needs embed = hidden (encoder.weight [V, H] is E·W_eᵀ), got embed 4 and hidden 6');
});

test('configToJson: snake_case, fields at their defaults left out (older checkpoints read unchanged); configFromJson reads it back', () => {
  const plain = makeConfig({ vocabSize: 10, embed: 4, hidden: 4 });
  assert.deepEqual(configToJson(plain), { level: 'word', cell: 'sigmoid', layers: 1, embed: 4, hidden: 4, vocab_size: 10 });
  const every: ModelConfig[] = [
    plain,
    makeConfig({ vocabSize: 10, embed: 4, hidden: 4, cell: 'lstm', dropout: 0.5, tied: true, classes: 3, forgetBias: 1, direct: 64, directOrder: 2, level: 'char', layers: 2 }),
    makeConfig({ vocabSize: 10, embed: 4, hidden: 4, output: 'hs', direct: 32 }),
    makeConfig({ vocabSize: 10, embed: 4, hidden: 4, foldInput: true }),
  ];
  assert.deepEqual(configToJson(every[1]), {
    level: 'char', cell: 'lstm', layers: 2, embed: 4, hidden: 4, vocab_size: 10, dropout: 0.5, tied: true, classes: 3, forget_bias: 1, direct: 64, direct_order: 2,
  });
  assert.deepEqual(configToJson(every[2]), { level: 'word', cell: 'sigmoid', layers: 1, embed: 4, hidden: 4, vocab_size: 10, output: 'hs', direct: 32, direct_order: 3 });
  assert.deepEqual(configToJson(every[3]), { level: 'word', cell: 'sigmoid', layers: 1, embed: 4, hidden: 4, vocab_size: 10, fold_input: true });
  for (const c of every) assert.deepEqual(configFromJson(JSON.parse(JSON.stringify(configToJson(c)))), c);
  // refusals: not an object, a missing field, a bad value (through makeConfig)
  for (const bad of [null, [1], 'x', 3]) assert.throws(() => configFromJson(bad), (e: Error) => e instanceof ConfigError && e.message === 'config must be a JSON object');
  for (const field of ['level', 'cell', 'layers', 'embed', 'hidden', 'vocab_size']) {
    const j: Record<string, unknown> = configToJson(plain);
    delete j[field];
    assert.throws(() => configFromJson(j), (e: Error) => e instanceof ConfigError && e.message === `config lacks the field "${field}"`);
  }
  assert.throws(() => configFromJson({ ...configToJson(plain), layers: 0 }), /layers must be an integer from 1 to 16, got 0/);
});
