// Vocabulary and tokenisation, following pytorch/examples' word_language_model conventions.
//   word level: each line -> its whitespace-separated tokens, then `<eos>`;
//   char level: the text's characters (Unicode code points) as they are, `\n` included.
// Ids: the boundary token first (`<eos>` / `\n`), `<unk>` second, then the other types by
// descending count, ties broken by first appearance; capped by maxVocab and minCount.
// Out-of-vocabulary tokens map to `<unk>`.

import { ConfigError, InputError, VocabMismatchError } from '../errors.js';

export type Level = 'word' | 'char';

export const EOS = '<eos>';
export const UNK = '<unk>';

/** Split a word-level text into lines; a final newline does not start an extra line. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Word-level tokens of one line (without the `<eos>`). */
export function lineWords(line: string): string[] {
  const t = line.trim();
  return t === '' ? [] : t.split(/\s+/);
}

/** All tokens of a text in order: words with one `<eos>` per line, or characters. */
export function tokenize(text: string, level: Level): string[] {
  if (level === 'char') return Array.from(text);
  const out: string[] = [];
  for (const line of splitLines(text)) {
    for (const w of lineWords(line)) out.push(w);
    out.push(EOS);
  }
  return out;
}

export interface VocabOptions {
  /** Keep at most this many types, specials included (0 = no cap). */
  maxVocab?: number;
  /** Drop types seen fewer times than this in the training text (specials are always kept). */
  minCount?: number;
}

/** Word level: a run of characters with no whitespace (what lineWords can return). */
const WORD = /^\S+$/;

/**
 * Throw unless token `t` (vocabulary id `i`) is one that tokenisation can produce: a word-level
 * token is non-empty and holds no whitespace (so `""`, `" "` and `"a b"` never occur); a
 * char-level token is one character (Unicode code point). A vocabulary read from elsewhere (a
 * checkpoint) with such an entry would hold ids that no text maps to.
 */
function assertTokenCanOccur(t: string, i: number, level: Level): void {
  if (level === 'word' ? !WORD.test(t) : Array.from(t).length !== 1) {
    const rule = level === 'word' ? 'a non-empty run of characters without whitespace' : 'exactly one character';
    throw new VocabMismatchError(`vocabulary entry ${i} is ${JSON.stringify(t)}, which no ${level}-level text can produce: each token must be ${rule}`);
  }
}

export class Vocab {
  readonly level: Level;
  /** Token strings in id order. */
  readonly tokens: readonly string[];
  private readonly index: Map<string, number>;

  constructor(tokens: readonly string[], level: Level) {
    const boundary = level === 'word' ? EOS : '\n';
    if (tokens[0] !== boundary || tokens[1] !== UNK) {
      throw new VocabMismatchError(
        `a ${level}-level vocabulary must start with ${JSON.stringify(boundary)} and ${JSON.stringify(UNK)}, got ${JSON.stringify(tokens.slice(0, 2))}`,
      );
    }
    const index = new Map<string, number>();
    tokens.forEach((t, i) => {
      if (typeof t !== 'string') throw new VocabMismatchError(`vocabulary entry ${i} is not a string`);
      if (i > 1) assertTokenCanOccur(t, i, level);
      if (index.has(t)) throw new VocabMismatchError(`vocabulary lists ${JSON.stringify(t)} twice (ids ${index.get(t)} and ${i})`);
      index.set(t, i);
    });
    this.level = level;
    this.tokens = Object.freeze([...tokens]);
    this.index = index;
  }

  /** Build from a training text (see the header for the ordering rule). */
  static build(text: string, level: Level, opts: VocabOptions = {}): Vocab {
    const counts = new Map<string, number>(); // insertion order = first appearance
    for (const t of tokenize(text, level)) counts.set(t, (counts.get(t) ?? 0) + 1);
    return Vocab.fromCounts(counts, level, opts);
  }

  /**
   * Build from the count of each type in a training text, `counts` in order of first appearance
   * (as TokenCounter in stream.ts gives them for a text read in pieces).
   */
  static fromCounts(counts: ReadonlyMap<string, number>, level: Level, opts: VocabOptions = {}): Vocab {
    const maxVocab = opts.maxVocab ?? 0;
    const minCount = opts.minCount ?? 1;
    if (!Number.isInteger(maxVocab) || maxVocab < 0 || maxVocab === 1 || maxVocab === 2) {
      throw new ConfigError(`max-vocab must be 0 (no cap) or an integer ≥ 3, got ${maxVocab}`);
    }
    if (!Number.isInteger(minCount) || minCount < 1) throw new ConfigError(`min-count must be an integer ≥ 1, got ${minCount}`);
    const boundary = level === 'word' ? EOS : '\n';
    const order = [...counts.entries()]
      .filter(([t]) => t !== boundary && t !== UNK)
      .map(([t, c], first) => ({ t, c, first }))
      .filter((e) => e.c >= minCount)
      .sort((a, b) => b.c - a.c || a.first - b.first);
    let tokens = [boundary, UNK, ...order.map((e) => e.t)];
    if (maxVocab > 0 && tokens.length > maxVocab) tokens = tokens.slice(0, maxVocab);
    return new Vocab(tokens, level);
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Id of the sequence boundary (`<eos>` word level, `\n` char level). */
  get boundaryId(): number {
    return 0;
  }

  get unkId(): number {
    return 1;
  }

  id(token: string): number {
    return this.index.get(token) ?? 1;
  }

  has(token: string): boolean {
    return this.index.has(token);
  }

  /** The id of a token in the vocabulary, or undefined (where `id` would give `<unk>`). */
  lookup(token: string): number | undefined {
    return this.index.get(token);
  }

  /** Token ids of a text (see `tokenize`) and how many became `<unk>` without being `<unk>`. */
  encode(text: string): { ids: Int32Array; unknown: number } {
    const toks = tokenize(text, this.level);
    const ids = new Int32Array(toks.length);
    let unknown = 0;
    for (let i = 0; i < toks.length; i++) {
      const id = this.index.get(toks[i]);
      if (id === undefined) unknown++;
      ids[i] = id ?? 1;
    }
    return { ids, unknown };
  }

  /** Text of one token id, as it appears in generated output. */
  decode(id: number): string {
    const t = this.tokens[id];
    if (t === undefined) throw new RangeError(`token id ${id} outside vocabulary of ${this.size}`);
    return t;
  }

  /** Throw unless `other` lists the same tokens in the same order. */
  assertSame(other: Vocab, what: string): void {
    if (other.level !== this.level) throw new VocabMismatchError(`${what}: level ${other.level} does not match ${this.level}`);
    if (other.size !== this.size) throw new VocabMismatchError(`${what}: vocabulary has ${other.size} tokens, expected ${this.size}`);
    for (let i = 0; i < this.size; i++) {
      if (other.tokens[i] !== this.tokens[i]) {
        throw new VocabMismatchError(`${what}: token ${i} is ${JSON.stringify(other.tokens[i])}, expected ${JSON.stringify(this.tokens[i])}`);
      }
    }
  }
}

/** Reject texts that would give no tokens. */
export function assertNonEmpty(ids: Int32Array, where: string): void {
  if (ids.length === 0) throw new InputError(`${where} contains no tokens`);
}
