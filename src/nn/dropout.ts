// Inverted dropout (Zaremba et al. 2014, "Recurrent neural network regularization"): in
// training, each unit of a non-recurrent connection is kept with probability 1 - P and then
// scaled by 1/(1-P), so that evaluation (no dropout) needs no rescaling:
//   y = x ⊙ m,   m[i] = 0 with probability P, else 1/(1-P)
//   dx = dy ⊙ m
// Masks are drawn from the caller's seeded Rng (the trainer's, whose state a resumable run
// saves), one uniform number per unit in row-major order.
// Legend: n element count.

import type { Arr } from '../kernels/kernels.js';
import type { Rng } from '../rng.js';

/** mask [n] = 0 with probability P, else 1/(1-P); draws exactly n numbers from rng. */
export function dropoutMask(mask: Arr, P: number, rng: Rng, n: number): void {
  const keep = 1 / (1 - P);
  for (let i = 0; i < n; i++) mask[i] = rng.next() < P ? 0 : keep;
}

/** y [n] = x [n] ⊙ mask [n] (y may be x). */
export function dropoutForward(y: Arr, x: Arr, mask: Arr, n: number): void {
  for (let i = 0; i < n; i++) y[i] = x[i] * mask[i];
}

/** y = x ⊙ m:  dx [n] = dy [n] ⊙ mask [n] (dx may be dy). */
export function dropoutBackward(dx: Arr, dy: Arr, mask: Arr, n: number): void {
  for (let i = 0; i < n; i++) dx[i] = dy[i] * mask[i];
}
