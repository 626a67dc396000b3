// Embedding lookup e(t) = E x(t), i.e. row x(t) of E.
// Legend: N = T·B token positions, V vocab, Emb embedding width.

import type { Arr, Kernels } from '../kernels/kernels.js';

/** out [N, Emb] = E[ids] with E [V, Emb], ids [N]. */
export function embeddingForward(k: Kernels, out: Arr, E: Arr, ids: Int32Array, N: number, Emb: number): void {
  k.gatherRows(out, E, ids, N, Emb);
}

/** dE [V, Emb] += scatter of dOut [N, Emb] by ids: each row of E gets the sum of its positions' gradients. */
export function embeddingBackward(k: Kernels, dE: Arr, dOut: Arr, ids: Int32Array, N: number, Emb: number): void {
  k.scatterAddRows(dE, dOut, ids, N, Emb);
}
