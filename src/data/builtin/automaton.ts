// A deterministic probabilistic finite automaton (DPFA) over words: built from a weighted graph
// with word edges, epsilon edges and END weights (AutomatonBuilder.compile), scored exactly
// (lineLogProb) and sampled (sampleLine, sampleText). See index.ts for why it is exact.

import { Rng } from '../../rng.js';

/** One outgoing edge: emit `word` with probability `prob`, then go to state `next`. */
export interface Edge {
  readonly word: string;
  readonly prob: number;
  readonly next: number;
}

export interface AutomatonState {
  /** Where in the grammar this state sits, for error messages and debugging. */
  readonly label: string;
  /** Outgoing word edges, words distinct; Σ edges.prob + endProb = 1. */
  readonly edges: readonly Edge[];
  /** Probability of ending the sentence here (emitting <eos>); 0 where the sentence cannot end. */
  readonly endProb: number;
  /** word -> index into edges. */
  readonly index: ReadonlyMap<string, number>;
  /** cumulative[i] = Σ_{j<=i} edges[j].prob, for sampling. */
  readonly cumulative: Float64Array;
}

/** A deterministic probabilistic finite automaton over words. */
export interface Automaton {
  readonly start: number;
  readonly states: readonly AutomatonState[];
}

/** A category: words with relative weights (need not sum to 1). */
export type Category = readonly { readonly word: string; readonly weight: number }[];

// Parallel arrays rather than one object per edge: the source has ~25k edges and building it
// is on the path of every builtin:* run.
interface RawState {
  label: string;
  words: string[];
  weights: number[];
  to: number[];
  eps: { weight: number; to: number }[];
  end: number;
}

/** A state's outgoing distribution with epsilons removed; `index` maps word -> position. */
interface Closure {
  words: string[];
  p: number[];
  to: number[];
  index: Map<string, number>;
  end: number;
}

/**
 * Builds a weighted grammar graph and compiles it into an Automaton. Weights on a state's
 * outgoing edges (words, epsilons, END) are relative: compile divides them by their sum.
 */
export class AutomatonBuilder {
  private readonly raw: RawState[] = [];

  /** A new state; `label` is for messages only. Returns its id. */
  state(label: string): number {
    this.raw.push({ label, words: [], weights: [], to: [], eps: [], end: 0 });
    return this.raw.length - 1;
  }

  /** Edge from -> to emitting `word`. */
  word(from: number, word: string, weight: number, to: number): void {
    this.check(from, weight, to);
    if (!/^\S+$/.test(word)) throw new RangeError(`word must be non-empty without whitespace, got ${JSON.stringify(word)}`);
    const r = this.raw[from]!;
    r.words.push(word);
    r.weights.push(weight);
    r.to.push(to);
  }

  /** One edge per word of `cat`, all to `to`, sharing `weight` in proportion to the category's weights. */
  category(from: number, cat: Category, weight: number, to: number): void {
    if (cat.length === 0) throw new RangeError(`empty category on state "${this.raw[from]?.label}"`);
    const total = cat.reduce((s, c) => s + c.weight, 0);
    for (const c of cat) this.word(from, c.word, (weight * c.weight) / total, to);
  }

  /** Edge from -> to emitting nothing (an optional part of the grammar). */
  eps(from: number, to: number, weight: number): void {
    this.check(from, weight, to);
    this.raw[from]!.eps.push({ weight, to });
  }

  /** Weight of ending the sentence at `from`. */
  end(from: number, weight: number): void {
    this.check(from, weight, from);
    this.raw[from]!.end += weight;
  }

