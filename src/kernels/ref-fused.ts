// Plain TypeScript references of the fused kernels: one call per segment (the Elman recurrence),
// per mask (dropout), per class (the class-factored softmax's word half), per batch
// (hierarchical softmax, max-ent direct connections, sparse updates). They are the
// specification the wasm kernels in assembly/{dropout,recurrent,classes,hsoftmax,direct}.ts are
// tested against, and they run in float64 for the gradient checks. Loops are ordered as the
// wasm kernels' are where the order of additions is part of the contract (node and table
// gradients: rows in increasing order).
// Legend: T steps, B streams, H hidden, N rows, V words, C classes, s_c words and n_c rows of
// class c, O max-ent orders, S table entries; p a row in class-sorted order.

import type { Activation, Arr } from './kernels.js';
import { gemmRef } from './ref.js';

// ---- layouts shared with the wasm kernels ------------------------------------------------------

/**
 * A batch of the class-factored softmax, flat i32 (the layout assembly/classes.ts reads):
 * rowStart [C+1] (class c's sorted rows), wordStart [C+1] (its words in class order),
 * zStart [C+1] (offset of its [n_c, s_c] logit block), perm [N] (sorted row → row),
 * tPos [N] (sorted row → position of its target in its class).
 */
export interface ClassPlan {
  readonly C: number;
  readonly N: number;
  readonly data: Int32Array;
}

export function planViews(plan: ClassPlan): { rowStart: Int32Array; wordStart: Int32Array; zStart: Int32Array; perm: Int32Array; tPos: Int32Array } {
  const { C, N, data } = plan;
  return {
    rowStart: data.subarray(0, C + 1),
    wordStart: data.subarray(C + 1, 2 * C + 2),
    zStart: data.subarray(2 * C + 2, 3 * C + 3),
    perm: data.subarray(3 * C + 3, 3 * C + 3 + N),
    tPos: data.subarray(3 * C + 3 + N, 3 * C + 3 + 2 * N),
  };
}

/**
 * A hierarchical-softmax tree, flat i32 (the layout assembly/hsoftmax.ts reads): pathStart [V+1],
 * pathNode [P] (inner nodes from the root down), pathBit [P] (1: the path turns right there).
 */
export interface HsTree {
  readonly V: number;
  readonly data: Int32Array;
}

export function treeViews(tree: HsTree): { pathStart: Int32Array; pathNode: Int32Array; pathBit: Int32Array } {
  const { V, data } = tree;
  const P = data[V];
  return { pathStart: data.subarray(0, V + 1), pathNode: data.subarray(V + 1, V + 1 + P), pathBit: data.subarray(V + 1 + P, V + 1 + 2 * P) };
}

/**
 * One batch of the hierarchical softmax: targets [N], rowOff [N+1] (row r's gradients are
 * G[rowOff[r] … rowOff[r+1])), and the touched nodes with their entries, flat i32:
 * M, nodes [M], entStart [M+1], entRow [E], entG [E] (each node's rows in increasing order).
 */
export interface HsBatch {
  readonly targets: Int32Array;
  readonly rowOff: Int32Array;
  readonly nodeList: Int32Array;
}

/** Max-ent scores for a call: table [S], keys [R, O] u32 start indices (0xFFFFFFFF: absent). */
export interface DirectArgs {
  readonly table: Arr;
  readonly keys: Uint32Array;
  readonly O: number;
}

/** The table's sparse gradient: dense values g [S], first-touch flags [S], list [1 + cap] = count, indices. */
export interface SparseGrad {
  readonly g: Arr;
  readonly flags: Uint8Array;
  readonly list: Int32Array;
}

export const ABSENT = 0xffffffff;

// ---- dropout --------------------------------------------------------------------------------

/** murmur3's 32-bit finaliser (a bijection with full avalanche). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The drop threshold of probability p: element i is dropped when u(i) < threshold. */
export function dropThreshold(p: number): number {
  return Math.min(0xffffffff, Math.floor(p * 4294967296));
}

/**
 * mask[i] for i < n: u(i) = fmix32(fmix32(i ^ k0) ^ k1); 0 when u(i) < round(p·2^32), else
 * 1/(1-p) (in the array's precision). The same bits as assembly/dropout.ts for any split.
 */
