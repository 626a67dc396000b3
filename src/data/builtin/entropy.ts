// The exact entropy of a DPFA's sentence distribution: expected visits per state from a small
// linear system, solved by Gaussian elimination.

import type { Automaton } from './automaton.js';

/**
 * Exact expectations over the sentences of `a`: nllPerSentence = E[-ln P(sentence)] (the
 * source's entropy per sentence, nats), tokensPerSentence = E[words + 1]; perplexity =
 * exp(nll / tokens), the per-token perplexity a long sample converges to.
 *
 * Works for cyclic automata: the expected number of visits v[s] to each state in one sentence
 * solves v = e_start + Pᵀ v (P[s][t] = probability of a word edge s -> t). Every visit emits one
 * token (a word or <eos>), so tokens = Σ v[s] and nll = Σ v[s]·H(s), H(s) the entropy of state
 * s's choice. Solved by Gaussian elimination (n = states, O(n³), small here). Throws if some
 * state can loop forever (the system is then singular).
 */
export function automatonEntropy(a: Automaton): { nllPerSentence: number; tokensPerSentence: number; perplexity: number } {
  const n = a.states.length;
  // M (n, n) row-major: M = I - Pᵀ, so M[t][s] -= P[s][t]; rhs = e_start.
  const M = new Float64Array(n * n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) M[i * n + i] = 1;
  a.states.forEach((st, s) => {
    for (const e of st.edges) M[e.next * n + s]! -= e.prob;
  });
  v[a.start] = 1;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r * n + c]!) > Math.abs(M[piv * n + c]!)) piv = r;
    if (!(Math.abs(M[piv * n + c]!) > 1e-12)) throw new Error(`automatonEntropy: singular system at state ${c} "${a.states[c]!.label}"; some states never reach END`);
    if (piv !== c) {
      for (let k = 0; k < n; k++) [M[c * n + k], M[piv * n + k]] = [M[piv * n + k]!, M[c * n + k]!];
      [v[c], v[piv]] = [v[piv]!, v[c]!];
    }
    const d = M[c * n + c]!;
    for (let r = c + 1; r < n; r++) {
      const f = M[r * n + c]! / d;
      if (f === 0) continue;
      for (let k = c; k < n; k++) M[r * n + k]! -= f * M[c * n + k]!;
      v[r]! -= f * v[c]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let x = v[r]!;
    for (let k = r + 1; k < n; k++) x -= M[r * n + k]! * v[k]!;
    v[r] = x / M[r * n + r]!;
  }
  let nll = 0;
  let tokens = 0;
  a.states.forEach((st, s) => {
    let h = st.endProb > 0 ? -st.endProb * Math.log(st.endProb) : 0;
    for (const e of st.edges) h -= e.prob * Math.log(e.prob);
    nll += v[s]! * h;
    tokens += v[s]!;
  });
  return { nllPerSentence: nll, tokensPerSentence: tokens, perplexity: Math.exp(nll / tokens) };
}
