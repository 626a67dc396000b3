// The built-in corpus: English-like sentences from a small stochastic grammar whose exact
// probabilities are known, so that a trained model's perplexity can be compared with the floor
// (the source's own cross-entropy). The CLI addresses its splits as builtin:train,
// builtin:valid and builtin:test; each is sampled from its own fixed seed, so the three are
// independent samples of one source.
//
// How exactness is guaranteed. The grammar is written as a weighted graph with word edges,
// epsilon edges (optional parts) and END weights, then compiled by AutomatonBuilder.compile into
// a deterministic probabilistic finite automaton (DPFA): every state has a list of edges
// (word, prob, next) with distinct words, plus an END probability (the <eos>), and these sum
// to 1. Compilation removes epsilon edges by folding each target's (already compiled) edges into
// the source, scaled by the epsilon's share; if two routes would emit the same word from one
// state into different states it throws instead of guessing, and two routes into the same state
// add their probabilities. Since each (state, word) has one successor, a sentence has at most
// one path, and P(sentence) = product of the edge probabilities along it times END, exactly (in
// float64). The sampler walks the same edges, so sampleLine's log-probability is bit-identical
// to lineLogProb's for the line it returns. The exact entropy (automatonEntropy) comes from the
// expected number of visits to each state, a small linear system.
//
// Grammar: clause (conjunction clause)*, clause = [sentence adverb] subject predicate. Subjects
// are pronouns, names or determiner + up to two adjectives + noun, optionally followed by a
// relative clause (that/who/which + predicate) or a prepositional phrase. Verbs agree with the
// subject's number (sg/pl present forms, shared past forms); predicates are intransitive
// (+ adverb or PP), transitive (+ object noun phrase) or copular (+ adjective or PP). Words
// within a category get Zipf weights (rank r has weight 1/r^ZIPF_EXPONENT), and "a"/"an" are
// chosen by the next word's first letter.

import { InputError } from '../errors.js';
import { Rng } from '../rng.js';

// ---------------------------------------------------------------------------------------------
// Automaton

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

/**
 * Exact expectations over the sentences of `a`: nllPerSentence = E[-ln P(sentence)] (the
 * source's entropy per sentence, nats), tokensPerSentence = E[words + 1]; perplexity =
 * exp(nll / tokens), the per-token perplexity a long sample converges to.
 *
 * Works for cyclic automata: the expected number of visits v[s] to each state in one sentence
 * solves v = e_start + Pᵀ v (P[s][t] = probability of a word edge s -> t). Every visit emits one
 * token (a word or <eos>), so tokens = Σ v[s] and nll = Σ v[s]·H(s), H(s) the entropy of state
 * s's choice. Solved by Gaussian elimination (n = states, O(n³), small here). Throws if some
 * state can loop forever (the system is then singular).
 */
export function automatonEntropy(a: Automaton): { nllPerSentence: number; tokensPerSentence: number; perplexity: number } {
  const n = a.states.length;
  // M (n, n) row-major: M = I - Pᵀ, so M[t][s] -= P[s][t]; rhs = e_start.
  const M = new Float64Array(n * n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) M[i * n + i] = 1;
  a.states.forEach((st, s) => {
    for (const e of st.edges) M[e.next * n + s]! -= e.prob;
  });
  v[a.start] = 1;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r * n + c]!) > Math.abs(M[piv * n + c]!)) piv = r;
    if (!(Math.abs(M[piv * n + c]!) > 1e-12)) throw new Error(`automatonEntropy: singular system at state ${c} "${a.states[c]!.label}"; some states never reach END`);
    if (piv !== c) {
      for (let k = 0; k < n; k++) [M[c * n + k], M[piv * n + k]] = [M[piv * n + k]!, M[c * n + k]!];
      [v[c], v[piv]] = [v[piv]!, v[c]!];
    }
    const d = M[c * n + c]!;
    for (let r = c + 1; r < n; r++) {
      const f = M[r * n + c]! / d;
      if (f === 0) continue;
      for (let k = c; k < n; k++) M[r * n + k]! -= f * M[c * n + k]!;
      v[r]! -= f * v[c]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let x = v[r]!;
    for (let k = r + 1; k < n; k++) x -= M[r * n + k]! * v[k]!;
    v[r] = x / M[r * n + r]!;
  }
  let nll = 0;
  let tokens = 0;
  a.states.forEach((st, s) => {
    let h = st.endProb > 0 ? -st.endProb * Math.log(st.endProb) : 0;
    for (const e of st.edges) h -= e.prob * Math.log(e.prob);
    nll += v[s]! * h;
    tokens += v[s]!;
  });
  return { nllPerSentence: nll, tokensPerSentence: tokens, perplexity: Math.exp(nll / tokens) };
}

