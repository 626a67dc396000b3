// Text generation: feed the boundary token and the prime, then repeatedly sample the next
// token from yhat(t) (with temperature and top-k) and feed it back.
// Legend: V vocab.

import { ConfigError } from '../errors.js';
import { GENERATE_DEFAULTS } from '../defaults.js';
import { lineWords, type Vocab } from '../data/vocab.js';
import type { RnnLM } from '../nn/model.js';
import { Rng } from '../rng.js';
import { sample, samplingDistribution } from './sample.js';

export interface GenerateOptions {
  /** Text to start from (its tokens are fed, not generated). */
  prime?: string;
  /** Tokens to generate. */
  length?: number;
  /** Softmax temperature > 0: < 1 sharper, > 1 flatter. */
  temperature?: number;
  /** Sample only among the k most likely tokens (0 = all). */
  topK?: number;
  seed?: number;
}

/** The prime's tokens (no <eos> is appended to it). */
export function primeTokens(vocab: Vocab, prime: string): number[] {
  const toks = vocab.level === 'word' ? lineWords(prime) : Array.from(prime);
  return toks.map((t) => vocab.id(t));
}

/** How a generated token is written out: words separated by spaces, <eos> as a newline. */
export function tokenText(vocab: Vocab, id: number): string {
  if (vocab.level === 'char') return id === vocab.unkId ? '\uFFFD' : vocab.decode(id);
  return id === vocab.boundaryId ? '\n' : `${vocab.decode(id)} `;
}

/** Yields generated token ids one at a time; same seed, same tokens. */
export function* generateIds(model: RnnLM, vocab: Vocab, opts: GenerateOptions = {}): Generator<number> {
  const length = opts.length ?? GENERATE_DEFAULTS.length;
  const temperature = opts.temperature ?? GENERATE_DEFAULTS.temperature;
  const topK = opts.topK ?? GENERATE_DEFAULTS.topK;
  if (!Number.isInteger(length) || length < 0) throw new ConfigError(`length must be an integer ≥ 0, got ${length}`);
  if (!(temperature > 0 && Number.isFinite(temperature))) throw new ConfigError(`temperature must be a positive number, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new ConfigError(`top-k must be an integer ≥ 0 (0 = all), got ${topK}`);
  const V = model.config.vocabSize;
  const rng = new Rng(opts.seed ?? GENERATE_DEFAULTS.seed);
  const state = model.newState(1);
  const feed = Int32Array.from([vocab.boundaryId, ...primeTokens(vocab, opts.prime ?? '')]);
  let logits = model.forward(feed, feed.length, 1, state);
  let row = logits.subarray((feed.length - 1) * V, feed.length * V);
  const probs = new Float64Array(V);
  const x = new Int32Array(1);
  for (let n = 0; n < length; n++) {
    samplingDistribution(probs, row, V, temperature, topK);
    const id = sample(probs, rng.next());
    yield id;
    x[0] = id;
    logits = model.forward(x, 1, 1, state);
    row = logits.subarray(0, V);
  }
}
