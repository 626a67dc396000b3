// Class-factored softmax (Mikolov et al. 2011, "Extensions of recurrent neural network language
// model"), exact:
//   P(w | h) = P(c(w) | h) · P(w | c(w), h)
//   P(c | h) = softmax(W_c h + b_c)[c]                        over the C classes
//   P(w | c, h) = softmax(U_c h + b2_c)[w]                     over the words of class c only
// with W_c = class_decoder.weight [C, H], b_c = class_decoder.bias [C], and U_c, b2_c the rows of
// decoder.weight [V, H] / decoder.bias [V] of the words in class c.
// The loss of a token is J = -log P(c|h) - log P(w|c,h): two fused, max-subtracted softmax +
// cross-entropies, so the output costs H·(C + |c(w)|) per token instead of H·V.
// Which word is in which class is data preparation (data/classes.ts: equal unigram mass bins).
//
// Class order. Inside the model, the rows of decoder.weight / decoder.bias (and of
// encoder.weight when tied) are kept in class order: `order[i]` is the word at row i, classes
// one after the other (ascending ids within a class), so a class's rows are one contiguous block
// that the kernels read in place. The order is fixed by the class map; checkpoints store
// vocabulary order (RnnLM.tensor / setTensor permute).
//
// A batch: rows sorted by their target's class (the plan, kernels/ref-fused.ts ClassPlan), then
// per class one fused call (Kernels.classWordsLoss: logits, softmax, cross-entropy and dlogits;
// classWordsBackward: dHn, dU, db2), classes shared out across threads.
// Legend: N = T·B rows, H hidden, V vocab, C classes, n_c rows whose target is in class c,
// s_c words in class c, O max-ent orders.

import { validateClasses } from '../data/classes.js';
import type { Arr, Kernels } from '../kernels/kernels.js';
import type { ClassPlan, SparseGrad } from '../kernels/ref-fused.js';
import { directKey } from './direct.js';
import type { Alloc } from './recurrent.js';

/** The output layer's tensors (or their gradients); U and b2 in class order. */
export interface ClassOutputWeights {
  U: Arr; // [V, H] decoder.weight (rows in class order)
  b2: Arr; // [V] decoder.bias (class order)
  Wc: Arr; // [C, H] class_decoder.weight
  bc: Arr; // [C] class_decoder.bias
}

/** Max-ent scores for a batch: the table, its sparse gradient, and the rows' context hashes [N, O]. */
export interface ClassDirect {
  table: Arr;
  grad: SparseGrad | null;
  ctx: Uint32Array;
  O: number;
}

export class ClassOutput {
  readonly V: number;
  readonly C: number;
  readonly H: number;
  /** Class of each word id [V]. */
  readonly wordClass: Int32Array;
  /** Row i of the class-ordered tensors holds word order[i] [V]; class c is rows classStart[c] … classStart[c+1]. */
  readonly order: Int32Array;
  readonly classStart: Int32Array; // [C+1]
  /** Row of each word id in the class-ordered tensors [V] (the inverse of order). */
  readonly row: Int32Array;
  /** Whether order is the identity (every class a run of consecutive ids, classes in id order). */
  readonly identity: boolean;
  readonly maxClassSize: number;
  private readonly alloc: Alloc;
  private readonly allocI32: (n: number) => Int32Array;
  private w!: ClassOutputWeights;
  private g!: ClassOutputWeights;
  // Per-batch workspace, grown as needed.
  private rows = 0;
  private planData: Int32Array = new Int32Array(0); // ClassPlan data for `rows` rows
  private tClass = new Int32Array(0); // [N] target class per row
  private lpC = new Float64Array(0); // [N] log P(class | h), row order
  private lpW = new Float64Array(0); // [N] log P(w | class, h), sorted order
  private Zc!: Arr; // [N, C] class logits, then dJ/dZc
  private Z!: Arr; // Σ_c n_c·s_c within-class logits, then their gradients
  private keysC = new Uint32Array(0); // [N, O] max-ent keys of the class scores
  private keysW = new Uint32Array(0); // [N, O] of the word scores, sorted order
  private plan: ClassPlan | null = null;
  private direct: ClassDirect | null = null;
  private N = 0;
  private hasGrad = false;

  constructor(wordClass: ArrayLike<number>, C: number, H: number, alloc: Alloc, allocI32: (n: number) => Int32Array = (n) => new Int32Array(n)) {
    const V = wordClass.length;
    validateClasses(wordClass, C, V);
    this.V = V;
    this.C = C;
    this.H = H;
    this.alloc = alloc;
    this.allocI32 = allocI32;
    this.wordClass = Int32Array.from(wordClass);
    const start = new Int32Array(C + 1);
    for (let w = 0; w < V; w++) start[this.wordClass[w] + 1]++;
    for (let c = 0; c < C; c++) start[c + 1] += start[c];
    const fill = start.slice(0, C);
    this.order = new Int32Array(V);
    this.row = new Int32Array(V);
    let identity = true;
    for (let w = 0; w < V; w++) {
      const i = fill[this.wordClass[w]]++;
      this.order[i] = w;
      this.row[w] = i;
      if (i !== w) identity = false;
    }
    this.identity = identity;
    this.classStart = start;
    let maxS = 0;
    for (let c = 0; c < C; c++) maxS = Math.max(maxS, start[c + 1] - start[c]);
    this.maxClassSize = maxS;
    this.Z = alloc(0);
    this.grow(1, 1);
  }