// ---------------------------------------------------------------------------------------------
// Word categories (data). Order within a list is frequency rank.

/** Exponent of the within-category Zipf weights. */
export const ZIPF_EXPONENT = 1.0;

/** Singular nouns; "sg:pl" where the plural is irregular. */
const NOUNS = `
  man:men woman:women child:children dog cat house city teacher friend bird
  car book door tree river road student doctor king queen
  horse garden letter window table farmer boy girl mother father
  village forest mountain ship island soldier painter singer neighbour stranger
  baby lawyer nurse pilot sailor mouse:mice wolf:wolves fox rabbit cow
  duck apple box bottle cup chair bed lamp clock key
  bridge tower church school market shop office kitchen room wall
  boat train bus bicycle hat coat shoe knife:knives leaf:leaves flower
  stone star cloud lake hill field farm party story song
  picture game question idea secret gift map coin ring candle`;

/** Verbs without an object; "base:past" where the past is irregular. */
const INTRANSITIVE_VERBS = `
  sleep:slept run:ran walk laugh smile sing:sang dance cry wait arrive
  swim:swam fall:fell sit:sat shout work rest travel:travelled listen jump disappear`;

/** Verbs with an object. */
const TRANSITIVE_VERBS = `
  see:saw like find:found take:took chase watch follow help love visit
  remember carry build:built paint open close keep:kept bring:brought buy:bought sell:sold
  want need meet:met hear:heard know:knew hold:held show push pull forget:forgot`;

const ADJECTIVES = `
  big small old young good new happy sad little red green blue white black tall short
  quiet warm cold dark bright strange famous clever kind tired hungry busy angry brave
  rich poor beautiful lonely gentle wild heavy empty hidden ancient`;

const NAMES = 'anna tom maria john lucy peter sara david emma paul nina mark julia sam alice ben clara leo rosa oscar';
const DETERMINERS_ANY = 'the my their his our your no';
const DETERMINERS_SG = 'this every one each another'; // plus "a"/"an", handled apart
const DETERMINERS_PL = 'some two many these three those several few all';
const SUBJECT_PRONOUNS_SG = 'he she it';
const SUBJECT_PRONOUNS_PL = 'they we you';
const OBJECT_PRONOUNS_SG = 'him her it me';
const OBJECT_PRONOUNS_PL = 'them us';
const SENTENCE_ADVERBS = 'yesterday sometimes suddenly later meanwhile';
const PRE_VERB_ADVERBS = 'often never always usually rarely also';
const POST_VERB_ADVERBS = 'quickly slowly again quietly today together here alone loudly well';
const DEGREE_ADVERBS = 'very quite really rather too';
const PREPOSITIONS = 'in on with near from behind under beside without across';
const CONJUNCTIONS = 'and but because while so when';
const RELATIVE_PRONOUNS = 'that who which';

// ---------------------------------------------------------------------------------------------
// Grammar wiring

type Num = 'sg' | 'pl';

const list = (s: string): string[] => s.trim().split(/\s+/);

/** A category with Zipf weights by list order. */
function zipf(words: readonly string[]): { word: string; weight: number }[] {
  return words.map((word, r) => ({ word, weight: 1 / Math.pow(r + 1, ZIPF_EXPONENT) }));
}

function pluralOf(w: string): string {
  if (/(s|x|ch|sh)$/.test(w)) return w + 'es';
  if (/[^aeiou]y$/.test(w)) return w.slice(0, -1) + 'ies';
  return w + 's';
}

function thirdPersonOf(v: string): string {
  if (/(s|x|ch|sh|o)$/.test(v)) return v + 'es';
  if (/[^aeiou]y$/.test(v)) return v.slice(0, -1) + 'ies';
  return v + 's';
}

function pastOf(v: string): string {
  if (v.endsWith('e')) return v + 'd';
  if (/[^aeiou]y$/.test(v)) return v.slice(0, -1) + 'ied';
  return v + 'ed';
}

/** "a" or "an" by first letter (enough for this vocabulary: no silent h, no "you"-sounding u). */
const takesAn = (w: string): boolean => /^[aeiou]/.test(w);

