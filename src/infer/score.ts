// Sentence scoring for n-best rescoring: each line on its own (h(0) = 0, preceded by the
// boundary token), log-probability of its tokens and the closing <eos> / newline.

import { lineWords, type Vocab } from '../data/vocab.js';
import type { RnnLM } from '../nn/model.js';

export interface LineScore {
  /** ln P(line), nats. */
  logProb: number;
  /** log10 P(line), as n-best tools expect. */
  log10Prob: number;
  /** Predicted tokens (words + 1 for <eos>, or characters + 1 for the newline). */
  tokens: number;
  /** Tokens that were out of vocabulary. */
  unknown: number;
}

export function scoreLine(model: RnnLM, vocab: Vocab, line: string): LineScore {
  const toks = vocab.level === 'word' ? lineWords(line) : Array.from(line);
  const ids = new Int32Array(toks.length + 1);
  let unknown = 0;
  toks.forEach((t, i) => {
    if (!vocab.has(t)) unknown++;
    ids[i] = vocab.id(t);
  });
  ids[toks.length] = vocab.boundaryId;
  const x = new Int32Array(ids.length);
  x[0] = vocab.boundaryId;
  x.set(ids.subarray(0, ids.length - 1), 1);
  const state = model.newState(1);
  model.forward(x, ids.length, 1, state, { logits: false });
  const logProb = -model.loss(ids, false, 1);
  return { logProb, log10Prob: logProb / Math.LN10, tokens: ids.length, unknown };
}
