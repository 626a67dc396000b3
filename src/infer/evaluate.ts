// Exact evaluation: one stream, h(0) = 0, the state carried through the whole text, every
// token predicted (the text is preceded by one boundary token), log-likelihood summed in
// float64. Perplexity = exp(mean cross-entropy).
// Legend: n tokens, T chunk length (any: no gradient flows, so the result does not depend on it).

import type { RnnLM } from '../nn/model.js';

export interface EvalResult {
  /** Predicted tokens. */
  tokens: number;
  /** Σ -ln p(token), nats. */
  nll: number;
  /** nll / tokens, nats per token. */
  crossEntropy: number;
  /** crossEntropy / ln 2. */
  bitsPerToken: number;
  perplexity: number;
}

export function summarize(nll: number, tokens: number): EvalResult {
  const ce = tokens > 0 ? nll / tokens : NaN;
  return { tokens, nll, crossEntropy: ce, bitsPerToken: ce / Math.LN2, perplexity: Math.exp(ce) };
}

export interface EvalOptions {
  /** Steps per forward call (memory vs. speed; the figure is the same). Default 256. */
  chunk?: number;
  /** Per-token ln p, written when given (length ≥ ids.length). */
  logProbs?: Float64Array;
  /** Called after each chunk with tokens done so far. */
  onProgress?: (done: number, total: number) => void;
}

/** Evaluate the model on token ids (without the leading boundary, which is added here). */
export function evaluateIds(model: RnnLM, ids: Int32Array, opts: EvalOptions = {}): EvalResult {
  const chunk = opts.chunk ?? 256;
  const n = ids.length;
  const state = model.newState(1);
  const x = new Int32Array(chunk);
  let nll = 0;
  for (let start = 0; start < n; start += chunk) {
    const T = Math.min(chunk, n - start);
    // inputs: boundary, ids[0..n-2]; targets: ids[0..n-1]
    for (let t = 0; t < T; t++) x[t] = start + t === 0 ? 0 : ids[start + t - 1];
    model.forward(x, T, 1, state, { logits: false }); // loss() is all we read (a class softmax skips H·V)
    const targets = ids.subarray(start, start + T);
    const lp = opts.logProbs ? opts.logProbs.subarray(start, start + T) : undefined;
    nll += model.loss(targets, false, 1, lp);
    opts.onProgress?.(start + T, n);
  }
  return summarize(nll, n);
}