interface Lexicon {
  nouns: Record<Num, Category>;
  adjectives: Category;
  /** Verb forms agreeing with a subject of each number: present (weight 0.6) and past (0.4). */
  intransitive: Record<Num, Category>;
  transitive: Record<Num, Category>;
  copula: Record<Num, Category>;
}

function lexicon(): Lexicon {
  const nouns = list(NOUNS).map((n) => n.split(':'));
  const verbs = (src: string): Record<Num, Category> => {
    const vs = list(src).map((v) => {
      const [base, past] = v.split(':') as [string, string | undefined];
      return { base, sg: thirdPersonOf(base), past: past ?? pastOf(base) };
    });
    const forms = (n: Num): Category =>
      vs.flatMap((v, r) => {
        const z = 1 / Math.pow(r + 1, ZIPF_EXPONENT);
        return [{ word: n === 'sg' ? v.sg : v.base, weight: 0.6 * z }, { word: v.past, weight: 0.4 * z }];
      });
    return { sg: forms('sg'), pl: forms('pl') };
  };
  return {
    nouns: {
      sg: zipf(nouns.map(([s]) => s!)),
      pl: zipf(nouns.map(([s, p]) => p ?? pluralOf(s!))),
    },
    adjectives: zipf(list(ADJECTIVES)),
    intransitive: verbs(INTRANSITIVE_VERBS),
    transitive: verbs(TRANSITIVE_VERBS),
    copula: {
      sg: [{ word: 'is', weight: 0.6 }, { word: 'was', weight: 0.4 }],
      pl: [{ word: 'are', weight: 0.6 }, { word: 'were', weight: 0.4 }],
    },
  };
}

/** Memoises a per-number state maker, so each continuation is built at most once per number. */
function perNumber(make: (n: Num) => number): (n: Num) => number {
  const made = new Map<Num, number>();
  return (n) => {
    let s = made.get(n);
    if (s === undefined) made.set(n, (s = make(n)));
    return s;
  };
}

type Role = 'subject' | 'object';

class Grammar {
  /** Noun phrases built so far, by role, continuations and modifiers: equal ones are shared. */
  private readonly nounPhrases = new Map<string, number>();

  constructor(
    private readonly b: AutomatonBuilder,
    private readonly lex: Lexicon,
  ) {}

  /** from: [sentence adverb] subject predicate -> to. */
  clause(from: number, to: number, label: string): void {
    const { b } = this;
    const subject = b.state(`${label}: subject`);
    b.category(from, zipf(list(SENTENCE_ADVERBS)), 0.06, subject);
    b.eps(from, subject, 0.94);
    const predicate = perNumber((n) => {
      const s = b.state(`${label}: predicate ${n}`);
      this.verbPhrase(s, n, to, true, `${label}: predicate ${n}`);
      return s;
    });
    b.eps(subject, this.nounPhrase('subject', predicate, true, `${label}: subject`), 1);
  }

  /**
   * The start state of a noun phrase that continues at cont(its number); withMods allows a
   * relative clause or PP after the noun. Built once per (role, continuations, withMods).
   */
  nounPhrase(role: Role, cont: (n: Num) => number, withMods: boolean, label: string): number {
    const key = `${role} ${cont('sg')} ${cont('pl')} ${withMods}`;
    const known = this.nounPhrases.get(key);
    if (known !== undefined) return known;
    const { b } = this;
    const from = b.state(label);
    this.nounPhrases.set(key, from);
    const head = withMods
      ? perNumber((n) => {
          const s = b.state(`${label} head ${n}`);
          this.modifiers(s, n, cont(n), `${label} head ${n}`);
          return s;
        })
      : cont;
    if (role === 'subject') {
      b.category(from, zipf(list(SUBJECT_PRONOUNS_SG)), 0.06, cont('sg'));
      b.category(from, zipf(list(SUBJECT_PRONOUNS_PL)), 0.04, cont('pl'));
    } else {
      b.category(from, zipf(list(OBJECT_PRONOUNS_SG)), 0.06, cont('sg'));
      b.category(from, zipf(list(OBJECT_PRONOUNS_PL)), 0.03, cont('pl'));
    }
    b.category(from, zipf(list(NAMES)), 0.07, head('sg'));
    const all = (): boolean => true;
    b.category(from, zipf(list(DETERMINERS_ANY)), 0.4, this.prenominal('any', head, all, `${label} the`));
    b.word(from, 'a', 0.17, this.prenominal('sg', head, (w) => !takesAn(w), `${label} a`));
    b.word(from, 'an', 0.03, this.prenominal('sg', head, takesAn, `${label} an`));
    b.category(from, zipf(list(DETERMINERS_SG)), 0.06, this.prenominal('sg', head, all, `${label} this`));
    b.category(from, zipf(list(DETERMINERS_PL)), 0.1, this.prenominal('pl', head, all, `${label} some`));
    return from;
  }

