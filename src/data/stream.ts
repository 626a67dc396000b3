// Tokenising a text that arrives in pieces (a file read in chunks), so that a corpus of hundreds
// of megabytes never has to be one string, nor an array of token strings: pass 1 (TokenCounter)
// counts each type and the tokens, pass 2 (TokenEncoder) writes the ids into an Int32Array of
// exactly that length. The tokens are those `tokenize` (vocab.ts) gives for the whole text, for
// any way of cutting it into pieces:
//   word level: maximal runs of non-whitespace characters, `<eos>` at each '\n' and after a last
//               line that does not end in one (a final newline starts no extra line);
//   char level: the code points as they are.
// Platform-neutral: the pieces are strings (Node decodes its chunks with a streaming TextDecoder).

import { EOS, type Level, type Vocab } from './vocab.js';

/** Whitespace as the regular expression \s (and String.prototype.trim) define it. */
export function isSpace(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Calls `onToken` with each token of the pieces pushed, in order; `end()` after the last piece. */
export class TokenStream {
  /** The start of a word (char level: the first half of a surrogate pair) cut off at the end of the last piece. */
  private partial = '';
  /** Characters since the last '\n' (a last line without '\n' still gets its `<eos>`). */
  private lineOpen = false;

  constructor(readonly level: Level, private readonly onToken: (token: string) => void) {}

  push(piece: string): void {
    if (this.level === 'char') {
      // A surrogate pair cut between two pieces is one character: keep its first half for the next.
      let text = this.partial + piece;
      this.partial = '';
      const last = text.charCodeAt(text.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) {
        this.partial = text.slice(-1);
        text = text.slice(0, -1);
      }
      for (const ch of text) this.onToken(ch);
      return;
    }
    const emit = this.onToken;
    let start = -1; // start of the word in progress within this piece, or -1
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      if (isSpace(c)) {
        if (start >= 0 || this.partial !== '') {
          emit(this.partial + piece.substring(start < 0 ? i : start, i));
          this.partial = '';
          start = -1;
        }
        if (c === 10) {
          emit(EOS);
          this.lineOpen = false;
        } else {
          this.lineOpen = true;
        }
      } else {
        if (start < 0) start = i;
        this.lineOpen = true;
      }
    }
    if (start >= 0) this.partial += piece.substring(start);
  }

  end(): void {
    if (this.partial !== '') this.onToken(this.partial);
    this.partial = '';
    if (this.level === 'char') return;
    this.partial = '';
    if (this.lineOpen) this.onToken(EOS);
    this.lineOpen = false;
  }
}

/** Pass 1: how often each type occurs (a Map in order of first appearance) and how many tokens there are. */
export class TokenCounter {
  readonly counts = new Map<string, number>();
  tokens = 0;
  private readonly stream: TokenStream;

  constructor(level: Level) {
    this.stream = new TokenStream(level, (t) => {
      this.counts.set(t, (this.counts.get(t) ?? 0) + 1);
      this.tokens++;
    });
  }

  push(piece: string): void {
    this.stream.push(piece);
  }

  end(): void {
    this.stream.end();
  }
}

/**
 * Pass 2: the ids of `n` tokens (n from pass 1, or from a counting pass) into one Int32Array;
 * `unknown` counts the tokens that became `<unk>` without being `<unk>`.
 */
export class TokenEncoder {
  readonly ids: Int32Array;
  unknown = 0;
  private at = 0;
  private readonly stream: TokenStream;

  constructor(vocab: Vocab, n: number) {
    this.ids = new Int32Array(n);
    this.stream = new TokenStream(vocab.level, (t) => {
      const id = vocab.lookup(t);
      if (id === undefined) this.unknown++;
      if (this.at >= n) throw new RangeError(`TokenEncoder: more than the ${n} tokens counted`);
      this.ids[this.at++] = id ?? vocab.unkId;
    });
  }

  push(piece: string): void {
    this.stream.push(piece);
  }

  /** The ids; throws when fewer tokens came than were counted. */
  end(): { ids: Int32Array; unknown: number } {
    this.stream.end();
    if (this.at !== this.ids.length) throw new RangeError(`TokenEncoder: ${this.at} tokens, but ${this.ids.length} were counted`);
    return { ids: this.ids, unknown: this.unknown };
  }
}