export function dropoutMaskRef(mask: Arr, n: number, p: number, k0: number, k1: number): void {
  const thr = dropThreshold(p);
  const keep = 1 / (1 - p);
  for (let i = 0; i < n; i++) mask[i] = fmix32(fmix32((i ^ k0) >>> 0) ^ k1) < thr ? 0 : keep;
}

// ---- the Elman recurrence over a segment ------------------------------------------------------

function act1(a: number, act: Activation): number {
  if (act === 'sigmoid') return 1 / (1 + Math.exp(-a));
  if (act === 'tanh') return Math.tanh(a);
  return a > 0 ? a : 0;
}

function actGrad1(y: number, dy: number, act: Activation): number {
  if (act === 'sigmoid') return dy * y * (1 - y);
  if (act === 'tanh') return dy * (1 - y * y);
  return y > 0 ? dy : 0;
}

/**
 * Hs [(T+1)·B, H]: block 0 = h(0); block t holds the input part a_in(t) = W_e x(t) + b on entry
 * and h(t) = act(a_in(t) + h(t-1)·W_hᵀ) on return, t = 1 … T. WhT = W_hᵀ [H, H].
 */
export function elmanSeqForwardRef(Hs: Arr, WhT: Arr, T: number, B: number, H: number, act: Activation): void {
  const n = B * H;
  for (let t = 0; t < T; t++) {
    const prev = Hs.subarray(t * n, (t + 1) * n);
    const cur = Hs.subarray((t + 1) * n, (t + 2) * n);
    gemmRef(cur, prev, WhT, B, H, H, false, false, 1);
    for (let i = 0; i < n; i++) cur[i] = act1(cur[i], act);
  }
}

/**
 * dA [T·B, H]: dJ/dh(t) (direct part) on entry, dJ/da(t) on return; for t = T-1 … 0:
 * dh(t) += da(t+1)·W_h (t < T-1); da(t) = dh(t) ⊙ act'(h(t)), h(t) = Hs block t+1.
 */
export function elmanSeqBackwardRef(dA: Arr, Hs: Arr, Wh: Arr, T: number, B: number, H: number, act: Activation): void {
  const n = B * H;
  for (let t = T - 1; t >= 0; t--) {
    const da = dA.subarray(t * n, (t + 1) * n);
    if (t < T - 1) gemmRef(da, dA.subarray((t + 1) * n, (t + 2) * n), Wh, B, H, H, false, false, 1);
    const h = Hs.subarray((t + 1) * n, (t + 2) * n);
    for (let i = 0; i < n; i++) da[i] = actGrad1(h[i], da[i], act);
  }
}

// ---- class-factored softmax, word half --------------------------------------------------------

/** Σ over the orders of table[(key + j) mod S] for one row's keys (absent keys skipped). */
function directScore(d: DirectArgs, row: number, j: number): number {
  const S = d.table.length;
  let s = 0;
  for (let a = 0; a < d.O; a++) {
    const key = d.keys[row * d.O + a];
    if (key !== ABSENT) s += d.table[(key + j) % S];
  }
  return s;
}

/**
 * For each class c: Z_c [n_c, s_c] (at zStart[c]) = Hn[perm[p]] · U_cᵀ + b2_c (+ max-ent scores
 * with keys per sorted row), then per row lp[p] = log softmax(Z_c[p - p0])[tPos[p]] and, with
 * grad, Z_c = (softmax - onehot) · scale. U [V, H] and b2 [V] in class order. One-word classes:
 * lp = 0, Z = 0.
 */
export function classWordsLossRef(
  lp: Float64Array, Z: Arr, Hn: Arr, U: Arr, b2: Arr, plan: ClassPlan, H: number, grad: boolean, scale: number, direct?: DirectArgs,
): void {
  const { rowStart, wordStart, zStart, perm, tPos } = planViews(plan);
  for (let c = 0; c < plan.C; c++) {
    const p0 = rowStart[c];
    const n = rowStart[c + 1] - p0;
    const w0 = wordStart[c];
    const s = wordStart[c + 1] - w0;
    const z0 = zStart[c];
    for (let i = 0; i < n; i++) {
      const p = p0 + i;
      const zr = z0 + i * s;
      if (s === 1) {
        lp[p] = 0;
        Z[zr] = 0;
        continue;
      }
      const h = perm[p] * H;
      for (let j = 0; j < s; j++) {
        let v = 0;
        for (let k = 0; k < H; k++) v += Hn[h + k] * U[(w0 + j) * H + k];
        Z[zr + j] = v + b2[w0 + j] + (direct ? directScore(direct, p, j) : 0);
      }
      let max = -Infinity;
      for (let j = 0; j < s; j++) if (Z[zr + j] > max) max = Z[zr + j];
      let sum = 0;
      for (let j = 0; j < s; j++) sum += Math.exp(Z[zr + j] - max);
      const logZ = max + Math.log(sum);
      const t = tPos[p];
      lp[p] = Z[zr + t] - logZ;
      if (grad) {
        for (let j = 0; j < s; j++) Z[zr + j] = Math.exp(Z[zr + j] - logZ) * scale;
        Z[zr + t] -= scale;
      }
    }
  }
}

