// The kernel interface: every numeric inner loop of rnnlm is declared here once.
// `ref.ts` is the plain TypeScript reference (the specification, Float32 or Float64);
// fast backends (WebAssembly SIMD, threads) implement the same interface and are tested
// against the reference by test/kernels.conformance.test.ts.
//
// Legend: M, N, K matrix dims; R rows, C columns; V vocab; n element count.
// Every matrix is a dense row-major block that starts at index 0 of the array passed in
// (pass `arr.subarray(off, off + len)` for an offset). Arguments are ordered out, in, weights, dims.

import type { ClassPlan, DirectArgs, HsBatch, HsTree, SparseGrad, SparseStep } from './ref-fused.js';

export type { ClassPlan, DirectArgs, HsBatch, HsTree, SparseGrad, SparseStep } from './ref-fused.js';

/** A numeric buffer: Float32Array for training and inference, Float64Array for gradient checks. */
export type Arr = Float32Array | Float64Array;

/** The element-wise steps rowsOp applies to selected rows. */
export type RowsOp = 'scale' | 'zero' | 'sgd' | 'adagrad';

/** Element-wise activation of a recurrent cell. */
export type Activation = 'sigmoid' | 'tanh' | 'relu';

export interface Kernels {
  /** Human-readable backend name, e.g. "ref" or "wasm-simd (relaxed, 2 threads)". */
  readonly name: string;

  /**
   * Allocate a zeroed buffer that this backend can use without copying. A wasm backend returns
   * a view into its own memory; the reference returns a plain typed array.
   */
  alloc(n: number): Float32Array;

  /**
   * Release what the backend holds beyond memory (the wasm backend's worker threads); later
   * calls still work, on one thread. Idempotent. The reference has nothing to release.
   */
  dispose(): void;

  /**
   * C[M,N] = beta * C + op(A) · op(B), where beta is 0 (overwrite) or 1 (accumulate).
   * op(A) is A[M,K] (transA=false) or A[K,M]ᵀ (transA=true); op(B) is B[K,N] or B[N,K]ᵀ.
   * The model uses three layouts: A·B, Aᵀ·B and A·Bᵀ.
   */
  gemm(
    C: Arr, A: Arr, B: Arr,
    M: number, N: number, K: number,
    transA: boolean, transB: boolean, beta: 0 | 1,
  ): void;

  /** out[C,R] = x[R,C]ᵀ; out and x do not overlap. */
  transpose(out: Arr, x: Arr, R: number, C: number): void;

  /**
   * One LSTM step's gates over B rows (torch.nn.LSTM gate order i, f, g, o; H hidden):
   * G [B,4H] holds the pre-activations a and is overwritten with i = σ(a_i), f = σ(a_f),
   * g = tanh(a_g), o = σ(a_o); then c = f⊙cPrev + i⊙g, tc = tanh(c), h = o⊙tc, each [B,H].
   */
  lstmForward(G: Arr, cPrev: Arr, c: Arr, tc: Arr, h: Arr, B: number, H: number): void;

  /**
   * The same step backward, from the activations G [B,4H], cPrev and tc [B,H] and dh = dJ/dh(t)
   * [B,H]; dc [B,H] holds dJ/dc(t) from step t+1 and is overwritten with dJ/dc(t-1):
   * dc' = dc + dh⊙o⊙(1-tc²); da_i = dc'⊙g⊙i(1-i); da_f = dc'⊙cPrev⊙f(1-f);
   * da_g = dc'⊙i⊙(1-g²); da_o = dh⊙tc⊙o(1-o); dc ← dc'⊙f. Writes dG [B,4H] = dJ/da.
   */
  lstmBackward(dG: Arr, G: Arr, cPrev: Arr, tc: Arr, dh: Arr, dc: Arr, B: number, H: number): void;

  /**
   * One GRU step's gates over B rows (torch.nn.GRU gate order r, z, n): Gi [B,3H] holds
   * W_ih x + b_ih and is overwritten with r = σ(gi_r + gh_r), z = σ(gi_z + gh_z),
   * n = tanh(gi_n + r⊙gh_n), where Gh [B,3H] holds W_hh h(t-1) + b_hh; h [B,H] = (1-z)⊙n + z⊙hPrev.
   */
  gruForward(Gi: Arr, Gh: Arr, hPrev: Arr, h: Arr, B: number, H: number): void;