  bind(w: ClassOutputWeights, g: ClassOutputWeights): void {
    this.w = w;
    this.g = g;
  }

  private grow(N: number, O: number): void {
    if (this.keysC.length < N * O) {
      this.keysC = new Uint32Array(N * O);
      this.keysW = new Uint32Array(N * O);
    }
    if (N <= this.rows) return;
    const { C } = this;
    this.rows = N;
    this.planData = this.allocI32(3 * C + 3 + 2 * N);
    this.tClass = new Int32Array(N);
    this.lpC = new Float64Array(N);
    this.lpW = new Float64Array(N);
    this.Zc = this.alloc(N * C);
  }

  /** The batch plan: rows sorted by their target's class (stable), each target's place in its class. */
  private makePlan(targets: Int32Array, N: number): ClassPlan {
    const { C, V, classStart } = this;
    const data = this.planData;
    const rowStart = data.subarray(0, C + 1);
    const wordStart = data.subarray(C + 1, 2 * C + 2);
    const zStart = data.subarray(2 * C + 2, 3 * C + 3);
    const perm = data.subarray(3 * C + 3, 3 * C + 3 + N);
    const tPos = data.subarray(3 * C + 3 + N, 3 * C + 3 + 2 * N);
    rowStart.fill(0);
    for (let r = 0; r < N; r++) {
      const y = targets[r];
      if (!(y >= 0 && y < V)) throw new RangeError(`class softmax: target ${y} at row ${r} is outside [0, ${V})`);
      const c = this.wordClass[y];
      this.tClass[r] = c;
      rowStart[c + 1]++;
    }
    for (let c = 0; c < C; c++) rowStart[c + 1] += rowStart[c];
    wordStart.set(classStart);
    zStart[0] = 0;
    for (let c = 0; c < C; c++) zStart[c + 1] = zStart[c] + (rowStart[c + 1] - rowStart[c]) * (classStart[c + 1] - classStart[c]);
    const fill = rowStart.slice(0, C);
    for (let r = 0; r < N; r++) {
      const c = this.tClass[r];
      const p = fill[c]++;
      perm[p] = r;
      tPos[p] = this.row[targets[r]] - classStart[c];
    }
    return { C, N, data: data.subarray(0, 3 * C + 3 + 2 * N) };
  }

  /**
   * Σ_rows -log P(target | h) (float64) for Hn [N, H] and targets [N] (word ids). With grad,
   * keeps dJ/dZ = (p - onehot) · scale of both softmaxes for backward. logProbs[r] = log P(target_r).
   * direct: max-ent scores added to the class and word logits (their gradient goes to direct.grad).
   */
  loss(k: Kernels, Hn: Arr, targets: Int32Array, N: number, grad: boolean, scale: number, logProbs?: Float64Array, direct?: ClassDirect): number {
    const { C, H, w } = this;
    const O = direct?.O ?? 1;
    this.grow(N, O);
    const plan = this.makePlan(targets, N);
    const zSize = plan.data[2 * C + 2 + C];
    if (this.Z.length < zSize) this.Z = this.alloc(Math.max(zSize, 2 * this.Z.length));
    let keysW: Uint32Array | undefined;
    if (direct) {
      const S = direct.table.length;
      const perm = plan.data.subarray(3 * C + 3, 3 * C + 3 + N);
      keysW = this.keysW.subarray(0, N * O);
      for (let r = 0; r < N; r++) for (let a = 0; a < O; a++) this.keysC[r * O + a] = directKey(direct.ctx[r * O + a], 0, S);
      for (let p = 0; p < N; p++) {
        const r = perm[p];
        for (let a = 0; a < O; a++) keysW[p * O + a] = directKey(direct.ctx[r * O + a], this.tClass[r] + 1, S);
      }
    }
    // P(c | h): Zc [N, C] = Hn · W_cᵀ + b_c (+ max-ent), softmax + cross-entropy against the target's class
    const Zc = this.Zc.subarray(0, N * C);
    k.gemm(Zc, Hn, w.Wc, N, C, H, false, true, 0);
    k.addBias(Zc, w.bc, N, C);
    if (direct) k.directAdd(Zc, C, { table: direct.table, keys: this.keysC.subarray(0, N * O), O }, N, C);
    const lpC = this.lpC.subarray(0, N);
    k.softmaxXent(Zc, this.tClass.subarray(0, N), N, C, grad, scale, lpC);
    // P(w | c, h): per class, Z_c [n_c, s_c] = Hp_c · U_cᵀ + b2_c (+ max-ent), softmax + cross-entropy
    const lpW = this.lpW.subarray(0, N);
    k.classWordsLoss(lpW, this.Z, Hn, w.U, w.b2, plan, H, grad, scale, direct && keysW ? { table: direct.table, keys: keysW, O } : undefined);
    // Σ_r -log P(target_r), rows in order
    const perm = plan.data.subarray(3 * C + 3, 3 * C + 3 + N);
    const lpSorted = lpW;
    let nll = 0;
    for (let r = 0; r < N; r++) nll -= lpC[r];
    for (let p = 0; p < N; p++) nll -= lpSorted[p];
    if (logProbs) {
      for (let r = 0; r < N; r++) logProbs[r] = lpC[r];
      for (let p = 0; p < N; p++) logProbs[perm[p]] += lpSorted[p];
    }
    this.plan = plan;
    this.direct = direct ?? null;
    this.N = N;
    this.hasGrad = grad;
    return nll;
  }