/**
 * After classWordsLossRef(grad): for each class c with dZ_c = Z_c,
 * dHn[perm[p]] += (dZ_c · U_c)[p - p0]; dU_c += dZ_cᵀ · Hn[perm[p0 …]]; db2_c += Σ rows of dZ_c.
 */
export function classWordsBackwardRef(dHn: Arr, dU: Arr, db2: Arr, Z: Arr, Hn: Arr, U: Arr, plan: ClassPlan, H: number): void {
  const { rowStart, wordStart, zStart, perm } = planViews(plan);
  for (let c = 0; c < plan.C; c++) {
    const p0 = rowStart[c];
    const n = rowStart[c + 1] - p0;
    const w0 = wordStart[c];
    const s = wordStart[c + 1] - w0;
    if (s === 1) continue;
    for (let i = 0; i < n; i++) {
      const zr = zStart[c] + i * s;
      const h = perm[p0 + i] * H;
      for (let j = 0; j < s; j++) {
        const g = Z[zr + j];
        const u = (w0 + j) * H;
        for (let k = 0; k < H; k++) {
          dHn[h + k] += g * U[u + k];
          dU[u + k] += g * Hn[h + k];
        }
        db2[w0 + j] += g;
      }
    }
  }
}

// ---- hierarchical softmax ---------------------------------------------------------------------

const logSigmoid = (x: number): number => -(Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x))));

/**
 * Rows r < N: s_j = Wn[n_j]·Hn[r] + bn[n_j] (+ max-ent table[(key + n_j) mod S]) along the path
 * of targets[r]; lp[r] = Σ_j log σ(±s_j) (+ at bit 1); with grad, G[rowOff[r] + j] = (σ(s_j) - bit_j)·scale.
 */
export function hsLossRef(
  lp: Float64Array, G: Arr, Hn: Arr, Wn: Arr, bn: Arr, tree: HsTree, batch: HsBatch, N: number, H: number,
  grad: boolean, scale: number, direct?: DirectArgs,
): void {
  const { pathStart, pathNode, pathBit } = treeViews(tree);
  for (let r = 0; r < N; r++) {
    const w = batch.targets[r];
    let sum = 0;
    for (let j = pathStart[w], q = batch.rowOff[r]; j < pathStart[w + 1]; j++, q++) {
      const node = pathNode[j];
      let s = bn[node];
      for (let k = 0; k < H; k++) s += Wn[node * H + k] * Hn[r * H + k];
      if (direct) s += directScore(direct, r, node);
      sum += logSigmoid(pathBit[j] ? s : -s);
      if (grad) G[q] = (1 / (1 + Math.exp(-s)) - pathBit[j]) * scale;
    }
    lp[r] = sum;
  }
}

/** dHn[r] = Σ_j G[rowOff[r] + j]·Wn[n_j] (overwrites); dWn[n] += Σ G·Hn[r], dbn[n] += Σ G over each node's rows in increasing order. */
export function hsBackwardRef(dHn: Arr, dWn: Arr, dbn: Arr, G: Arr, Hn: Arr, Wn: Arr, tree: HsTree, batch: HsBatch, N: number, H: number): void {
  const { pathStart, pathNode } = treeViews(tree);
  dHn.fill(0, 0, N * H);
  for (let r = 0; r < N; r++) {
    const w = batch.targets[r];
    for (let j = pathStart[w], q = batch.rowOff[r]; j < pathStart[w + 1]; j++, q++) {
      const node = pathNode[j];
      const g = G[q];
      for (let k = 0; k < H; k++) {
        dHn[r * H + k] += g * Wn[node * H + k];
        dWn[node * H + k] += g * Hn[r * H + k];
      }
      dbn[node] += g;
    }
  }
}

