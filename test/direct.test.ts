// Max-ent direct connections' hashing and history (src/nn/direct.ts), against the hashes written
// again in exact integer arithmetic (BigInt): the keys are part of the file format (a saved
// table is only valid with the keys it was trained with), so they are pinned, not just
// self-consistent. Also: the history carried across segments (one long segment = the same text
// in pieces), its update by hand, the table's layout, and the limits' messages.
// Legend: T steps, B streams, O orders, S table entries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../src/errors.js';
import { MAX_DIRECT, MAX_DIRECT_ORDER, advanceHistory, contextHashes, directKey, newDirectTable, validateDirect } from '../src/nn/direct.js';
import { Rng } from '../src/rng.js';
import { fmix32 } from './kernel-spec.js';

const M32 = 0xffffffffn;
/** a·b mod 2^32 (BigInt). */
const mul32 = (a: number, b: number): number => Number((BigInt(a >>> 0) * BigInt(b >>> 0)) & M32);

/** ctx for the history `words` (most recent first): h_0 = fmix32(0x9e3779b9), h_a = fmix32((h_{a-1} xor (w_a + 1)·0xcc9e2d51) + a) mod 2^32. */
function hashes(words: number[]): number[] {
  let h = fmix32(0x9e3779b9);
  const out = [h];
  words.forEach((w, i) => {
    h = fmix32(Number((BigInt((h ^ mul32(w + 1, 0xcc9e2d51)) >>> 0) + BigInt(i + 1)) & M32));
    out.push(h);
  });
  return out;
}

test('contextHashes: ctx[r, a] hashes the a most recent words (the carried history before the segment), pinned in BigInt arithmetic', () => {
  // T = 4 steps of B = 2 streams (time-major), O = 4: three words of history per stream
  const [T, B, O] = [4, 2, 4];
  const x = Int32Array.from([3, 10, 0, 11, 7, 12, 2, 13]);
  const hist = [5, 9, 4, 20, 21, 22]; // [B, O-1], most recent first
  const ctx = new Uint32Array(T * B * O);
  contextHashes(ctx, x, T, B, hist, O);
  const streams = [[3, 0, 7, 2], [10, 11, 12, 13]];
  for (let b = 0; b < B; b++) {
    // the stream's text: history (oldest first), then the segment
    const text = [...hist.slice(b * 3, b * 3 + 3).reverse(), ...streams[b]];
    for (let t = 0; t < T; t++) {
      const recent = text.slice(0, 3 + t + 1).reverse().slice(0, O - 1);
      assert.deepEqual([...ctx.subarray((t * B + b) * O, (t * B + b + 1) * O)], hashes(recent), `t=${t} b=${b}`);
    }
  }
  // a fixed value, so that a change of the hash (which would invalidate saved tables) is seen
  assert.equal(ctx[4], 2462723854);
  assert.equal(ctx[0 * B * O + 1], hashes([3])[1]);
  assert.equal(hashes([3, 5, 9])[3], 3242258505);
});

test('contextHashes: the same text in segments (the history carried by advanceHistory) gives the hashes of one long segment', () => {
  const rng = new Rng(3);
  const [T, B, O] = [9, 3, 5];
  const x = Int32Array.from({ length: T * B }, () => rng.int(50));
  const start = Array.from({ length: B * (O - 1) }, () => rng.int(50));
  const whole = new Uint32Array(T * B * O);
  contextHashes(whole, x, T, B, start, O);
  for (const split of [[2, 7], [1, 1, 7], [4, 5], [3, 3, 3]]) {
    const hist = Float64Array.from(start);
    const got = new Uint32Array(T * B * O);
    let t0 = 0;
    for (const len of split) {
      const seg = x.subarray(t0 * B, (t0 + len) * B);
      contextHashes(got.subarray(t0 * B * O, (t0 + len) * B * O), seg, len, B, hist, O);
      advanceHistory(hist, seg, len, B, O);
      t0 += len;
    }
    assert.deepEqual(got, whole, `segments ${split.join('+')}`);
    // the history after the text: each stream's last O-1 words, most recent first
    for (let b = 0; b < B; b++) assert.deepEqual([...hist.subarray(b * (O - 1), (b + 1) * (O - 1))], [8, 7, 6, 5].map((t) => x[t * B + b]), `history of stream ${b}`);
  }
});

test('advanceHistory by hand: a segment shorter than the history keeps the older words after it; order 1 keeps none', () => {
  // B = 2, O = 4 (3 words per stream), T = 2: x(0) = [1, 2], x(1) = [3, 4]
  const hist = Float64Array.from([5, 6, 7, 8, 9, 10]);
  advanceHistory(hist, Int32Array.from([1, 2, 3, 4]), 2, 2, 4);
  assert.deepEqual([...hist], [3, 1, 5, 4, 2, 8]);
  // T = 3 ≥ 2 words (O = 3): the last two inputs only
  const h2 = Float64Array.from([7, 7, 7, 7]);
  advanceHistory(h2, Int32Array.from([1, 2, 3, 4, 5, 6]), 3, 2, 3);
  assert.deepEqual([...h2], [5, 3, 6, 4]);
  const h1 = Float64Array.from([9]);
  advanceHistory(h1, Int32Array.from([1, 2]), 2, 1, 1);
  assert.deepEqual([...h1], [9], 'order 1: no history, nothing written');
});

