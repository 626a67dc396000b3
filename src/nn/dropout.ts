// Inverted dropout (Zaremba et al. 2014, "Recurrent neural network regularization"): in
// training, each unit of a non-recurrent connection is kept with probability 1 - P and then
// scaled by 1/(1-P), so that evaluation (no dropout) needs no rescaling:
//   y = x ⊙ m,   m[i] = 0 with probability P, else 1/(1-P)
//   dx = dy ⊙ m
// A mask is a counter-based hash of its element index under a 64-bit key drawn from the caller's
// seeded Rng (the trainer's, whose state a resumable run saves): two 32-bit draws per mask,
// whatever its size, and the same bits on every backend and for any thread count
// (Kernels.dropoutMask; the hash is in kernels/ref-fused.ts).
// Legend: n element count.

import type { Arr, Kernels } from '../kernels/kernels.js';
import type { Rng } from '../rng.js';

/** mask [n] = 0 with probability P, else 1/(1-P); draws exactly two 32-bit words from rng. */
export function dropoutMask(k: Kernels, mask: Arr, P: number, rng: Rng, n: number): void {
  const k0 = rng.nextU32();
  const k1 = rng.nextU32();
  k.dropoutMask(mask, n, P, k0, k1);
}

/** y [n] = x [n] ⊙ mask [n] (y may be x). */
export function dropoutForward(k: Kernels, y: Arr, x: Arr, mask: Arr, n: number): void {
  k.mul(y, x, mask, n);
}

/** y = x ⊙ m:  dx [n] = dy [n] ⊙ mask [n] (dx may be dy). */
export function dropoutBackward(k: Kernels, dx: Arr, dy: Arr, mask: Arr, n: number): void {
  k.mul(dx, dy, mask, n);
}