/** Reusable buffers of hsBatchPlan (all may be plain arrays; the model keeps them in kernel memory). */
export interface HsPlanBuffers {
  /** [V-1] all 0 between calls. */
  slot: Int32Array;
  /** [V-1] scratch: nodes in first-touch order, and their entry counts. */
  nodes: Int32Array;
  count: Int32Array;
  /** Outputs, grown by `grow` when too short: targets [N], rowOff [N+1], the node list. */
  targets: Int32Array;
  rowOff: Int32Array;
  list: Int32Array;
  grow?: (n: number) => Int32Array;
}

/**
 * The touched-node list of a batch (see HsBatch): nodes in first-touch order, each with its
 * (row, index into G) entries in increasing row order; rowOff [N+1] too. `buf` keeps the arrays
 * from call to call (default: fresh ones).
 */
export function hsBatchPlan(tree: HsTree, targets: Int32Array, N: number, scratchNodeSlot: Int32Array, buf?: HsPlanBuffers): HsBatch {
  const { pathStart, pathNode } = treeViews(tree);
  const V1 = tree.V - 1;
  const b: HsPlanBuffers = buf ?? {
    slot: scratchNodeSlot, nodes: new Int32Array(V1), count: new Int32Array(V1), targets: new Int32Array(0), rowOff: new Int32Array(0), list: new Int32Array(0),
  };
  const grow = b.grow ?? ((n: number) => new Int32Array(n));
  if (b.targets.length < N) b.targets = grow(N);
  if (b.rowOff.length < N + 1) b.rowOff = grow(N + 1);
  const tg = b.targets.subarray(0, N);
  tg.set(targets.subarray(0, N));
  const rowOff = b.rowOff.subarray(0, N + 1);
  rowOff[0] = 0;
  for (let r = 0; r < N; r++) rowOff[r + 1] = rowOff[r] + pathStart[tg[r] + 1] - pathStart[tg[r]];
  const E = rowOff[N];
  // slot[node] = its position in the list + 1 (0: not yet touched); cleared again below
  const { slot, nodes, count } = b;
  let M = 0;
  for (let r = 0; r < N; r++) {
    const w = tg[r];
    for (let j = pathStart[w]; j < pathStart[w + 1]; j++) {
      const node = pathNode[j];
      if (slot[node] === 0) {
        nodes[M] = node;
        count[M] = 0;
        slot[node] = ++M;
      }
      count[slot[node] - 1]++;
    }
  }
  const size = 1 + M + (M + 1) + 2 * E;
  if (b.list.length < size) b.list = grow(Math.max(size, 2 * b.list.length));
  const list = b.list.subarray(0, size);
  list[0] = M;
  const entStart = list.subarray(1 + M, 2 + 2 * M);
  entStart[0] = 0;
  for (let q = 0; q < M; q++) {
    list[1 + q] = nodes[q];
    entStart[q + 1] = entStart[q] + count[q];
    count[q] = entStart[q]; // from here on: the next free entry of node q
  }
  const entRow = list.subarray(2 + 2 * M, 2 + 2 * M + E);
  const entG = list.subarray(2 + 2 * M + E, 2 + 2 * M + 2 * E);
  for (let r = 0; r < N; r++) {
    const w = tg[r];
    for (let j = pathStart[w], q = rowOff[r]; j < pathStart[w + 1]; j++, q++) {
      const e = count[slot[pathNode[j]] - 1]++;
      entRow[e] = r;
      entG[e] = q;
    }
  }
  for (let q = 0; q < M; q++) slot[nodes[q]] = 0;
  return { targets: tg, rowOff, nodeList: list };
}

// ---- max-ent direct connections -------------------------------------------------------------

/** Z[r, j] (row stride ld) += Σ_a table[(keys[r, a] + j) mod S] for r < R, j < n. */
export function directAddRef(Z: Arr, ld: number, d: DirectArgs, R: number, n: number): void {
  for (let r = 0; r < R; r++) for (let j = 0; j < n; j++) Z[r * ld + j] += directScore(d, r, j);
}

function touch(sg: SparseGrad, idx: number, g: number): void {
  if (sg.flags[idx] === 0) {
    sg.flags[idx] = 1;
    sg.list[++sg.list[0]] = idx;
  }
  sg.g[idx] += g;
}

