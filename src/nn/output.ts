// Output layer: yhat(t) = softmax(U h(t) + b2), loss J(t) = -log yhat(t)[x(t+1)], fused.
// U = decoder.weight [V, H], b2 = decoder.bias [V]. Applied to all T·B rows of a segment at once.
// Legend: N = T·B rows, H hidden, V vocab.

import type { Arr, Kernels } from '../kernels/kernels.js';

/** logits [N, V] = Hn [N, H] · Uᵀ + b2. */
export function outputForward(k: Kernels, logits: Arr, Hn: Arr, U: Arr, b2: Arr, N: number, H: number, V: number): void {
  k.gemm(logits, Hn, U, N, V, H, false, true, 0);
  k.addBias(logits, b2, N, V);
}

/**
 * Σ_rows -log softmax(logits)[target] (float64). With grad, logits become
 * dJ/dlogits = (yhat - onehot(target)) · scale, where scale = 1/N for a mean loss.
 */
export function outputLoss(
  k: Kernels, logits: Arr, targets: Int32Array, N: number, V: number, grad: boolean, scale: number, logProbs?: Float64Array,
): number {
  return k.softmaxXent(logits, targets, N, V, grad, scale, logProbs);
}

/** dU [V, H] += dlogitsᵀ · Hn; db2 [V] += Σ rows of dlogits; dHn [N, H] = dlogits · U. */
export function outputBackward(
  k: Kernels, dHn: Arr, dU: Arr, db2: Arr, dlogits: Arr, Hn: Arr, U: Arr, N: number, H: number, V: number,
): void {
  k.gemm(dU, dlogits, Hn, V, H, N, true, false, 1);
  k.sumRows(db2, dlogits, N, V);
  k.gemm(dHn, dlogits, U, N, H, V, false, false, 0);
}
