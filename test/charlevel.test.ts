// Character level end to end through the CLI: train --level char on a text with multi-byte
// characters, then eval (every character predicted, the newlines included), generate (characters,
// not words) and score (each line's characters + its newline); the checkpoint's vocabulary is
// '\n', '<unk>', then single characters.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { readFileBytes } from '../src/node/atomic.js';
import { assertOk, rmTemp, runCli, tempDir } from './helpers.js';

test('char level end to end: train, eval, generate, score', () => {
  const d = tempDir('rnnlm-char-');
  try {
    const line = (i: number): string => ['the cat sat', 'über café', 'a dog 😀 ran', 'to the mat'][i % 4];
    const train = Array.from({ length: 400 }, (_, i) => line(i)).join('\n') + '\n';
    const valid = 'the café\na cat sat\n';
    writeFileSync(join(d, 'train.txt'), train);
    writeFileSync(join(d, 'valid.txt'), valid);
    const common = ['--backend', 'ref'];
    const t = runCli(['train', '--train', 'train.txt', '--valid', 'valid.txt', '--save', 'c.safetensors', '--level', 'char', '--embed', '8',
      '--hidden', '16', '--batch', '4', '--bptt', '20', '--epochs', '4', '--optimizer', 'adam', '--lr', '0.01', '--json', ...common], d);
    assertOk(t);
    const r = JSON.parse(t.stdout);
    assert.equal(r.train_tokens, Array.from(train).length, 'every character of the training text is a token');

    const { metadata } = decodeSafetensors(readFileBytes(join(d, 'c.safetensors')));
    const vocab = JSON.parse(metadata.vocab!) as string[];
    assert.equal(JSON.parse(metadata.config!).level, 'char');
    assert.deepEqual(vocab.slice(0, 2), ['\n', '<unk>']);
    assert.deepEqual(new Set(vocab.slice(2)), new Set(Array.from(train.replace(/\n/g, ''))), 'the other tokens: the characters seen');
    assert.ok(vocab.includes('😀') && vocab.includes('ü'));

    const ev = runCli(['eval', '--model', 'c.safetensors', '--text', 'valid.txt', '--json', ...common], d);
    assertOk(ev);
    const e = JSON.parse(ev.stdout);
    assert.equal(e.tokens, Array.from(valid).length, 'every character predicted, newlines included');
    assert.ok(e.perplexity > 1 && e.perplexity < 0.5 * vocab.length, `perplexity ${e.perplexity} (V ${vocab.length})`);
    assert.equal(e.unknown, 0);
    const plain = runCli(['eval', '--model', 'c.safetensors', '--text', 'valid.txt', ...common], d);
    assert.match(plain.stdout, /nats\/char/);

    const gen = runCli(['generate', '--model', 'c.safetensors', '--length', '60', '--seed', '3', ...common], d);
    assertOk(gen);
    assert.ok(Array.from(gen.stdout).every((c) => c === '\n' || vocab.includes(c)), `generated ${JSON.stringify(gen.stdout)}`);
    assert.ok(Array.from(gen.stdout.replace(/\n$/, '')).length >= 50, 'about 60 characters');
    assert.doesNotMatch(gen.stdout, /<unk>|<eos>/);

    const sc = runCli(['score', '--model', 'c.safetensors', '--text', 'valid.txt', '--json', ...common], d);
    assertOk(sc);
    const lines = JSON.parse(sc.stdout).lines as Array<{ tokens: number; ln_prob: number }>;
    assert.deepEqual(lines.map((l) => l.tokens), ['the café'.length + 1, 'a cat sat'.length + 1]);
    for (const l of lines) assert.ok(Number.isFinite(l.ln_prob) && l.ln_prob < 0, `ln P ${l.ln_prob}`);
  } finally {
    rmTemp(d);
  }
});
