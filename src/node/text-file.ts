// Reading training / evaluation text (Node): a path, or `builtin:train|valid|test` for the
// built-in corpus. Missing, empty and binary files are refused with a clear message.
// readText gives the whole text as one string (evaluation, scoring); forEachTextPiece reads a file
// in chunks of CHUNK_BYTES, so that training on a corpus of hundreds of megabytes holds only its
// token ids (vocabFromText, idsOfText: two passes, see data/stream.ts), never the text itself.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from '../errors.js';
import { BUILTIN_PREFIX, builtinText, parseBuiltinName } from '../data/builtin/index.js';
import { TokenCounter, TokenEncoder, TokenStream } from '../data/stream.js';
import { Vocab, type Level, type VocabOptions } from '../data/vocab.js';
import { openFailure, readFileBytes } from './atomic.js';

/**
 * Bytes read (and decoded) at a time. Small enough that each decoded piece is an ordinary heap
 * string that the young generation reclaims at once: with 4 MiB pieces (external strings, freed
 * late) reading PTB×40 (200 MB) peaked 117 MB above its ids, with 64 KiB pieces 25 MB.
 */
export const CHUNK_BYTES = 1 << 16;
/** How far into a file a NUL byte marks it as binary. */
const BINARY_PROBE = 1 << 20;

export function readText(name: string): string {
  if (name.startsWith(BUILTIN_PREFIX)) return builtinText(parseBuiltinName(name));
  const bytes = readFileBytes(name);
  if (bytes.length === 0) throw new InputError(`${name} is empty: give a text file with at least one line`);
  assertNotBinary(bytes.subarray(0, BINARY_PROBE), name);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw notUtf8(name);
  }
  if (text.trim() === '') throw onlyWhitespace(name);
  return text;
}

function assertNotBinary(head: Uint8Array, name: string): void {
  const i = head.indexOf(0);
  if (i >= 0) throw new InputError(`${name} looks binary (a NUL byte at offset ${i}): give a UTF-8 text file`);
}

const notUtf8 = (name: string): InputError => new InputError(`${name} is not valid UTF-8 text`);
const onlyWhitespace = (name: string): InputError => new InputError(`${name} holds only whitespace: give a text file with at least one word`);

/**
 * Call `onPiece` with the text of `name` in order, in pieces of about CHUNK_BYTES (the built-in
 * corpus: one piece), with readText's checks: missing, empty, binary, not UTF-8, only whitespace.
 */
export function forEachTextPiece(name: string, onPiece: (piece: string) => void, chunkBytes = CHUNK_BYTES): void {
  if (name.startsWith(BUILTIN_PREFIX)) {
    onPiece(builtinText(parseBuiltinName(name)));
    return;
  }
  let fd: number;
  try {
    fd = openSync(name, 'r');
  } catch (err) {
    throw openFailure(name, err);
  }
  try {
    if (fstatSync(fd).isDirectory()) throw new InputError(`cannot read ${name}: it is a directory, not a file; give the path of a file inside it`);
    const buf = Buffer.allocUnsafe(chunkBytes);
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let offset = 0;
    let words = false;
    for (;;) {
      const n = readSync(fd, buf, 0, chunkBytes, null);
      if (offset < BINARY_PROBE) assertNotBinary(buf.subarray(0, Math.min(n, BINARY_PROBE - offset)), name);
      if (n === 0 && offset === 0) throw new InputError(`${name} is empty: give a text file with at least one line`);
      let piece: string;
      try {
        piece = decoder.decode(buf.subarray(0, n), { stream: n > 0 });
      } catch {
        throw notUtf8(name);
      }
      if (!words && /\S/.test(piece)) words = true;
      if (piece !== '') onPiece(piece);
      if (n === 0) break;
      offset += n;
    }
    if (!words) throw onlyWhitespace(name);
  } finally {
    closeSync(fd);
  }
}

/** A vocabulary from a text read in pieces (pass 1), and its token count. */
export function vocabFromText(name: string, level: Level, opts: VocabOptions = {}, chunkBytes = CHUNK_BYTES): { vocab: Vocab; tokens: number } {
  const counter = new TokenCounter(level);
  forEachTextPiece(name, (p) => counter.push(p), chunkBytes);
  counter.end();
  return { vocab: Vocab.fromCounts(counter.counts, level, opts), tokens: counter.tokens };
}

/**
 * The token ids of a text read in pieces; `tokens` (from vocabFromText) saves the counting pass.
 * Holds nothing of the text but its ids: 4 bytes a token.
 */
export function idsOfText(name: string, vocab: Vocab, tokens?: number, chunkBytes = CHUNK_BYTES): { ids: Int32Array; unknown: number } {
  let n = tokens ?? 0;
  if (tokens === undefined) {
    const counting = new TokenStream(vocab.level, () => void n++);
    forEachTextPiece(name, (p) => counting.push(p), chunkBytes);
    counting.end();
  }
  const encoder = new TokenEncoder(vocab, n);
  forEachTextPiece(name, (p) => encoder.push(p), chunkBytes);
  return encoder.end();
}
