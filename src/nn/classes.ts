// Class-factored softmax (Mikolov et al. 2011, "Extensions of recurrent neural network language
// model"), exact:
//   P(w | h) = P(c(w) | h) · P(w | c(w), h)
//   P(c | h) = softmax(W_c h + b_c)[c]                        over the C classes
//   P(w | c, h) = softmax(U_c h + b2_c)[w]                     over the words of class c only
// with W_c = class_decoder.weight [C, H], b_c = class_decoder.bias [C], and U_c, b2_c the rows of
// decoder.weight [V, H] / decoder.bias [V] (kept in vocabulary order) of the words in class c.
// The loss of a token is J = -log P(c|h) - log P(w|c,h): two fused, max-subtracted softmax +
// cross-entropies, so the output costs H·(C + |c(w)|) per token instead of H·V.
// Which word is in which class is data preparation (data/classes.ts: equal unigram mass bins).
// Legend: N = T·B rows, H hidden, V vocab, C classes, n_c rows whose target is in class c,
// s_c words in class c.

import { validateClasses } from '../data/classes.js';
import type { Arr, Kernels } from '../kernels/kernels.js';
import type { Alloc } from './recurrent.js';

/** The output layer's tensors (or their gradients). */
export interface ClassOutputWeights {
  U: Arr; // [V, H] decoder.weight
  b2: Arr; // [V] decoder.bias
  Wc: Arr; // [C, H] class_decoder.weight
  bc: Arr; // [C] class_decoder.bias
}

export class ClassOutput {
  readonly V: number;
  readonly C: number;
  readonly H: number;
  /** Class of each word id [V]. */
  readonly wordClass: Int32Array;
  /** Word ids grouped by class (ascending id within a class) [V]; class c is classWords[start[c]..start[c+1]). */
  readonly classWords: Int32Array;
  readonly classStart: Int32Array; // [C+1]
  /** Position of each word within its class [V]. */
  readonly wordPos: Int32Array;
  readonly maxClassSize: number;
  private readonly alloc: Alloc;
  private w!: ClassOutputWeights;
  private g!: ClassOutputWeights;
  // Per-loss workspace, grown as needed.
  private rows = 0;
  private perm = new Int32Array(0); // [N] rows sorted by target class (stable)
  private rowStart = new Int32Array(0); // [C+1]
  private tClass = new Int32Array(0); // [N] target class per row
  private tPos = new Int32Array(0); // [N] target position in its class, in perm order
  private lpC = new Float64Array(0); // [N]
  private lpW = new Float64Array(0); // [N] in perm order
  private Zc!: Arr; // [N, C] class logits, then dJ/dZc
  private Hp!: Arr; // [N, H] Hn rows in perm order
  private dHp!: Arr; // [N, H]
  private Z!: Arr; // ragged Σ_c n_c·s_c within-class logits, then their gradients
  private Uc: Arr; // [maxS, H] gathered decoder rows of one class
  private bcw: Arr; // [maxS] gathered decoder biases of one class
  private N = 0; // rows of the last loss
  private hasGrad = false;

  constructor(wordClass: ArrayLike<number>, C: number, H: number, alloc: Alloc) {
    const V = wordClass.length;
    validateClasses(wordClass, C, V);
    this.V = V;
    this.C = C;
    this.H = H;
    this.alloc = alloc;
    this.wordClass = Int32Array.from(wordClass);
    const start = new Int32Array(C + 1);
    for (let w = 0; w < V; w++) start[this.wordClass[w] + 1]++;
    for (let c = 0; c < C; c++) start[c + 1] += start[c];
    const fill = start.slice(0, C);
    this.classWords = new Int32Array(V);
    this.wordPos = new Int32Array(V);
    for (let w = 0; w < V; w++) {
      const c = this.wordClass[w];
      this.wordPos[w] = fill[c] - start[c];
      this.classWords[fill[c]++] = w;
    }
    this.classStart = start;
    let maxS = 0;
    for (let c = 0; c < C; c++) maxS = Math.max(maxS, start[c + 1] - start[c]);
    this.maxClassSize = maxS;
    this.Uc = alloc(maxS * H);
    this.bcw = alloc(maxS);
    this.Z = alloc(0);
    this.grow(1);
  }