/** gtab[(keys[r, a] + j) mod S] += dZ[r, j] for rows r < R, orders a, outputs j < n, in that order. */
export function directGradRef(sg: SparseGrad, dZ: Arr, ld: number, keys: Uint32Array, O: number, R: number, n: number): void {
  const S = sg.g.length;
  for (let r = 0; r < R; r++) {
    for (let a = 0; a < O; a++) {
      const key = keys[r * O + a];
      if (key === ABSENT) continue;
      for (let j = 0; j < n; j++) touch(sg, (key + j) % S, dZ[r * ld + j]);
    }
  }
}

/** The class-factored softmax's word scores: classes in order, their sorted rows, orders, words. */
export function directGradClassWordsRef(sg: SparseGrad, Z: Arr, plan: ClassPlan, keys: Uint32Array, O: number): void {
  const { rowStart, wordStart, zStart } = planViews(plan);
  const S = sg.g.length;
  for (let c = 0; c < plan.C; c++) {
    const s = wordStart[c + 1] - wordStart[c];
    if (s === 1) continue;
    for (let p = rowStart[c]; p < rowStart[c + 1]; p++) {
      const zr = zStart[c] + (p - rowStart[c]) * s;
      for (let a = 0; a < O; a++) {
        const key = keys[p * O + a];
        if (key === ABSENT) continue;
        for (let j = 0; j < s; j++) touch(sg, (key + j) % S, Z[zr + j]);
      }
    }
  }
}

/** Hierarchical softmax: rows, orders, path nodes: gtab[(keys[r, a] + n_j) mod S] += G[rowOff[r] + j]. */
export function directGradHsRef(sg: SparseGrad, G: Arr, tree: HsTree, batch: HsBatch, keys: Uint32Array, O: number, N: number): void {
  const { pathStart, pathNode } = treeViews(tree);
  const S = sg.g.length;
  for (let r = 0; r < N; r++) {
    const w = batch.targets[r];
    for (let a = 0; a < O; a++) {
      const key = keys[r * O + a];
      if (key === ABSENT) continue;
      for (let j = pathStart[w], q = batch.rowOff[r]; j < pathStart[w + 1]; j++, q++) touch(sg, (key + pathNode[j]) % S, G[q]);
    }
  }
}

/** Σ g[idx]² over the touched entries, in list order. */
export function sparseSumSquaresRef(sg: SparseGrad): number {
  let s = 0;
  for (let q = 1; q <= sg.list[0]; q++) s += sg.g[sg.list[q]] * sg.g[sg.list[q]];
  return s;
}

/** Optimizer hyper-parameters of one sparse update (see sparseUpdateRef). */
export interface SparseStep {
  kind: 'sgd' | 'adam' | 'adagrad';
  /** Gradient scale (clipping; 1 = none). */
  gs: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Adam's bias corrections 1 - β1^t, 1 - β2^t of the global step t. */
  c1: number;
  c2: number;
}

/**
 * Update the touched entries, then clear their gradient and flags and empty the list.
 * sgd: w -= lr·g. adam (lazy, PyTorch's SparseAdam): m = β1 m + (1-β1) g, v = β2 v + (1-β2) g²,
 * w -= lr·(m/c1)/(√(v/c2) + eps). adagrad: m += g²; w -= lr·g/(√m + eps). g = gs · gradient.
 */
export function sparseUpdateRef(sg: SparseGrad, w: Arr, m: Arr | null, v: Arr | null, st: SparseStep): void {
  for (let q = 1; q <= sg.list[0]; q++) {
    const i = sg.list[q];
    const g = sg.g[i] * st.gs;
    if (st.kind === 'sgd') {
      w[i] -= st.lr * g;
    } else if (st.kind === 'adam') {
      m![i] = st.beta1 * m![i] + (1 - st.beta1) * g;
      v![i] = st.beta2 * v![i] + (1 - st.beta2) * g * g;
      w[i] -= (st.lr * (m![i] / st.c1)) / (Math.sqrt(v![i] / st.c2) + st.eps);
    } else {
      m![i] += g * g;
      w[i] -= (st.lr * g) / (Math.sqrt(m![i]) + st.eps);
    }
    sg.g[i] = 0;
    sg.flags[i] = 0;
  }
  sg.list[0] = 0;
}
