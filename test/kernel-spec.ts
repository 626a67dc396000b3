// The kernels written a second time, independently of src/kernels/ref.ts, from the contracts in
// src/kernels/kernels.ts: plain float64 formulas, one output element at a time, no loop
// ordering, no shortcuts. The conformance suite checks every backend, the reference included,
// against these (a reference compared with itself would pass any bug in it).
// Legend: M, N, K matrix dims; R rows, C columns; B batch, H hidden; n element count.

type Vec = ArrayLike<number>;
const f64 = (n: number): Float64Array => new Float64Array(n);
const sigma = (a: number): number => 1 / (1 + Math.exp(-a));

/** C[i,j] = beta·C0[i,j] + Σ_k op(A)[i,k]·op(B)[k,j], with op(A) [M,K] and op(B)ᵀ [N,K] written out first. */
export function gemm(C0: Vec, A: Vec, B: Vec, M: number, N: number, K: number, transA: boolean, transB: boolean, beta: 0 | 1): Float64Array {
  const a = f64(M * K); // op(A), row i = the i-th row of the product's left factor
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) a[i * K + k] = transA ? A[k * M + i] : A[i * K + k];
  const bt = f64(N * K); // op(B)ᵀ, row j = the j-th column of the right factor
  for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) bt[j * K + k] = transB ? B[j * K + k] : B[k * N + j];
  const C = f64(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * bt[j * K + k];
      C[i * N + j] = (beta === 1 ? C0[i * N + j] : 0) + s;
    }
  }
  return C;
}

/**
 * Softmax + cross-entropy of each row: log p = z - log Σ exp(z), computed as z - m - log Σ exp(z - m)
 * with m the row max (the same value in exact arithmetic; without m, exp overflows past ~709).
 */
export function softmaxXent(z: Vec, targets: Int32Array, R: number, C: number, scale: number): { loss: number; logProbs: Float64Array; dlogits: Float64Array } {
  const logProbs = f64(R);
  const dlogits = f64(R * C);
  let loss = 0;
  for (let r = 0; r < R; r++) {
    const row = Array.from({ length: C }, (_, c) => z[r * C + c]);
    const m = Math.max(...row);
    const logZ = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    logProbs[r] = row[targets[r]] - logZ;
    loss -= logProbs[r];
    for (let c = 0; c < C; c++) dlogits[r * C + c] = (Math.exp(row[c] - logZ) - (c === targets[r] ? 1 : 0)) * scale;
  }
  return { loss, logProbs, dlogits };
}

export function act(x: Vec, a: 'sigmoid' | 'tanh' | 'relu'): Float64Array {
  return Float64Array.from(x, (v) => (a === 'sigmoid' ? sigma(v) : a === 'tanh' ? Math.tanh(v) : Math.max(v, 0)));
}

/** dx = dy · act'(a), from y = act(a): σ' = y(1 - y), tanh' = 1 - y², relu' = [y > 0]. */
export function actBackward(y: Vec, dy: Vec, a: 'sigmoid' | 'tanh' | 'relu'): Float64Array {
  return Float64Array.from(y, (v, i) => dy[i] * (a === 'sigmoid' ? v * (1 - v) : a === 'tanh' ? 1 - v * v : v > 0 ? 1 : 0));
}

export function addBias(Y: Vec, b: Vec, R: number, C: number): Float64Array {
  return Float64Array.from(Y, (v, i) => v + b[i % C]);
}

export function sumRows(db: Vec, dY: Vec, R: number, C: number): Float64Array {
  return Float64Array.from(db, (v, c) => {
    let s = v;
    for (let r = 0; r < R; r++) s += dY[r * C + c];
    return s;
  });
}

export function transpose(x: Vec, R: number, C: number): Float64Array {
  const out = f64(R * C);
  for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) out[c * R + r] = x[r * C + c];
  return out;
}

export function gatherRows(table: Vec, ids: Int32Array, R: number, C: number): Float64Array {
  return Float64Array.from({ length: R * C }, (_, i) => table[ids[Math.floor(i / C)] * C + (i % C)]);
}

export function scatterAddRows(dTable: Vec, dOut: Vec, ids: Int32Array, R: number, C: number): Float64Array {
  const out = Float64Array.from(dTable);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[ids[r] * C + c] += dOut[r * C + c];
  return out;
}

export function sumSquares(x: Vec): number {
  return Array.from(x).reduce((s, v) => s + v * v, 0);
}

export function scale(x: Vec, a: number): Float64Array {
  return Float64Array.from(x, (v) => v * a);
}

export function sgd(w: Vec, g: Vec, lr: number): Float64Array {
  return Float64Array.from(w, (v, i) => v - lr * g[i]);
}

/** Adagrad: s' = s + g², w' = w - lr·g / (√s' + eps). */
export function adagrad(w: Vec, s: Vec, g: Vec, lr: number, eps: number): { w: Float64Array; s: Float64Array } {
  const s2 = Float64Array.from(s, (v, i) => v + g[i] ** 2);
  return { w: Float64Array.from(w, (v, i) => v - (lr * g[i]) / (Math.sqrt(s2[i]) + eps)), s: s2 };
}

