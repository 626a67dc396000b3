// Tokenisation, vocabulary order and batching follow the stated conventions exactly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { EOS, UNK, Vocab, tokenize } from '../src/data/vocab.js';
import { batchify, segment, segmentCount } from '../src/data/batches.js';
import { PTB, needs } from './data-paths.js';

test('word level: tokens of each line, then <eos>; a final newline adds no line', () => {
  assert.deepEqual(tokenize(' a b \n\nc\n', 'word'), ['a', 'b', EOS, EOS, 'c', EOS]);
  assert.deepEqual(tokenize('a b', 'word'), ['a', 'b', EOS]);
});

test('vocabulary: <eos>, <unk>, then by descending count, ties by first appearance', () => {
  const v = Vocab.build('b a c\na c\nc d\n', 'word');
  assert.deepEqual(v.tokens, [EOS, UNK, 'c', 'a', 'b', 'd']);
  const capped = Vocab.build('b a c\na c\nc d\n', 'word', { maxVocab: 4 });
  assert.deepEqual(capped.tokens, [EOS, UNK, 'c', 'a']);
  const enc = capped.encode('d c zzz\n');
  assert.deepEqual([...enc.ids], [1, 2, 1, 0]);
  assert.equal(enc.unknown, 2);
  const minc = Vocab.build('b a c\na c\nc d\n', 'word', { minCount: 2 });
  assert.deepEqual(minc.tokens, [EOS, UNK, 'c', 'a']);
});

test('char level: characters as they are, newline first, <unk> for unseen', () => {
  const v = Vocab.build('abba\ncab\n', 'char');
  assert.deepEqual(v.tokens, ['\n', UNK, 'a', 'b', 'c']);
  assert.deepEqual([...v.encode('ax\n').ids], [2, 1, 0]);
});

test('batchify / segment: B streams, time-major, targets shifted by one', () => {
  const ids = Int32Array.from({ length: 23 }, (_, i) => i);
  const b = batchify(ids, 3); // S = 7, streams 0..6, 7..13, 14..20
  assert.equal(b.S, 7);
  assert.deepEqual([...b.data.subarray(0, 6)], [0, 7, 14, 1, 8, 15]);
  assert.equal(segmentCount(b, 4), 2);
  const s1 = segment(b, 4, 1); // steps 4..5 -> targets 5..6
  assert.equal(s1.len, 2);
  assert.deepEqual([...s1.x], [4, 11, 18, 5, 12, 19]);
  assert.deepEqual([...s1.y], [5, 12, 19, 6, 13, 20]);
});

test('batches: every segment gathers T steps of every stream in place, the last one short; at(s, b); too few tokens give no segment', () => {
  const N = 47;
  const B = 4;
  const T = 3;
  const ids = Int32Array.from({ length: N }, (_, i) => 100 + i);
  const b = batchify(ids, B); // S = 11: stream b is ids[11b .. 11b + 10]; ids 44..46 dropped
  assert.equal(b.S, 11);
  assert.equal(b.B, B);
  assert.equal(b.ids, ids, 'the ids are read in place, not copied');
  assert.equal(b.at(0, 0), 100);
  assert.equal(b.at(10, 3), 100 + 3 * 11 + 10);
  const data = b.data;
  assert.equal(data.length, 44);
  for (let st = 0; st < 11; st++) for (let k = 0; k < B; k++) assert.equal(data[st * B + k], 100 + k * 11 + st);
  const n = segmentCount(b, T); // targets need a next step: S - 1 = 10 steps, in segments of 3: 3, 3, 3, 1
  assert.equal(n, 4);
  const seen: number[] = [];
  for (let i = 0; i < n; i++) {
    const { x, y, len } = segment(b, T, i);
    assert.equal(len, i < 3 ? 3 : 1);
    assert.equal(x.length, len * B);
    assert.equal(y.length, len * B);
    for (let t = 0; t < len; t++) {
      for (let k = 0; k < B; k++) {
        const step = i * T + t;
        assert.equal(x[t * B + k], 100 + k * 11 + step, `segment ${i} x[${t}, ${k}]`);
        assert.equal(y[t * B + k], 100 + k * 11 + step + 1, `segment ${i} y[${t}, ${k}]`);
      }
      seen.push(i * T + t);
    }
  }
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'each input step once');
  assert.equal(segmentCount(batchify(ids.subarray(0, 3), 4), 1), 0, 'fewer tokens than streams');
  assert.equal(segmentCount(batchify(ids.subarray(0, 4), 4), 2), 0, 'one step per stream: nothing to predict');
  assert.equal(segmentCount(batchify(ids.subarray(0, 8), 4), 5), 1);
});

test('PTB: exactly 10,000 types; 82,430 predicted test tokens', { skip: needs(PTB) }, () => {
  const v = Vocab.build(readFileSync(join(PTB, 'train.txt'), 'utf8'), 'word');
  assert.equal(v.size, 10000);
  const test = v.encode(readFileSync(join(PTB, 'test.txt'), 'utf8'));
  assert.equal(test.ids.length, 82430);
  assert.equal(test.unknown, 0);
});
