// Max-ent direct connections (Mikolov et al. 2011, "Strategies for training large scale neural
// network language models": the RNNME model; rnnlm-0.4b's -direct / -direct-order; faster-rnnlm's
// --direct): hashed n-gram features of the recent words feed the output scores directly,
//   score_j(t) += Σ_{a=0}^{O-1} table[(key_a(t) + j) mod S]
// where key_a(t) hashes the a most recent words x(t), x(t-1), …, x(t-a+1) (a = 0: the empty
// history, a per-output bias; O = --direct-order is the n-gram order, as rnnlm-0.4b's) and j runs
// over the outputs the model scores: the classes and, with a salt of the class, the words of a
// class (class-factored softmax), the inner nodes on a word's path (hierarchical softmax), or the
// words (full softmax). Consecutive outputs of one feature read consecutive entries, so a class
// reads one run of the table per order.
// The table direct.weight [S] starts at 0 and is trained sparsely: a batch touches N·O runs, and
// only those entries are clipped and updated (kernels directGrad* / sparseUpdate).
// Before the start of a text the history is the boundary token (id 0), as the evaluation's own
// leading boundary token: the carried history of a stream starts zeroed like h(0).
// Legend: T steps, B streams, N = T·B rows (time-major), O orders, S table entries, C classes.

import { ConfigError } from '../errors.js';
import type { Arr } from '../kernels/kernels.js';
import { fmix32, type SparseGrad } from '../kernels/ref-fused.js';

/** Largest table: 2^27 entries (with Adam's moments and the gradient, 2 GiB of the 4 GiB wasm memory). */
export const MAX_DIRECT = 1 << 27;
/** Largest n-gram order. */
export const MAX_DIRECT_ORDER = 8;

export function validateDirect(size: number, order: number): void {
  if (!Number.isInteger(size) || size < 0 || size > MAX_DIRECT) {
    throw new ConfigError(`direct must be 0 (off) or a number of table entries from 1 to ${MAX_DIRECT} (2^27), got ${JSON.stringify(size)}`);
  }
  if (!Number.isInteger(order) || order < 1 || order > MAX_DIRECT_ORDER) {
    throw new ConfigError(`direct order must be an integer from 1 to ${MAX_DIRECT_ORDER}, got ${JSON.stringify(order)}`);
  }
}

/**
 * Context hashes ctx [N, O] of a segment: ctx[r, a] hashes the a most recent words of row r =
 * (t, b), x(t), x(t-1), …, with the words before the segment from hist [B, O-1] (stream b's last
 * inputs, most recent first). a = 0 hashes nothing (the empty history).
 */
export function contextHashes(ctx: Uint32Array, x: Int32Array, T: number, B: number, hist: ArrayLike<number>, O: number): void {
  const Hw = O - 1;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const r = t * B + b;
      let h = fmix32(0x9e3779b9);
      ctx[r * O] = h;
      for (let a = 1; a < O; a++) {
        // the a-th most recent word: x(t - a + 1), or from the carried history
        const s = t - a + 1;
        const w = s >= 0 ? x[s * B + b] : hist[b * Hw + (-s - 1)];
        h = fmix32((h ^ Math.imul((w | 0) + 1, 0xcc9e2d51)) + a);
        ctx[r * O + a] = h;
      }
    }
  }
}

/** The table start of a context hash for the outputs of one group (salt 0: classes / nodes / words; c + 1: words of class c). */
export function directKey(ctx: number, salt: number, S: number): number {
  return fmix32((ctx ^ Math.imul(salt + 1, 0x85ebca77)) >>> 0) % S;
}

/** hist [B, O-1] ← the last O-1 inputs of each stream after a segment x [T·B] (most recent first). */
export function advanceHistory(hist: Arr, x: Int32Array, T: number, B: number, O: number): void {
  const Hw = O - 1;
  if (Hw === 0) return;
  for (let b = 0; b < B; b++) {
    const old = Array.from({ length: Hw }, (_, i) => hist[b * Hw + i]);
    for (let i = 0; i < Hw; i++) {
      const s = T - 1 - i;
      hist[b * Hw + i] = s >= 0 ? x[s * B + b] : old[i - T];
    }
  }
}

/** The table, its sparse gradient and (for Adam / Adagrad) moments; all [S] but the touched list. */
export interface DirectTable {
  readonly size: number;
  readonly order: number;
  readonly weight: Arr; // [S] direct.weight
  readonly grad: SparseGrad;
}

/** A zero table of S entries with an empty sparse gradient; alloc gives the model's dtype. */
export function newDirectTable(size: number, order: number, alloc: (n: number) => Arr, allocI32: (n: number) => Int32Array, allocU8: (n: number) => Uint8Array): DirectTable {
  validateDirect(size, order);
  return {
    size, order, weight: alloc(size),
    grad: { g: alloc(size), flags: allocU8(size), list: allocI32(size + 1) },
  };
}
