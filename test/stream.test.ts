// Tokenising in pieces (src/data/stream.ts, src/node/text-file.ts) gives exactly the tokens and
// ids of tokenising the whole text, for every way of cutting it: words split across pieces,
// '\r\n', tabs and Unicode spaces, emoji (surrogate pairs), a last line without '\n', chunks
// that end inside a UTF-8 sequence; and the file checks (empty, binary, not UTF-8, whitespace).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../src/errors.js';
import { isSpace, TokenCounter, TokenEncoder, TokenStream } from '../src/data/stream.js';
import { Vocab, tokenize, type Level } from '../src/data/vocab.js';
import { CHUNK_BYTES, forEachTextPiece, idsOfText, readText, vocabFromText } from '../src/node/text-file.js';
import { Rng } from '../src/rng.js';
import { rmTemp, tempDir } from './helpers.js';

const ALPHABET = ['a', 'b', 'é', '😀', ' ', ' ', '\t', '\n', '\n', '\r', '\u00a0', '\u2003', '\u3000', 'x', 'yz', '\ufeff'];

function randomText(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[rng.int(ALPHABET.length)];
  return s;
}

/** The tokens of `text` cut at random places (inside surrogate pairs too). */
function streamed(text: string, level: Level, rng: Rng): string[] {
  const out: string[] = [];
  const s = new TokenStream(level, (t) => out.push(t));
  for (let i = 0; i < text.length;) {
    const n = rng.int(6);
    s.push(text.slice(i, i + n));
    i += n;
  }
  s.end();
  return out;
}

test('isSpace is exactly the \\s of regular expressions', () => {
  for (let c = 0; c < 0x10000; c++) assert.equal(isSpace(c), /\s/.test(String.fromCharCode(c)), `U+${c.toString(16)}`);
});

test('TokenStream: the tokens of any cutting equal tokenize() of the whole text, word and char level', () => {
  const rng = new Rng(5);
  const cases = ['', '\n', 'a', 'a\n', 'a b\n\nc', '  \n', ' a', 'a\r\nb\r\n', 'é😀 x\n😀', ...Array.from({ length: 300 }, () => randomText(rng, rng.int(60)))];
  for (const text of cases) {
    for (const level of ['word', 'char'] as const) {
      const want = tokenize(text, level);
      for (let trial = 0; trial < 3; trial++) assert.deepEqual(streamed(text, level, rng), want, `${level} ${JSON.stringify(text)}`);
    }
  }
});

test('TokenCounter + Vocab.fromCounts = Vocab.build; TokenEncoder = encode', () => {
  const rng = new Rng(8);
  for (let i = 0; i < 50; i++) {
    const text = randomText(rng, 200);
    for (const level of ['word', 'char'] as const) {
      const counter = new TokenCounter(level);
      counter.push(text.slice(0, 77));
      counter.push(text.slice(77));
      counter.end();
      const opts = { maxVocab: i % 3 === 0 ? 5 : 0, minCount: 1 + (i % 2) };
      const v = Vocab.fromCounts(counter.counts, level, opts);
      assert.deepEqual(v.tokens, Vocab.build(text, level, opts).tokens);
      const enc = new TokenEncoder(v, counter.tokens);
      enc.push(text);
      const got = enc.end();
      const want = v.encode(text);
      assert.deepEqual([...got.ids], [...want.ids]);
      assert.equal(got.unknown, want.unknown);
    }
  }
  const short = new TokenEncoder(Vocab.build('a b\n', 'word'), 5);
  short.push('a\n');
  assert.throws(() => short.end(), RangeError);
});

test('files read in chunks: the same vocabulary and ids as the whole text, chunks cut inside UTF-8 sequences', () => {
  const d = tempDir('rnnlm-stream-');
  try {
    const rng = new Rng(3);
    // more than two chunks; multi-byte characters land across chunk boundaries
    const chunk = 4096; // smaller than CHUNK_BYTES, to cut the text in many pieces quickly
    const lines: string[] = [];
    for (let n = 0; n < 3 * chunk; n += 80) lines.push(`${randomText(rng, 50)} é😀word${rng.int(500)}\n`);
    let text = lines.join('');
    text += 'last line without newline';
    const p = join(d, 'big.txt');
    writeFileSync(p, text);
    let pieces = 0;
    forEachTextPiece(p, () => void pieces++, chunk);
    assert.ok(pieces >= 3, `${pieces} pieces`);
    assert.ok(CHUNK_BYTES > chunk);
    for (const level of ['word', 'char'] as const) {
      const { vocab, tokens } = vocabFromText(p, level, { maxVocab: 300 }, chunk);
      const whole = Vocab.build(readText(p), level, { maxVocab: 300 });
      assert.deepEqual(vocab.tokens, whole.tokens);
      const want = whole.encode(readText(p));
      assert.equal(tokens, want.ids.length);
      for (const n of [tokens, undefined]) {
        const got = idsOfText(p, vocab, n, chunk);
        assert.ok(Buffer.from(got.ids.buffer).equals(Buffer.from(want.ids.buffer)), `${level}: ids differ`);
        assert.equal(got.unknown, want.unknown);
      }
    }
  } finally {
    rmTemp(d);
  }
});

test('files read in chunks are checked as readText checks them', () => {
  const d = tempDir('rnnlm-stream-bad-');
  try {
    const cases: Array<[string, Buffer | string, RegExp]> = [
      ['empty.txt', '', /is empty/],
      ['binary.txt', Buffer.from([0x61, 0x00, 0x62]), /NUL byte at offset 1/],
      ['latin1.txt', Buffer.from([0x61, 0xe9, 0x0a]), /not valid UTF-8/],
      ['blank.txt', ' \n\t\n', /only whitespace/],
    ];
    for (const [name, bytes, re] of cases) {
      writeFileSync(join(d, name), bytes);
      assert.throws(() => forEachTextPiece(join(d, name), () => {}), (e: Error) => e instanceof InputError && re.test(e.message), name);
      assert.throws(() => readText(join(d, name)), (e: Error) => e instanceof InputError && re.test(e.message), name);
    }
    assert.throws(() => forEachTextPiece(join(d, 'missing.txt'), () => {}), (e: Error) => e instanceof InputError && /no such file/.test(e.message));
    // builtin: names go through the one parser (data/builtin), which names the valid ones
    for (const read of [(n: string) => readText(n), (n: string) => forEachTextPiece(n, () => {})]) {
      assert.throws(() => read('builtin:dev'), (e: Error) => e instanceof InputError && /builtin:train, builtin:valid, builtin:test/.test(e.message));
    }
    assert.throws(() => forEachTextPiece(d, () => {}), (e: Error) => e instanceof InputError && /directory/.test(e.message));
    // a NUL byte past the first MiB is not a reason to refuse (as readText)
    const late = Buffer.alloc((1 << 20) + 10, 0x61);
    late[(1 << 20) + 5] = 0;
    writeFileSync(join(d, 'late.txt'), late);
    assert.doesNotThrow(() => forEachTextPiece(join(d, 'late.txt'), () => {}));
    assert.doesNotThrow(() => readText(join(d, 'late.txt')));
  } finally {
    rmTemp(d);
  }
});
