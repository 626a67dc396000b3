// The plain TypeScript reference backend: the specification every fast backend is tested
// against. Works on Float32Array and Float64Array alike (gradient checks run it in float64).
// Legend: M, N, K matrix dims; R rows, C columns; n element count. Loops are ordered for
// sequential memory access, nothing more.

import type { Activation, Arr, ClassPlan, DirectArgs, HsBatch, HsTree, Kernels, RowsOp, SparseGrad, SparseStep } from './kernels.js';
import * as F from './ref-fused.js';

const sigmoid = (a: number): number => 1 / (1 + Math.exp(-a));

/** C[M,N] = beta*C + op(A)·op(B) — see Kernels.gemm. */
export function gemmRef(
  C: Arr, A: Arr, B: Arr,
  M: number, N: number, K: number,
  transA: boolean, transB: boolean, beta: 0 | 1,
): void {
  if (beta === 0) C.fill(0, 0, M * N);
  if (!transA && !transB) {
    // C[i,j] += A[i,k] B[k,j]: i-k-j order streams rows of B and C.
    for (let i = 0; i < M; i++) {
      const ci = i * N;
      for (let k = 0; k < K; k++) {
        const a = A[i * K + k];
        if (a === 0) continue;
        const bk = k * N;
        for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
      }
    }
  } else if (!transA && transB) {
    // C[i,j] += Σ_k A[i,k] B[j,k]: dot products of rows.
    for (let i = 0; i < M; i++) {
      const ai = i * K;
      const ci = i * N;
      for (let j = 0; j < N; j++) {
        const bj = j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[ai + k] * B[bj + k];
        C[ci + j] += s;
      }
    }
  } else if (transA && !transB) {
    // C[i,j] += Σ_k A[k,i] B[k,j]: k-i-j order, A is [K,M].
    for (let k = 0; k < K; k++) {
      const ak = k * M;
      const bk = k * N;
      for (let i = 0; i < M; i++) {
        const a = A[ak + i];
        if (a === 0) continue;
        const ci = i * N;
        for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
      }
    }
  } else {
    // C[i,j] += Σ_k A[k,i] B[j,k].
    for (let i = 0; i < M; i++) {
      const ci = i * N;
      for (let j = 0; j < N; j++) {
        const bj = j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[k * M + i] * B[bj + k];
        C[ci + j] += s;
      }
    }
  }
}

export function softmaxXentRef(
  logits: Arr, targets: Int32Array, R: number, C: number,
  grad: boolean, scale: number, logProbs?: Float64Array,
): number {
  let total = 0;
  for (let r = 0; r < R; r++) {
    const o = r * C;
    const t = targets[r];
    if (!(t >= 0 && t < C)) throw new RangeError(`softmaxXent: target ${t} at row ${r} is outside [0, ${C})`);
    // log p_t = z_t - max - log Σ exp(z - max)
    let max = -Infinity;
    for (let c = 0; c < C; c++) if (logits[o + c] > max) max = logits[o + c];
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(logits[o + c] - max);
    const logZ = max + Math.log(sum);
    const lp = logits[o + t] - logZ;
    total -= lp;
    if (logProbs) logProbs[r] = lp;
    if (grad) {
      // dJ/dz = (softmax(z) - onehot(t)) * scale
      for (let c = 0; c < C; c++) logits[o + c] = Math.exp(logits[o + c] - logZ) * scale;
      logits[o + t] -= scale;
    }
  }
  return total;
}

export class RefKernels implements Kernels {
  readonly name = 'ref';

  alloc(n: number): Float32Array {
    return new Float32Array(n);
  }

  dispose(): void {
    // nothing to release
  }

  gemm(C: Arr, A: Arr, B: Arr, M: number, N: number, K: number, transA: boolean, transB: boolean, beta: 0 | 1): void {
    gemmRef(C, A, B, M, N, K, transA, transB, beta);
  }

  addBias(Y: Arr, b: Arr, R: number, C: number): void {
    for (let r = 0; r < R; r++) {
      const o = r * C;
      for (let c = 0; c < C; c++) Y[o + c] += b[c];
    }
  }

  sumRows(db: Arr, dY: Arr, R: number, C: number): void {
    for (let r = 0; r < R; r++) {
      const o = r * C;
      for (let c = 0; c < C; c++) db[c] += dY[o + c];
    }
  }

