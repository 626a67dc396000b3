// "Inside the model": the lecture's quantities for one sentence. Each token's surprisal
// −log₂ ŷ(t)[x(t+1)] under the model, the five most likely next tokens after it, and the top
// layer's hidden state h(t) after reading each input token (units × time, for the heat map).
// One token per forward call (T = 1, B = 1), the state carried, as evaluation does.
// Legend: n tokens, V vocab, H hidden, L layers, S state width per layer.

import type { Arr } from '../../kernels/kernels.js';
import type { RnnLM } from '../../nn/model.js';
import { tokenize, type Vocab } from '../../data/vocab.js';
import type { TokenAnalysis } from '../protocol.js';

/** Tokens analysed at most (the rest of a long text is cut). */
export const MAX_ANALYSIS_TOKENS = 200;

export interface Analysis {
  tokens: TokenAnalysis[];
  /** The token read at each column of `hidden`: the boundary, then each token of the text. */
  inputs: string[];
  /** h(t) of the top layer [n+1, H], row t after reading inputs[t]. */
  hidden: Float32Array;
  H: number;
  /** exp(mean −ln p) over the tokens: the text's perplexity. */
  perplexity: number;
}

/** How a token is shown: words as they are, the line end as <eos>, a character's space and newline visibly. */
export function showToken(vocab: Vocab, id: number): string {
  const t = vocab.decode(id);
  return vocab.level === 'word' ? t : showChar(t);
}

function showChar(c: string): string {
  return c === '\n' ? '⏎' : c === ' ' ? '␣' : c;
}

/** logp [V] = log softmax(row) in float64 (a class-factored model's rows are log-probabilities already). */
function logProbs(out: Float64Array, row: Arr, V: number, already: boolean): void {
  if (already) {
    for (let i = 0; i < V; i++) out[i] = row[i];
    return;
  }
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(row[i] - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < V; i++) out[i] = row[i] - lse;
}

function top5(vocab: Vocab, logp: Float64Array): { token: string; p: number }[] {
  const best: number[] = [];
  for (let i = 0; i < logp.length; i++) {
    if (best.length < 5 || logp[i] > logp[best[best.length - 1]]) {
      best.push(i);
      best.sort((a, b) => logp[b] - logp[a]);
      if (best.length > 5) best.pop();
    }
  }
  return best.map((i) => ({ token: showToken(vocab, i), p: Math.exp(logp[i]) }));
}

/** Analyse a text (a line end is added when it has none, so its last token is the <eos>/newline). */
export function analyzeText(model: RnnLM, vocab: Vocab, text: string): Analysis {
  const { vocabSize: V, hidden: H, layers: L } = model.config;
  const S = model.stateWidth;
  const typed = tokenize(text.endsWith('\n') ? text : `${text}\n`, vocab.level).slice(0, MAX_ANALYSIS_TOKENS);
  const ids = Int32Array.from(typed, (t) => vocab.id(t));
  const n = ids.length;
  const shown = (t: string): string => (vocab.level === 'char' ? showChar(t) : t);
  const state = model.newState(1);
  const x = new Int32Array(1);
  const logp = new Float64Array(V);
  const hidden = new Float32Array((n + 1) * H);
  const inputs: string[] = [];
  const tokens: TokenAnalysis[] = [];
  let nll = 0;
  // column t reads inputs[t] = boundary, ids[0], …, ids[n-1]; its output predicts ids[t] (t < n)
  for (let t = 0; t <= n; t++) {
    x[0] = t === 0 ? vocab.boundaryId : ids[t - 1];
    inputs.push(t === 0 ? showToken(vocab, x[0]) : shown(typed[t - 1]));
    const row = model.forward(x, 1, 1, state, { logits: true }).subarray(0, V);
    hidden.set(state.subarray((L - 1) * S, (L - 1) * S + H), t * H);
    logProbs(logp, row, V, model.classOutput !== null);
    if (t > 0) tokens[t - 1].next = top5(vocab, logp);
    if (t < n) {
      nll -= logp[ids[t]];
      tokens.push({ token: shown(typed[t]), surprisal: -logp[ids[t]] / Math.LN2, next: [], unknown: !vocab.has(typed[t]) });
    }
  }
  return { tokens, inputs, hidden, H, perplexity: Math.exp(nll / Math.max(n, 1)) };
}