  /**
   * After loss(grad = true): adds into dU, db2, dW_c, db_c (and the max-ent table's sparse
   * gradient) and overwrites dHn [N, H] with dJ/dHn. Hn [N, H] is the input of the loss.
   */
  backward(k: Kernels, dHn: Arr, Hn: Arr): void {
    if (!this.hasGrad || !this.plan) throw new Error('ClassOutput.backward needs loss(grad = true) first');
    const { C, H, N, w, g, plan } = this;
    const Zc = this.Zc.subarray(0, N * C);
    // Zc = Hn · W_cᵀ + b_c:  dW_c [C, H] += dZcᵀ · Hn;  db_c += Σ rows;  dHn [N, H] = dZc · W_c
    k.gemm(g.Wc, Zc, Hn, C, H, N, true, false, 1);
    k.sumRows(g.bc, Zc, N, C);
    k.gemm(dHn, Zc, w.Wc, N, H, C, false, false, 0);
    // Z_c = Hp_c · U_cᵀ + b2_c:  dHn[rows of c] += dZ_c · U_c;  dU_c += dZ_cᵀ · Hp_c;  db2_c += Σ rows
    k.classWordsBackward(dHn, g.U, g.b2, this.Z, Hn, w.U, plan, H);
    const d = this.direct;
    if (d?.grad) {
      // the max-ent scores were added to Zc and Z_c: their table entries get those gradients
      k.directGrad(d.grad, Zc, C, this.keysC.subarray(0, N * d.O), d.O, N, C);
      k.directGradClassWords(d.grad, this.Z, plan, this.keysW.subarray(0, N * d.O), d.O);
    }
    this.hasGrad = false;
  }

  /**
   * Full log-probabilities out [N, V] (vocabulary order): log P(c(w)|h) + log P(w|c(w),h), for
   * sampling and inspection. Costs H·(V + C) per row, as a full softmax does. direct: max-ent
   * scores (grad unused).
   */
  logProbs(k: Kernels, out: Arr, Hn: Arr, N: number, direct?: ClassDirect): void {
    const { C, H, V, w, classStart, order } = this;
    const O = direct?.O ?? 1;
    this.grow(N, O);
    // class-ordered logits into `scratch`, then scattered to vocabulary order
    const scratch = this.Z.length >= N * V ? this.Z : (this.Z = this.alloc(N * V));
    k.gemm(scratch, Hn, w.U, N, V, H, false, true, 0);
    k.addBias(scratch, w.b2, N, V);
    const Zc = this.Zc.subarray(0, N * C);
    k.gemm(Zc, Hn, w.Wc, N, C, H, false, true, 0);
    k.addBias(Zc, w.bc, N, C);
    const S = direct?.table.length ?? 0;
    const score = (r: number, salt: number, j: number): number => {
      let s = 0;
      for (let a = 0; a < O; a++) s += direct!.table[(directKey(direct!.ctx[r * O + a], salt, S) + j) % S];
      return s;
    };
    for (let r = 0; r < N; r++) {
      const zc = r * C;
      const o = r * V;
      if (direct) for (let c = 0; c < C; c++) Zc[zc + c] += score(r, 0, c);
      let max = -Infinity;
      for (let c = 0; c < C; c++) if (Zc[zc + c] > max) max = Zc[zc + c];
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(Zc[zc + c] - max);
      const logZc = max + Math.log(sum);
      for (let c = 0; c < C; c++) {
        const lc = Zc[zc + c] - logZc; // log P(c | h)
        const i0 = classStart[c];
        const i1 = classStart[c + 1];
        if (direct) for (let i = i0; i < i1; i++) scratch[o + i] += score(r, c + 1, i - i0);
        let m = -Infinity;
        for (let i = i0; i < i1; i++) if (scratch[o + i] > m) m = scratch[o + i];
        let s = 0;
        for (let i = i0; i < i1; i++) s += Math.exp(scratch[o + i] - m);
        const logZw = m + Math.log(s);
        for (let i = i0; i < i1; i++) out[o + order[i]] = lc + scratch[o + i] - logZw;
      }
    }
    this.hasGrad = false;
  }
}