  private check(from: number, weight: number, to: number): void {
    for (const s of [from, to]) {
      if (!Number.isInteger(s) || s < 0 || s >= this.raw.length) throw new RangeError(`no state ${s} (have ${this.raw.length})`);
    }
    if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`edge weight must be finite and > 0, got ${weight}`);
  }

  /**
   * Removes epsilon edges, checks determinism, keeps the states reachable from `start` by words
   * (numbered in breadth-first order, start = 0) and normalises each state to sum to 1.
   * Throws on an epsilon cycle, a state with nothing to do, or a word with two successors.
   */
  compile(start: number): Automaton {
    const raw = this.raw;
    const memo = new Map<number, Closure>();
    const onStack = new Set<number>();
    const close = (s: number): Closure => {
      const hit = memo.get(s);
      if (hit) return hit;
      const r = raw[s]!;
      if (onStack.has(s)) throw new Error(`epsilon cycle through state ${s} "${r.label}"`);
      onStack.add(s);
      let total = r.end;
      for (const w of r.weights) total += w;
      for (const e of r.eps) total += e.weight;
      if (!(total > 0)) throw new Error(`state ${s} "${r.label}" has no edges and no END`);
      const out: Closure = { words: [], p: [], to: [], index: new Map(), end: r.end / total };
      const add = (word: string, p: number, to: number): void => {
        const i = out.index.get(word);
        if (i === undefined) {
          out.index.set(word, out.words.length);
          out.words.push(word);
          out.p.push(p);
          out.to.push(to);
        } else if (out.to[i] === to) out.p[i]! += p;
        else {
          throw new Error(
            `not deterministic: from state "${r.label}" the word "${word}" leads to both ` +
              `"${raw[out.to[i]!]!.label}" and "${raw[to]!.label}"; make the categories that meet there disjoint`,
          );
        }
      };
      for (let i = 0; i < r.words.length; i++) add(r.words[i]!, r.weights[i]! / total, r.to[i]!);
      for (const e of r.eps) {
        const c = close(e.to);
        const f = e.weight / total;
        for (let i = 0; i < c.words.length; i++) add(c.words[i]!, f * c.p[i]!, c.to[i]!);
        out.end += f * c.end;
      }
      onStack.delete(s);
      memo.set(s, out);
      return out;
    };

    const id = new Map<number, number>([[start, 0]]);
    const order = [start];
    for (let i = 0; i < order.length; i++) {
      for (const to of close(order[i]!).to) {
        if (!id.has(to)) {
          id.set(to, order.length);
          order.push(to);
        }
      }
    }
    const states = order.map((s): AutomatonState => {
      const c = close(s);
      let total = c.end;
      for (const p of c.p) total += p;
      const edges: Edge[] = new Array(c.words.length);
      const cumulative = new Float64Array(edges.length);
      let run = 0;
      for (let i = 0; i < edges.length; i++) {
        const prob = c.p[i]! / total;
        edges[i] = { word: c.words[i]!, prob, next: id.get(c.to[i]!)! };
        cumulative[i] = run += prob;
      }
      const endProb = c.end / total;
      return Object.freeze({ label: raw[s]!.label, edges: Object.freeze(edges), endProb, index: c.index, cumulative });
    });
    return Object.freeze({ start: 0, states: Object.freeze(states) });
  }
}

/** ln P(words then <eos>) under `a`; -Infinity if `a` cannot produce that sentence. */
export function lineLogProb(a: Automaton, words: readonly string[]): number {
  let s = a.states[a.start]!;
  let lp = 0;
  for (const w of words) {
    const i = s.index.get(w);
    if (i === undefined) return -Infinity;
    const e = s.edges[i]!;
    lp += Math.log(e.prob);
    s = a.states[e.next]!;
  }
  return s.endProb > 0 ? lp + Math.log(s.endProb) : -Infinity;
}

/** Samples one sentence (without <eos>) and its exact log-probability, one rng.next() per token. */
export function sampleLine(a: Automaton, rng: Rng, maxWords = 10_000): { words: string[]; logProb: number } {
  let s = a.states[a.start]!;
  const words: string[] = [];
  let lp = 0;
  for (;;) {
    if (words.length > maxWords) throw new Error(`sampleLine: sentence longer than ${maxWords} words; the automaton rarely ends`);
    // The first edge whose running sum exceeds u (binary search); past all of them: END, or
    // (rounding, where this state has no END) the last edge.
    const u = rng.next();
    const cum = s.cumulative;
    let lo = 0;
    let hi = cum.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (u < cum[mid]!) hi = mid;
      else lo = mid + 1;
    }
    if (lo === cum.length && s.endProb > 0) return { words, logProb: lp + Math.log(s.endProb) };
    const pick = Math.min(lo, cum.length - 1);
    const e = s.edges[pick]!;
    words.push(e.word);
    lp += Math.log(e.prob);
    s = a.states[e.next]!;
  }
}

/** Sentences from `seed` until at least `targetWords` words: one per line, each ending in "\n". */
export function sampleText(a: Automaton, seed: number, targetWords: number): string {
  const rng = new Rng(seed);
  const lines: string[] = [];
  let n = 0;
  while (n < targetWords) {
    const { words } = sampleLine(a, rng);
    lines.push(words.join(' '));
    n += words.length;
  }
  return lines.join('\n') + '\n';
}