/** Adam at step t: m' = β1 m + (1-β1) g, v' = β2 v + (1-β2) g², w' = w - lr·(m'/(1-β1^t)) / (√(v'/(1-β2^t)) + eps). */
export function adam(w: Vec, m: Vec, v: Vec, g: Vec, lr: number, b1: number, b2: number, eps: number, t: number): { w: Float64Array; m: Float64Array; v: Float64Array } {
  const m2 = Float64Array.from(m, (x, i) => b1 * x + (1 - b1) * g[i]);
  const v2 = Float64Array.from(v, (x, i) => b2 * x + (1 - b2) * g[i] ** 2);
  const mHat = (i: number): number => m2[i] / (1 - b1 ** t);
  const vHat = (i: number): number => v2[i] / (1 - b2 ** t);
  return { w: Float64Array.from(w, (x, i) => x - (lr * mHat(i)) / (Math.sqrt(vHat(i)) + eps)), m: m2, v: v2 };
}

/** One LSTM step from pre-activations a [B, 4H] (i, f, g, o) and cPrev [B, H]. */
export function lstmForward(a: Vec, cPrev: Vec, B: number, H: number): { G: Float64Array; c: Float64Array; tc: Float64Array; h: Float64Array } {
  const G = f64(B * 4 * H);
  const c = f64(B * H);
  const tc = f64(B * H);
  const h = f64(B * H);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < H; j++) {
      const at = (gate: number): number => a[b * 4 * H + gate * H + j];
      const [i, f, g, o] = [sigma(at(0)), sigma(at(1)), Math.tanh(at(2)), sigma(at(3))];
      [G[b * 4 * H + j], G[b * 4 * H + H + j], G[b * 4 * H + 2 * H + j], G[b * 4 * H + 3 * H + j]] = [i, f, g, o];
      const s = b * H + j;
      c[s] = f * cPrev[s] + i * g;
      tc[s] = Math.tanh(c[s]);
      h[s] = o * tc[s];
    }
  }
  return { G, c, tc, h };
}

/** The LSTM step backward (Kernels.lstmBackward's formulas), from its activations. */
export function lstmBackward(G: Vec, cPrev: Vec, tc: Vec, dh: Vec, dc: Vec, B: number, H: number): { dG: Float64Array; dc: Float64Array } {
  const dG = f64(B * 4 * H);
  const dcOut = f64(B * H);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < H; j++) {
      const gate = (k: number): number => G[b * 4 * H + k * H + j];
      const [i, f, g, o] = [gate(0), gate(1), gate(2), gate(3)];
      const s = b * H + j;
      const dct = dc[s] + dh[s] * o * (1 - tc[s] ** 2);
      dG[b * 4 * H + j] = dct * g * i * (1 - i);
      dG[b * 4 * H + H + j] = dct * cPrev[s] * f * (1 - f);
      dG[b * 4 * H + 2 * H + j] = dct * i * (1 - g ** 2);
      dG[b * 4 * H + 3 * H + j] = dh[s] * tc[s] * o * (1 - o);
      dcOut[s] = dct * f;
    }
  }
  return { dG, dc: dcOut };
}

/** One GRU step from gi = W_ih x + b_ih and gh = W_hh h + b_hh [B, 3H] (r, z, n) and hPrev [B, H]. */
export function gruForward(gi: Vec, gh: Vec, hPrev: Vec, B: number, H: number): { G: Float64Array; h: Float64Array } {
  const G = f64(B * 3 * H);
  const h = f64(B * H);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < H; j++) {
      const q = (k: number): number => b * 3 * H + k * H + j;
      const r = sigma(gi[q(0)] + gh[q(0)]);
      const z = sigma(gi[q(1)] + gh[q(1)]);
      const n = Math.tanh(gi[q(2)] + r * gh[q(2)]);
      [G[q(0)], G[q(1)], G[q(2)]] = [r, z, n];
      h[b * H + j] = (1 - z) * n + z * hPrev[b * H + j];
    }
  }
  return { G, h };
}

/** The GRU step backward (Kernels.gruBackward's formulas); dhPrev' = dhPrev + dh ⊙ z. */
export function gruBackward(G: Vec, gh: Vec, hPrev: Vec, dh: Vec, dhPrev: Vec, B: number, H: number): { dGi: Float64Array; dGh: Float64Array; dhPrev: Float64Array } {
  const dGi = f64(B * 3 * H);
  const dGh = f64(B * 3 * H);
  const dp = Float64Array.from(dhPrev);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < H; j++) {
      const q = (k: number): number => b * 3 * H + k * H + j;
      const [r, z, n] = [G[q(0)], G[q(1)], G[q(2)]];
      const s = b * H + j;
      const dan = dh[s] * (1 - z) * (1 - n ** 2);
      const dar = dan * gh[q(2)] * r * (1 - r);
      const daz = dh[s] * (hPrev[s] - n) * z * (1 - z);
      [dGi[q(0)], dGi[q(1)], dGi[q(2)]] = [dar, daz, dan];
      [dGh[q(0)], dGh[q(1)], dGh[q(2)]] = [dar, daz, dan * r];
      dp[s] += dh[s] * z;
    }
  }
  return { dGi, dGh, dhPrev: dp };
}

/**
 * The rounding-error scale of a computed value: the same computation on the absolute values of
 * its inputs, so that every term of every sum and product counts positively (Σ |terms|); a float32
 * result is then held to c·ε·magnitude. An input element that enters through a difference (GRU's
 * hPrev - n) is given as minus its absolute value where `negate(input, index)` says so, so that
 * the difference becomes the sum of the two magnitudes.
 */
export function magnitude<T>(compute: (...inputs: Float64Array[]) => T, inputs: Vec[], negate?: (input: number, index: number) => boolean): T {
  return compute(...inputs.map((x, k) => Float64Array.from(x, (v, i) => (negate?.(k, i) ? -Math.abs(v) : Math.abs(v)))));
}