  bind(w: ClassOutputWeights, g: ClassOutputWeights): void {
    this.w = w;
    this.g = g;
  }

  private grow(N: number): void {
    if (N <= this.rows) return;
    const { C, H } = this;
    this.rows = N;
    this.perm = new Int32Array(N);
    this.rowStart = new Int32Array(C + 1);
    this.tClass = new Int32Array(N);
    this.tPos = new Int32Array(N);
    this.lpC = new Float64Array(N);
    this.lpW = new Float64Array(N);
    this.Zc = this.alloc(N * C);
    this.Hp = this.alloc(N * H);
    this.dHp = this.alloc(N * H);
  }

  /**
   * Σ_rows -log P(target | h) (float64) for Hn [N, H] and targets [N]. With grad, keeps
   * dJ/dZ = (p - onehot) · scale of both softmaxes for backward. logProbs[r] = log P(target_r).
   */
  loss(k: Kernels, Hn: Arr, targets: Int32Array, N: number, grad: boolean, scale: number, logProbs?: Float64Array): number {
    const { C, H, V, w } = this;
    this.grow(N);
    const { perm, rowStart, tClass, tPos } = this;
    // Rows sorted by the class of their target (a stable counting sort).
    rowStart.fill(0);
    for (let r = 0; r < N; r++) {
      const y = targets[r];
      if (!(y >= 0 && y < V)) throw new RangeError(`class softmax: target ${y} at row ${r} is outside [0, ${V})`);
      tClass[r] = this.wordClass[y];
      rowStart[tClass[r] + 1]++;
    }
    for (let c = 0; c < C; c++) rowStart[c + 1] += rowStart[c];
    const fill = rowStart.slice(0, C);
    for (let r = 0; r < N; r++) {
      const p = fill[tClass[r]]++;
      perm[p] = r;
      tPos[p] = this.wordPos[targets[r]];
    }
    // P(c | h): Zc [N, C] = Hn · W_cᵀ + b_c, softmax + cross-entropy against the target's class
    const Zc = this.Zc.subarray(0, N * C);
    k.gemm(Zc, Hn, w.Wc, N, C, H, false, true, 0);
    k.addBias(Zc, w.bc, N, C);
    let nll = k.softmaxXent(Zc, tClass, N, C, grad, scale, logProbs ? this.lpC : undefined);
    // P(w | c, h), one class at a time: Z_c [n_c, s_c] = Hp_c [n_c, H] · U_cᵀ + b2_c
    let zSize = 0;
    for (let c = 0; c < C; c++) zSize += (rowStart[c + 1] - rowStart[c]) * (this.classStart[c + 1] - this.classStart[c]);
    if (this.Z.length < zSize) this.Z = this.alloc(Math.max(zSize, 2 * this.Z.length));
    const Hp = this.Hp.subarray(0, N * H);
    k.gatherRows(Hp, Hn, perm, N, H);
    let z = 0;
    for (let c = 0; c < C; c++) {
      const r0 = rowStart[c];
      const n = rowStart[c + 1] - r0;
      if (n === 0) continue;
      const ids = this.classWords.subarray(this.classStart[c], this.classStart[c + 1]);
      const s = ids.length;
      k.gatherRows(this.Uc, w.U, ids, s, H);
      k.gatherRows(this.bcw, w.b2, ids, s, 1);
      const Z = this.Z.subarray(z, z + n * s);
      k.gemm(Z, Hp.subarray(r0 * H, (r0 + n) * H), this.Uc, n, s, H, false, true, 0);
      k.addBias(Z, this.bcw, n, s);
      nll += k.softmaxXent(Z, tPos.subarray(r0, r0 + n), n, s, grad, scale, logProbs ? this.lpW.subarray(r0, r0 + n) : undefined);
      z += n * s;
    }
    if (logProbs) for (let p = 0; p < N; p++) logProbs[perm[p]] = this.lpC[perm[p]] + this.lpW[p];
    this.N = N;
    this.hasGrad = grad;
    return nll;
  }