test('directKey: fmix32(ctx xor (salt + 1)·0x85ebca77) mod S, pinned; in [0, S); salts give different runs', () => {
  const key = (ctx: number, salt: number, S: number): number => fmix32((ctx ^ mul32(salt + 1, 0x85ebca77)) >>> 0) % S;
  const rng = new Rng(8);
  for (let i = 0; i < 200; i++) {
    const ctx = rng.nextU32();
    const salt = rng.int(40);
    const S = 1 + rng.int(5000);
    const got = directKey(ctx, salt, S);
    assert.equal(got, key(ctx, salt, S), `ctx ${ctx} salt ${salt} S ${S}`);
    assert.ok(got >= 0 && got < S && Number.isInteger(got));
  }
  assert.deepEqual([directKey(2686245212, 0, 1000), directKey(2686245212, 3, 1000), directKey(2963692888, 0, 97)], [76, 484, 92]);
  assert.equal(directKey(0xffffffff, 7, 1 << 27), key(0xffffffff, 7, 1 << 27));
});

test('validateDirect: 0 or 1 … 2^27 entries, order 1 … 8; anything else a ConfigError naming the range and the value', () => {
  for (const [size, order] of [[0, 1], [1, 1], [MAX_DIRECT, MAX_DIRECT_ORDER], [1000, 3]]) assert.doesNotThrow(() => validateDirect(size, order));
  assert.equal(MAX_DIRECT, 2 ** 27);
  assert.equal(MAX_DIRECT_ORDER, 8);
  for (const size of [-1, 1.5, MAX_DIRECT + 1, Number.NaN]) {
    assert.throws(() => validateDirect(size, 3), (e: Error) =>
      e instanceof ConfigError && e.message === `direct must be 0 (off) or a number of table entries from 1 to ${MAX_DIRECT} (2^27), got ${JSON.stringify(size)}`);
  }
  assert.throws(() => validateDirect('10' as unknown as number, 3), /got "10"/);
  for (const order of [0, 9, 2.5, -1]) {
    assert.throws(() => validateDirect(10, order), (e: Error) =>
      e instanceof ConfigError && e.message === `direct order must be an integer from 1 to 8, got ${order}`);
  }
});

test('newDirectTable: a zero table of S entries, a zero gradient with its flags and an empty list of S + 1; validated', () => {
  const made: string[] = [];
  const t = newDirectTable(7, 3, (n) => (made.push(`f${n}`), new Float64Array(n).fill(0)), (n) => (made.push(`i${n}`), new Int32Array(n)), (n) => (made.push(`u${n}`), new Uint8Array(n)));
  assert.equal(t.size, 7);
  assert.equal(t.order, 3);
  assert.equal(t.weight.length, 7);
  assert.equal(t.grad.g.length, 7);
  assert.equal(t.grad.flags.length, 7);
  assert.equal(t.grad.list.length, 8);
  assert.notEqual(t.weight, t.grad.g, 'the gradient is a buffer of its own');
  assert.deepEqual(made.sort(), ['f7', 'f7', 'i8', 'u7']);
  assert.throws(() => newDirectTable(7, 0, (n) => new Float64Array(n), (n) => new Int32Array(n), (n) => new Uint8Array(n)), ConfigError);
});

test('contextHashes and advanceHistory write only the rows and streams their sizes name (arrays one row longer, a sentinel after)', () => {
  // the model's buffers may be longer than a segment (a short last segment, a grown scratch)
  const [T, B, O] = [3, 2, 3];
  const x = Int32Array.from([4, 1, 6, 2, 8, 3, 9, 9]); // one step more than T: not read
  const hist = Float64Array.from([5, 7, 11, 13]);
  const exact = new Uint32Array(T * B * O);
  contextHashes(exact, x.subarray(0, T * B), T, B, hist, O);
  const longer = new Uint32Array((T + 1) * B * O).fill(77);
  contextHashes(longer, x, T, B, hist, O);
  assert.deepEqual([...longer.subarray(0, T * B * O)], [...exact]);
  assert.deepEqual([...longer.subarray(T * B * O)], new Array(B * O).fill(77), 'contextHashes wrote past row T·B - 1');
  // advanceHistory: B = 2 streams in a history with room for a third; x(0) = [4, 1], x(1) = [6, 2], x(2) = [8, 3]
  const h = Float64Array.from([5, 7, 11, 13, 77, 77]);
  advanceHistory(h, x, T, B, O);
  assert.deepEqual([...h], [8, 6, 3, 2, 77, 77]);
});
