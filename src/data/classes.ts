// Word classes for the class-factored softmax (nn/classes.ts): Mikolov's frequency binning of
// the training text's words into C classes of about equal unigram mass, and the check that a
// class map read from elsewhere (a checkpoint) is usable.
// Legend: V vocab, C classes.

import { ConfigError } from '../errors.js';

/** Counts of each id in [0, V) over a token stream (the training text's unigram counts). */
export function unigramCounts(ids: Int32Array, V: number): Float64Array {
  const counts = new Float64Array(V);
  for (let i = 0; i < ids.length; i++) counts[ids[i]]++;
  return counts;
}

/**
 * Mikolov's frequency binning (rnnlm toolkit, "equal unigram mass"): words by descending count
 * (ties by id); a word goes to the current class a, and a moves on once the cumulative
 * probability passes (a+1)/C. One change: when only as many words remain as classes are still
 * empty, each takes a class of its own, so that no class is empty (an empty class would hold
 * probability with no word to give it to). Returns class [V] of each word id.
 */
export function assignClasses(counts: ArrayLike<number>, C: number): Int32Array {
  const V = counts.length;
  if (!Number.isInteger(C) || C < 2 || C > V) {
    throw new ConfigError(`classes must be an integer from 2 to the vocabulary size ${V}, got ${C}`);
  }
  let total = 0;
  for (let w = 0; w < V; w++) {
    const c = counts[w];
    if (!(c >= 0 && Number.isFinite(c))) throw new ConfigError(`unigram count of word ${w} must be a finite number ≥ 0, got ${c}`);
    total += c;
  }
  if (total <= 0) throw new ConfigError('unigram counts are all zero: class binning needs the training text\'s counts');
  const order = Array.from({ length: V }, (_, w) => w).sort((x, y) => counts[y] - counts[x] || x - y);
  const cls = new Int32Array(V);
  let a = 0;
  let filled = false; // class a has a word
  let df = 0;
  for (let r = 0; r < V; r++) {
    const w = order[r];
    if (filled && V - r <= C - 1 - a) {
      a++;
      filled = false;
    }
    cls[w] = a;
    filled = true;
    df += counts[w] / total;
    if (df > (a + 1) / C && a < C - 1) {
      a++;
      filled = false;
    }
  }
  return cls;
}

/** Throws unless cls is an integer array of V class ids in [0, C), every class used. */
export function validateClasses(cls: ArrayLike<number>, C: number, V: number, where = 'classes'): void {
  if (cls.length !== V) throw new ConfigError(`${where}: ${cls.length} class ids for a vocabulary of ${V}`);
  const used = new Uint8Array(C);
  for (let w = 0; w < V; w++) {
    const c = cls[w];
    if (!Number.isInteger(c) || c < 0 || c >= C) throw new ConfigError(`${where}: word ${w} has class ${c}, expected an integer from 0 to ${C - 1}`);
    used[c] = 1;
  }
  const empty = used.indexOf(0);
  if (empty >= 0) throw new ConfigError(`${where}: class ${empty} has no words (every one of the ${C} classes needs at least one)`);
}