  /**
   * After loss(grad = true): adds into dU, db2, dW_c, db_c and overwrites dHn [N, H] with
   * dJ/dHn. Hn [N, H] is the input of the loss.
   */
  backward(k: Kernels, dHn: Arr, Hn: Arr): void {
    if (!this.hasGrad) throw new Error('ClassOutput.backward needs loss(grad = true) first');
    const { C, H, N, w, g, perm, rowStart } = this;
    const Zc = this.Zc.subarray(0, N * C);
    // Zc = Hn · W_cᵀ + b_c:  dW_c [C, H] += dZcᵀ · Hn;  db_c += Σ rows;  dHn [N, H] = dZc · W_c
    k.gemm(g.Wc, Zc, Hn, C, H, N, true, false, 1);
    k.sumRows(g.bc, Zc, N, C);
    k.gemm(dHn, Zc, w.Wc, N, H, C, false, false, 0);
    const Hp = this.Hp.subarray(0, N * H);
    const dHp = this.dHp.subarray(0, N * H);
    let z = 0;
    for (let c = 0; c < C; c++) {
      const r0 = rowStart[c];
      const n = rowStart[c + 1] - r0;
      if (n === 0) continue;
      const ids = this.classWords.subarray(this.classStart[c], this.classStart[c + 1]);
      const s = ids.length;
      const Z = this.Z.subarray(z, z + n * s);
      z += n * s;
      // Z_c = Hp_c · U_cᵀ + b2_c:  dU_c [s, H] = dZ_cᵀ · Hp_c, scattered into the rows of dU
      const dUc = this.Uc; // scratch (U_c is gathered again below)
      k.gemm(dUc, Z, Hp.subarray(r0 * H, (r0 + n) * H), s, H, n, true, false, 0);
      k.scatterAddRows(g.U, dUc, ids, s, H);
      // db2_c = Σ rows of dZ_c, scattered into db2
      const dbc = this.bcw;
      dbc.fill(0, 0, s);
      k.sumRows(dbc, Z, n, s);
      k.scatterAddRows(g.b2, dbc, ids, s, 1);
      // dHp_c [n, H] = dZ_c · U_c
      k.gatherRows(this.Uc, w.U, ids, s, H);
      k.gemm(dHp.subarray(r0 * H, (r0 + n) * H), Z, this.Uc, n, H, s, false, false, 0);
    }
    // Hp = Hn[perm]:  dHn[perm[p]] += dHp[p]
    k.scatterAddRows(dHn, dHp, perm, N, H);
    this.hasGrad = false;
  }

  /**
   * Full log-probabilities out [N, V] (word order): log P(c(w)|h) + log P(w|c(w),h), for
   * sampling and inspection. Costs H·(V + C) per row, as a full softmax does.
   */
  logProbs(k: Kernels, out: Arr, Hn: Arr, N: number): void {
    const { C, H, V, w } = this;
    this.grow(N);
    k.gemm(out, Hn, w.U, N, V, H, false, true, 0);
    k.addBias(out, w.b2, N, V);
    const Zc = this.Zc.subarray(0, N * C);
    k.gemm(Zc, Hn, w.Wc, N, C, H, false, true, 0);
    k.addBias(Zc, w.bc, N, C);
    const { classWords, classStart } = this;
    for (let r = 0; r < N; r++) {
      const zc = r * C;
      const o = r * V;
      let max = -Infinity;
      for (let c = 0; c < C; c++) if (Zc[zc + c] > max) max = Zc[zc + c];
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(Zc[zc + c] - max);
      const logZc = max + Math.log(sum);
      for (let c = 0; c < C; c++) {
        const lc = Zc[zc + c] - logZc; // log P(c | h)
        let m = -Infinity;
        for (let i = classStart[c]; i < classStart[c + 1]; i++) if (out[o + classWords[i]] > m) m = out[o + classWords[i]];
        let s = 0;
        for (let i = classStart[c]; i < classStart[c + 1]; i++) s += Math.exp(out[o + classWords[i]] - m);
        const logZw = m + Math.log(s);
        for (let i = classStart[c]; i < classStart[c + 1]; i++) out[o + classWords[i]] = lc + out[o + classWords[i]] - logZw;
      }
    }
    this.hasGrad = false;
  }
}