  actForward(y: Arr, x: Arr, n: number, act: Activation): void {
    switch (act) {
      case 'sigmoid':
        for (let i = 0; i < n; i++) y[i] = 1 / (1 + Math.exp(-x[i]));
        break;
      case 'tanh':
        for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]);
        break;
      case 'relu':
        for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
        break;
    }
  }

  actBackward(dx: Arr, y: Arr, dy: Arr, n: number, act: Activation): void {
    switch (act) {
      case 'sigmoid': // σ'(a) = σ(a)(1 - σ(a))
        for (let i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1 - y[i]);
        break;
      case 'tanh': // tanh'(a) = 1 - tanh(a)²
        for (let i = 0; i < n; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
        break;
      case 'relu': // relu'(a) = [a > 0]
        for (let i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
        break;
    }
  }

  softmaxXent(logits: Arr, targets: Int32Array, R: number, C: number, grad: boolean, scale: number, logProbs?: Float64Array): number {
    return softmaxXentRef(logits, targets, R, C, grad, scale, logProbs);
  }

  transpose(out: Arr, x: Arr, R: number, C: number): void {
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[c * R + r] = x[r * C + c];
  }

  lstmForward(G: Arr, cPrev: Arr, c: Arr, tc: Arr, h: Arr, B: number, H: number): void {
    for (let b = 0; b < B; b++) {
      const r = b * 4 * H;
      for (let j = 0; j < H; j++) {
        const i = (G[r + j] = sigmoid(G[r + j]));
        const f = (G[r + H + j] = sigmoid(G[r + H + j]));
        const g = (G[r + 2 * H + j] = Math.tanh(G[r + 2 * H + j]));
        const o = (G[r + 3 * H + j] = sigmoid(G[r + 3 * H + j]));
        const s = b * H + j;
        const cs = f * cPrev[s] + i * g;
        c[s] = cs;
        const th = (tc[s] = Math.tanh(cs));
        h[s] = o * th;
      }
    }
  }

  lstmBackward(dG: Arr, G: Arr, cPrev: Arr, tc: Arr, dh: Arr, dc: Arr, B: number, H: number): void {
    for (let b = 0; b < B; b++) {
      const r = b * 4 * H;
      for (let j = 0; j < H; j++) {
        const i = G[r + j];
        const f = G[r + H + j];
        const g = G[r + 2 * H + j];
        const o = G[r + 3 * H + j];
        const s = b * H + j;
        const th = tc[s];
        const d = dh[s];
        const dct = dc[s] + d * o * ((1 - th) * (1 + th)); // 1 - x² without cancellation as |x| → 1
        dG[r + j] = dct * g * i * (1 - i);
        dG[r + H + j] = dct * cPrev[s] * f * (1 - f);
        dG[r + 2 * H + j] = dct * i * ((1 - g) * (1 + g));
        dG[r + 3 * H + j] = d * th * o * (1 - o);
        dc[s] = dct * f;
      }
    }
  }

  gruForward(Gi: Arr, Gh: Arr, hPrev: Arr, h: Arr, B: number, H: number): void {
    for (let b = 0; b < B; b++) {
      const q = b * 3 * H;
      for (let j = 0; j < H; j++) {
        const r = (Gi[q + j] = sigmoid(Gi[q + j] + Gh[q + j]));
        const z = (Gi[q + H + j] = sigmoid(Gi[q + H + j] + Gh[q + H + j]));
        const n = (Gi[q + 2 * H + j] = Math.tanh(Gi[q + 2 * H + j] + r * Gh[q + 2 * H + j]));
        h[b * H + j] = (1 - z) * n + z * hPrev[b * H + j];
      }
    }
  }

  gruBackward(dGi: Arr, dGh: Arr, Gi: Arr, Gh: Arr, hPrev: Arr, dh: Arr, dhPrev: Arr | null, B: number, H: number): void {
    for (let b = 0; b < B; b++) {
      const q = b * 3 * H;
      for (let j = 0; j < H; j++) {
        const r = Gi[q + j];
        const z = Gi[q + H + j];
        const n = Gi[q + 2 * H + j];
        const d = dh[b * H + j];
        const dan = d * (1 - z) * ((1 - n) * (1 + n));
        const dar = dan * Gh[q + 2 * H + j] * (r * (1 - r));
        const daz = d * (hPrev[b * H + j] - n) * (z * (1 - z));
        dGi[q + j] = dar;
        dGi[q + H + j] = daz;
        dGi[q + 2 * H + j] = dan;
        dGh[q + j] = dar;
        dGh[q + H + j] = daz;
        dGh[q + 2 * H + j] = dan * r;
        if (dhPrev) dhPrev[b * H + j] += d * z;
      }
    }
  }

  gatherRows(out: Arr, table: Arr, ids: Int32Array, R: number, C: number): void {
    for (let r = 0; r < R; r++) {
      const src = ids[r] * C;
      const dst = r * C;
      for (let c = 0; c < C; c++) out[dst + c] = table[src + c];
    }
  }

  scatterAddRows(dTable: Arr, dOut: Arr, ids: Int32Array, R: number, C: number): void {
    for (let r = 0; r < R; r++) {
      const dst = ids[r] * C;
      const src = r * C;
      for (let c = 0; c < C; c++) dTable[dst + c] += dOut[src + c];
    }
  }

  sumSquares(x: Arr, n: number): number {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    return s;
  }

  scale(x: Arr, a: number, n: number): void {
    for (let i = 0; i < n; i++) x[i] *= a;
  }

  zero(x: Arr, n: number): void {
    x.fill(0, 0, n);
  }

  sumSquaresRows(x: Arr, width: number, rows: Int32Array, count: number): number {
    let total = 0;
    for (let q = 0; q < count; q++) {
      let s = 0;
      for (let i = rows[q] * width, e = i + width; i < e; i++) s += x[i] * x[i];
      total += s;
    }
    return total;
  }

  rowsOp(op: RowsOp, w: Arr, g: Arr | null, s: Arr | null, a: number, eps: number, width: number, rows: Int32Array, count: number): void {
    for (let q = 0; q < count; q++) {
      for (let i = rows[q] * width, e = i + width; i < e; i++) {
        if (op === 'scale') w[i] *= a;
        else if (op === 'zero') w[i] = 0;
        else if (op === 'sgd') w[i] -= a * g![i];
        else {
          s![i] += g![i] * g![i];
          w[i] -= (a * g![i]) / (Math.sqrt(s![i]) + eps);
        }
      }
    }
  }

  sgdUpdate(w: Arr, g: Arr, lr: number, n: number): void {
    for (let i = 0; i < n; i++) w[i] -= lr * g[i];
  }

  adagradUpdate(w: Arr, s: Arr, g: Arr, lr: number, eps: number, n: number): void {
    for (let i = 0; i < n; i++) {
      s[i] += g[i] * g[i];
      w[i] -= (lr * g[i]) / (Math.sqrt(s[i]) + eps);
    }
  }

  adamUpdate(w: Arr, m: Arr, v: Arr, g: Arr, lr: number, beta1: number, beta2: number, eps: number, t: number, n: number): void {
    const c1 = 1 - Math.pow(beta1, t);
    const c2 = 1 - Math.pow(beta2, t);
    for (let i = 0; i < n; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      w[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
    }
  }

  dropoutMask(mask: Arr, n: number, p: number, k0: number, k1: number): void {
    F.dropoutMaskRef(mask, n, p, k0, k1);
  }

  mul(y: Arr, x: Arr, m: Arr, n: number): void {
    for (let i = 0; i < n; i++) y[i] = x[i] * m[i];
  }

  elmanSeqForward(Hs: Arr, WhT: Arr, T: number, B: number, H: number, act: Activation): void {
    F.elmanSeqForwardRef(Hs, WhT, T, B, H, act);
  }

  elmanSeqBackward(dA: Arr, Hs: Arr, Wh: Arr, T: number, B: number, H: number, act: Activation): void {
    F.elmanSeqBackwardRef(dA, Hs, Wh, T, B, H, act);
  }

  classWordsLoss(lp: Float64Array, Z: Arr, Hn: Arr, U: Arr, b2: Arr, plan: ClassPlan, H: number, grad: boolean, scale: number, direct?: DirectArgs): void {
    F.classWordsLossRef(lp, Z, Hn, U, b2, plan, H, grad, scale, direct);
  }

  classWordsBackward(dHn: Arr, dU: Arr, db2: Arr, Z: Arr, Hn: Arr, U: Arr, plan: ClassPlan, H: number): void {
    F.classWordsBackwardRef(dHn, dU, db2, Z, Hn, U, plan, H);
  }

  hsLoss(lp: Float64Array, G: Arr, Hn: Arr, Wn: Arr, bn: Arr, tree: HsTree, batch: HsBatch, N: number, H: number, grad: boolean, scale: number, direct?: DirectArgs): void {
    F.hsLossRef(lp, G, Hn, Wn, bn, tree, batch, N, H, grad, scale, direct);
  }

  hsBackward(dHn: Arr, dWn: Arr, dbn: Arr, G: Arr, Hn: Arr, Wn: Arr, tree: HsTree, batch: HsBatch, N: number, H: number): void {
    F.hsBackwardRef(dHn, dWn, dbn, G, Hn, Wn, tree, batch, N, H);
  }

  directAdd(Z: Arr, ld: number, d: DirectArgs, R: number, n: number): void {
    F.directAddRef(Z, ld, d, R, n);
  }

  directGrad(sg: SparseGrad, dZ: Arr, ld: number, keys: Uint32Array, O: number, R: number, n: number): void {
    F.directGradRef(sg, dZ, ld, keys, O, R, n);
  }

  directGradClassWords(sg: SparseGrad, Z: Arr, plan: ClassPlan, keys: Uint32Array, O: number): void {
    F.directGradClassWordsRef(sg, Z, plan, keys, O);
  }

  directGradHs(sg: SparseGrad, G: Arr, tree: HsTree, batch: HsBatch, keys: Uint32Array, O: number, N: number): void {
    F.directGradHsRef(sg, G, tree, batch, keys, O, N);
  }

  sparseSumSquares(sg: SparseGrad): number {
    return F.sparseSumSquaresRef(sg);
  }

  sparseUpdate(sg: SparseGrad, w: Arr, m: Arr | null, v: Arr | null, st: SparseStep): void {
    F.sparseUpdateRef(sg, w, m, v, st);
  }
}