  /**
   * The same step backward, from the gates Gi (r, z, n), Gh, hPrev and dh = dJ/dh(t) [B,H]:
   * da_n = dh⊙(1-z)⊙(1-n²), da_r = da_n⊙gh_n⊙r(1-r), da_z = dh⊙(hPrev-n)⊙z(1-z); writes
   * dGi = [da_r, da_z, da_n] and dGh = [da_r, da_z, da_n⊙r] ([B,3H] each) and adds dh⊙z into
   * dhPrev [B,H] when it is given (the direct path from h(t-1)).
   */
  gruBackward(dGi: Arr, dGh: Arr, Gi: Arr, Gh: Arr, hPrev: Arr, dh: Arr, dhPrev: Arr | null, B: number, H: number): void;

  /** Y[R,C] += b[C] broadcast over rows. */
  addBias(Y: Arr, b: Arr, R: number, C: number): void;

  /** db[C] += Σ_r dY[r,:] (the gradient of a broadcast bias). */
  sumRows(db: Arr, dY: Arr, R: number, C: number): void;

  /** y[i] = act(x[i]) for i < n; y and x may be the same array. */
  actForward(y: Arr, x: Arr, n: number, act: Activation): void;

  /**
   * dx[i] = dy[i] * act'(·), written from the activation's output y (sigmoid: y(1-y),
   * tanh: 1-y², relu: y>0); dx and dy may be the same array.
   */
  actBackward(dx: Arr, y: Arr, dy: Arr, n: number, act: Activation): void;

  /**
   * Fused, max-subtracted softmax + cross-entropy over R rows of C logits.
   * Returns Σ_r -log softmax(logits[r])[targets[r]] as a float64 number.
   * When `grad` is true the logits are overwritten with dlogits = (p - onehot(target)) * scale.
   * When `logProbs` is given, logProbs[r] = log p(targets[r]) (for per-sentence scoring).
   */
  softmaxXent(
    logits: Arr, targets: Int32Array, R: number, C: number,
    grad: boolean, scale: number, logProbs?: Float64Array,
  ): number;

  /** out[r,:] = table[ids[r],:] for r < R; table is [rows, C]. */
  gatherRows(out: Arr, table: Arr, ids: Int32Array, R: number, C: number): void;

  /** dTable[ids[r],:] += dOut[r,:] for r < R, in increasing r (a fixed order). */
  scatterAddRows(dTable: Arr, dOut: Arr, ids: Int32Array, R: number, C: number): void;

  /** Σ x[i]² in float64 (for gradient-norm clipping). */
  sumSquares(x: Arr, n: number): number;

  /** x[i] *= a. */
  scale(x: Arr, a: number, n: number): void;

  /** x[i] = 0 for i < n (clearing the gradient arena). */
  zero(x: Arr, n: number): void;

  /**
   * Σ x² (float64) over rows[0..count) of x [·, width]: a row-sparse gradient (only those rows
   * can be non-zero). Rows are summed in list order.
   */
  sumSquaresRows(x: Arr, width: number, rows: Int32Array, count: number): number;

  /**
   * An element-wise step on rows[0..count) of w [·, width] only (with g, s alike):
   * 'scale' w *= a; 'zero' w = 0; 'sgd' w -= a·g; 'adagrad' s += g², w -= a·g / (√s + eps).
   */
  rowsOp(op: RowsOp, w: Arr, g: Arr | null, s: Arr | null, a: number, eps: number, width: number, rows: Int32Array, count: number): void;

  /** SGD: w -= lr * g. */
  sgdUpdate(w: Arr, g: Arr, lr: number, n: number): void;

  /** Adagrad: s += g²; w -= lr * g / (sqrt(s) + eps). */
  adagradUpdate(w: Arr, s: Arr, g: Arr, lr: number, eps: number, n: number): void;

  /**
   * Adam with bias correction (step t ≥ 1):
   * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
   * w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
   */
  adamUpdate(
    w: Arr, m: Arr, v: Arr, g: Arr,
    lr: number, beta1: number, beta2: number, eps: number, t: number, n: number,
  ): void;

  // ---- fused kernels: one call per segment, mask, class or batch (references: ref-fused.ts) ----

  /**
   * Dropout mask [n]: 0 where u(i) = fmix32(fmix32(i ^ k0) ^ k1) < round(p·2^32), else 1/(1-p);
   * (k0, k1) are two 32-bit words drawn from the caller's seeded Rng. Any split gives the same bits.
   */
  dropoutMask(mask: Arr, n: number, p: number, k0: number, k1: number): void;