  /**
   * After a determiner: up to two adjectives, then a noun of an allowed number. `first` filters
   * the word right after the determiner ("a"/"an"); the states after an adjective are shared by
   * all determiners with the same number and head.
   */
  prenominal(x: Num | 'any', head: (n: Num) => number, first: (w: string) => boolean, label: string): number {
    const s = this.b.state(`${label} +0 adj`);
    this.adjectivesThenNoun(s, x, head, 0, first);
    return s;
  }

  /** Probability of another adjective after k adjectives. */
  private static readonly ADJECTIVE_WEIGHT = [0.28, 0.12, 0];

  private adjectivesThenNoun(s: number, x: Num | 'any', head: (n: Num) => number, k: number, first: (w: string) => boolean): void {
    const { b, lex } = this;
    const keep = (c: Category): Category => c.filter((e) => first(e.word));
    const adjWeight = Grammar.ADJECTIVE_WEIGHT[k]!;
    if (adjWeight > 0) b.category(s, keep(lex.adjectives), adjWeight, this.afterAdjective(x, head, k + 1));
    const nounWeight = 1 - adjWeight;
    if (x !== 'pl') b.category(s, keep(lex.nouns.sg), x === 'any' ? 0.65 * nounWeight : nounWeight, head('sg'));
    if (x !== 'sg') b.category(s, keep(lex.nouns.pl), x === 'any' ? 0.35 * nounWeight : nounWeight, head('pl'));
  }

  private readonly afterAdjectives = new Map<string, number>();

  /** The state after k >= 1 adjectives, shared per (number, head, k). */
  private afterAdjective(x: Num | 'any', head: (n: Num) => number, k: number): number {
    const key = `${x} ${head('sg')} ${head('pl')} ${k}`;
    let s = this.afterAdjectives.get(key);
    if (s === undefined) {
      s = this.b.state(`${x} noun phrase +${k} adj`);
      this.afterAdjectives.set(key, s);
      this.adjectivesThenNoun(s, x, head, k, () => true);
    }
    return s;
  }

  /** Optional relative clause or prepositional phrase after a noun, then `next`. */
  modifiers(s: number, n: Num, next: number, label: string): void {
    const { b } = this;
    b.eps(s, next, 0.78);
    const rel = b.state(`${label} relative`);
    b.category(s, zipf(list(RELATIVE_PRONOUNS)), 0.1, rel);
    this.verbPhrase(rel, n, next, false, `${label} relative`);
    b.category(s, zipf(list(PREPOSITIONS)), 0.12, this.nounPhrase('object', () => next, false, `${label} pp`));
  }

  /** [pre-verb adverb] verb agreeing with n, then its complement, then `to`. */
  verbPhrase(from: number, n: Num, to: number, objectMods: boolean, label: string): void {
    const { b, lex } = this;
    const verb = b.state(`${label} verb`);
    b.category(from, zipf(list(PRE_VERB_ADVERBS)), 0.08, verb);
    b.eps(from, verb, 0.92);

    const intr = b.state(`${label} intransitive`);
    b.category(verb, lex.intransitive[n], 0.36, intr);
    b.category(intr, zipf(list(POST_VERB_ADVERBS)), 0.25, to);
    b.category(intr, zipf(list(PREPOSITIONS)), 0.3, this.nounPhrase('object', () => to, false, `${label} pp`));
    b.eps(intr, to, 0.45);

    b.category(verb, lex.transitive[n], 0.5, this.nounPhrase('object', () => to, objectMods, `${label} object`));

    const cop = b.state(`${label} copula`);
    b.category(verb, lex.copula[n], 0.14, cop);
    const adj = b.state(`${label} copula adjective`);
    b.category(cop, zipf(list(DEGREE_ADVERBS)), 0.2, adj);
    b.eps(cop, adj, 0.5);
    b.category(adj, lex.adjectives, 1, to);
    b.category(cop, zipf(list(PREPOSITIONS)), 0.3, this.nounPhrase('object', () => to, false, `${label} pp`));
  }
}

