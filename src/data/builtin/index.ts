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
//
// Files: automaton.ts (the DPFA, its compiler and sampler), entropy.ts (its exact entropy),
// words.ts (the word lists), grammar.ts (how they are wired into the source); this file is the
// public face.

import { InputError } from '../../errors.js';
import { lineWords, splitLines } from '../vocab.js';
import { lineLogProb, sampleText, type Automaton } from './automaton.js';
import { buildSource } from './grammar.js';

export { automatonEntropy } from './entropy.js';
export { AutomatonBuilder, lineLogProb, sampleLine, sampleText, type Automaton, type AutomatonState, type Category, type Edge } from './automaton.js';
export { ZIPF_EXPONENT } from './words.js';

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
  return lineLogProb(builtinAutomaton(), lineWords(line));
}

/**
 * The source's own cross-entropy on a text, word level with one <eos> per line. Lines are split
 * on "\n" (a final "\n" does not start another line); a blank line counts one token (its <eos>)
 * and is impossible under the source, so it, like any line the source cannot produce, makes nll
 * and perplexity Infinity. Returns nll = -Σ ln P (nats, float64), tokens = words + lines,
 * perplexity = exp(nll / tokens). Throws InputError on a text with no lines.
 */
export function sourceCrossEntropy(text: string): { nll: number; tokens: number; perplexity: number } {
  const lines = splitLines(text);
  if (lines.length === 0) throw new InputError('sourceCrossEntropy: the text has no lines; give at least one sentence');
  const a = builtinAutomaton();
  let nll = 0;
  let tokens = 0;
  for (const line of lines) {
    const words = lineWords(line);
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
