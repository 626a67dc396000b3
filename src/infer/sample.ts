// Turning the output layer into a distribution to sample from: temperature, top-k, and a
// pure sampler (the coin is the caller's seeded random number).
// Legend: V vocab.

import type { Arr } from '../kernels/kernels.js';

/**
 * probs [V] = softmax(logits / temperature) restricted to the k most likely tokens
 * (k = 0: all), max-subtracted; ties at the k-th value are all kept.
 */
export function samplingDistribution(probs: Float64Array, logits: Arr, V: number, temperature: number, topK: number): void {
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i];
  let threshold = -Infinity;
  if (topK > 0 && topK < V) {
    const sorted = Array.from(logits.subarray(0, V)).sort((a, b) => b - a);
    threshold = sorted[topK - 1];
  }
  let sum = 0;
  for (let i = 0; i < V; i++) {
    const p = logits[i] >= threshold ? Math.exp((logits[i] - max) / temperature) : 0;
    probs[i] = p;
    sum += p;
  }
  for (let i = 0; i < V; i++) probs[i] /= sum;
}

/** The index i with cdf(i-1) ≤ coin < cdf(i), coin in [0, 1); pure. */
export function sample(probs: ArrayLike<number>, coin: number): number {
  let acc = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    acc += probs[i];
    last = i;
    if (coin < acc) return i;
  }
  return last; // rounding left the total a hair below 1
}
