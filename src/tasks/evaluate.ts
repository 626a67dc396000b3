// `rnnlm eval` as a library function: exact perplexity of a model on a text, with the
// out-of-vocabulary rate and, for the built-in corpus, the source's own perplexity (the floor).

import { InputError } from '../errors.js';
import { isBuiltinName, sourceCrossEntropy } from '../data/builtin/index.js';
import type { Vocab } from '../data/vocab.js';
import type { RnnLM } from '../nn/model.js';
import { evaluateIds, type EvalOptions, type EvalResult } from '../infer/evaluate.js';

export interface TextEvalResult extends EvalResult {
  /** Tokens that were not in the vocabulary (mapped to <unk>). */
  unknown: number;
  /** Share of predicted tokens that are <unk> (including literal <unk> tokens). */
  unkRate: number;
  /** For the built-in corpus: the generating source's own perplexity on this text. */
  sourcePerplexity?: number;
}

export function evaluateText(model: RnnLM, vocab: Vocab, text: string, name = 'text', opts: EvalOptions = {}): TextEvalResult {
  const { ids, unknown } = vocab.encode(text);
  if (ids.length === 0) throw new InputError(`${name} contains no tokens`);
  let unks = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i] === vocab.unkId) unks++;
  const r = evaluateIds(model, ids, opts);
  const out: TextEvalResult = { ...r, unknown, unkRate: unks / ids.length };
  if (isBuiltinName(name) && vocab.level === 'word') out.sourcePerplexity = sourceCrossEntropy(text).perplexity;
  return out;
}