/** sentence = clause (conjunction clause)*: after each clause, END (0.78) or a conjunction and another. */
function buildSource(): Automaton {
  const b = new AutomatonBuilder();
  const g = new Grammar(b, lexicon());
  const start = b.state('sentence');
  const afterClause = b.state('after clause');
  b.end(afterClause, 0.78);
  b.category(afterClause, zipf(list(CONJUNCTIONS)), 0.22, start);
  g.clause(start, afterClause, 'clause');
  return b.compile(start);
}

// ---------------------------------------------------------------------------------------------
// Public API

export type BuiltinSplit = 'train' | 'valid' | 'test';
export const BUILTIN_PREFIX = 'builtin:';
export const BUILTIN_SPLITS: readonly BuiltinSplit[] = Object.freeze(['train', 'valid', 'test']);
/** Seed of each split's sampler (independent samples). */
export const BUILTIN_SEEDS: Readonly<Record<BuiltinSplit, number>> = Object.freeze({ train: 20240101, valid: 20240202, test: 20240303 });
/** Each split is sampled sentence by sentence until it has at least this many words. */
export const BUILTIN_TARGET_WORDS: Readonly<Record<BuiltinSplit, number>> = Object.freeze({ train: 40_000, valid: 4_000, test: 4_000 });

let automaton: Automaton | undefined;
const texts = new Map<BuiltinSplit, string>();

/** The source as a DPFA (built once). */
export function builtinAutomaton(): Automaton {
  return (automaton ??= buildSource());
}

/** True for 'builtin:train', 'builtin:valid' and 'builtin:test'. */
export function isBuiltinName(name: string): boolean {
  return name.startsWith(BUILTIN_PREFIX) && (BUILTIN_SPLITS as readonly string[]).includes(name.slice(BUILTIN_PREFIX.length));
}

/** The split a 'builtin:...' name addresses; throws InputError naming the valid choices. */
export function parseBuiltinName(name: string): BuiltinSplit {
  if (!isBuiltinName(name)) {
    throw new InputError(`unknown built-in corpus ${JSON.stringify(name)}; choose one of ${BUILTIN_SPLITS.map((s) => BUILTIN_PREFIX + s).join(', ')}`);
  }
  return name.slice(BUILTIN_PREFIX.length) as BuiltinSplit;
}

/** The text of a split: one sentence per line, single spaces, each line ending in "\n". Cached. */
export function builtinText(split: BuiltinSplit): string {
  if (!BUILTIN_SPLITS.includes(split)) throw new InputError(`unknown built-in split ${JSON.stringify(split)}; choose one of ${BUILTIN_SPLITS.join(', ')}`);
  let t = texts.get(split);
  if (t === undefined) {
    t = sampleText(builtinAutomaton(), BUILTIN_SEEDS[split], BUILTIN_TARGET_WORDS[split]);
    texts.set(split, t);
  }
  return t;
}

/**
 * Natural-log probability of one line (its words then <eos>) under the source; -Infinity if the
 * source cannot produce it. Whitespace-split. A blank line is the empty sentence, which the
 * source never produces (its start state has no END), so it gets -Infinity.
 */
export function builtinLineLogProb(line: string): number {
  const t = line.trim();
  return lineLogProb(builtinAutomaton(), t === '' ? [] : t.split(/\s+/));
}

/**
 * The source's own cross-entropy on a text, word level with one <eos> per line. Lines are split
 * on "\n" (a final "\n" does not start another line); a blank line counts one token (its <eos>)
 * and is impossible under the source, so it, like any line the source cannot produce, makes nll
 * and perplexity Infinity. Returns nll = -Σ ln P (nats, float64), tokens = words + lines,
 * perplexity = exp(nll / tokens). Throws InputError on a text with no lines.
 */
export function sourceCrossEntropy(text: string): { nll: number; tokens: number; perplexity: number } {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new InputError('sourceCrossEntropy: the text has no lines; give at least one sentence');
  const a = builtinAutomaton();
  let nll = 0;
  let tokens = 0;
  for (const line of lines) {
    const t = line.trim();
    const words = t === '' ? [] : t.split(/\s+/);
    nll -= lineLogProb(a, words);
    tokens += words.length + 1;
  }
  return { nll, tokens, perplexity: Math.exp(nll / tokens) };
}

/** The whole vocabulary the source can emit (without <eos>), sorted. */
export function builtinWords(): string[] {
  const words = new Set<string>();
  for (const s of builtinAutomaton().states) for (const e of s.edges) words.add(e.word);
  return [...words].sort();
}