  /** y[i] = x[i]·m[i] for i < n (dropout's forward and backward); y may be x. */
  mul(y: Arr, x: Arr, m: Arr, n: number): void;

  /**
   * The Elman recurrence over a segment: Hs [(T+1)·B, H], block 0 = h(0); block t+1 holds the
   * input part of a(t) on entry and h(t) = act(a(t) + h(t-1)·W_hᵀ) on return (WhT = W_hᵀ [H, H]).
   */
  elmanSeqForward(Hs: Arr, WhT: Arr, T: number, B: number, H: number, act: Activation): void;

  /**
   * Its backward through time: dA [T·B, H] holds dJ/dh(t) from above on entry and dJ/da(t) on
   * return: for t = T-1 … 0, dh(t) += da(t+1)·W_h (t < T-1), da(t) = dh(t) ⊙ act'(h(t)).
   */
  elmanSeqBackward(dA: Arr, Hs: Arr, Wh: Arr, T: number, B: number, H: number, act: Activation): void;

  /**
   * The class-factored softmax's word half for a batch (plan: see ClassPlan; U [V, H], b2 [V] in
   * class order): per class, Z_c = Hp_c·U_cᵀ + b2_c (+ max-ent scores), lp[p] = log P(w | c, h)
   * per sorted row p, and with grad Z_c = (softmax - onehot)·scale.
   */
  classWordsLoss(lp: Float64Array, Z: Arr, Hn: Arr, U: Arr, b2: Arr, plan: ClassPlan, H: number, grad: boolean, scale: number, direct?: DirectArgs): void;

  /** After classWordsLoss(grad): dHn[perm[p]] += dZ_c·U_c, dU_c += dZ_cᵀ·Hp_c, db2_c += Σ rows of dZ_c. */
  classWordsBackward(dHn: Arr, dU: Arr, db2: Arr, Z: Arr, Hn: Arr, U: Arr, plan: ClassPlan, H: number): void;

  /**
   * Hierarchical softmax over a batch (tree: each word's path): lp[r] = Σ_j log σ(±s_j) with
   * s_j = Wn[n_j]·Hn[r] + bn[n_j] (+ max-ent scores); with grad, G[rowOff[r] + j] = (σ(s_j) - bit_j)·scale.
   */
  hsLoss(lp: Float64Array, G: Arr, Hn: Arr, Wn: Arr, bn: Arr, tree: HsTree, batch: HsBatch, N: number, H: number, grad: boolean, scale: number, direct?: DirectArgs): void;

  /** After hsLoss(grad): dHn[r] = Σ_j G·Wn[n_j] (overwrites); dWn[n] += Σ G·Hn[r], dbn[n] += Σ G (rows in increasing order). */
  hsBackward(dHn: Arr, dWn: Arr, dbn: Arr, G: Arr, Hn: Arr, Wn: Arr, tree: HsTree, batch: HsBatch, N: number, H: number): void;

  /** Max-ent scores: Z[r, j] (row stride ld) += Σ_a table[(keys[r, a] + j) mod S] for r < R, j < n. */
  directAdd(Z: Arr, ld: number, d: DirectArgs, R: number, n: number): void;

  /** Their gradient into the sparse table gradient: rows, then orders, then outputs, in that order. */
  directGrad(sg: SparseGrad, dZ: Arr, ld: number, keys: Uint32Array, O: number, R: number, n: number): void;

  /** The same for the class softmax's word scores (classes, their sorted rows, orders, words). */
  directGradClassWords(sg: SparseGrad, Z: Arr, plan: ClassPlan, keys: Uint32Array, O: number): void;

  /** The same for hierarchical-softmax node scores (rows, orders, path nodes). */
  directGradHs(sg: SparseGrad, G: Arr, tree: HsTree, batch: HsBatch, keys: Uint32Array, O: number, N: number): void;

  /** Σ g² over the touched entries of a sparse gradient (float64, list order). */
  sparseSumSquares(sg: SparseGrad): number;

  /** Update the touched entries (SGD, lazy Adam or Adagrad; see SparseStep), then clear them. */
  sparseUpdate(sg: SparseGrad, w: Arr, m: Arr | null, v: Arr | null, st: SparseStep): void;
}
