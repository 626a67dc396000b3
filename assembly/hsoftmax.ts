// Hierarchical softmax (src/nn/hsoftmax.ts; Morin & Bengio 2005, word2vec / faster-rnnlm's
// output layer) over a binary tree with the V words at its leaves and V-1 inner nodes:
//   s_j = v_{n_j} · h + b_{n_j}  for the inner nodes n_0 (root) … n_{L-1} on the path to w,
//   log P(w | h) = Σ_j log σ(±s_j),  + when the path turns right (bit 1), − when left (bit 0),
//   dJ/ds_j = (σ(s_j) - bit_j) · scale          (J = -log P(w | h), scaled)
// Legend: N rows, H hidden, V words, L a path's length; G [Σ L] the per-(row, node) gradients,
// row r's at rowOff[r] … rowOff[r+1]. The tree (i32): pathStart [V+1], then pathNode [Σ_w L_w],
// then pathBit [Σ_w L_w]. Rows are independent in the loss and in dJ/dh; the node gradients are
// summed per node over its rows in increasing order (a per-batch list built by the caller), so
// threads split rows, then nodes, and the result does not depend on the split.
// Pointers are byte offsets; nothing allocates.
import { loadPartial, madd4, storePartial } from './vmath';

@inline function i32at(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

/** x · y over H floats: four f32x4 accumulators over k in steps of 16, then a fixed lane sum. */
@inline function dot(x: usize, y: usize, H: i32): f32 {
  let a0 = f32x4.splat(0);
  let a1 = a0, a2 = a0, a3 = a0;
  let k = 0;
  for (; k + 16 <= H; k += 16) {
    const o = <usize>k << 2;
    a0 = madd4(v128.load(x + o), v128.load(y + o), a0);
    a1 = madd4(v128.load(x + o, 16), v128.load(y + o, 16), a1);
    a2 = madd4(v128.load(x + o, 32), v128.load(y + o, 32), a2);
    a3 = madd4(v128.load(x + o, 48), v128.load(y + o, 48), a3);
  }
  for (; k + 4 <= H; k += 4) {
    const o = <usize>k << 2;
    a0 = madd4(v128.load(x + o), v128.load(y + o), a0);
  }
  if (k < H) {
    const o = <usize>k << 2;
    a1 = madd4(loadPartial(x + o, H - k), loadPartial(y + o, H - k), a1);
  }
  const a = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  return (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
}

/** y[H] += g · x[H] (fused in the relaxed build). */
@inline function axpy(y: usize, g: f32, x: usize, H: i32): void {
  const gv = f32x4.splat(g);
  let k = 0;
  for (; k + 4 <= H; k += 4) {
    const o = <usize>k << 2;
    v128.store(y + o, madd4(gv, v128.load(x + o), v128.load(y + o)));
  }
  if (k < H) {
    const o = <usize>k << 2;
    storePartial(y + o, madd4(gv, loadPartial(x + o, H - k), loadPartial(y + o, H - k)), H - k);
  }
}

/** log σ(x) in f64, without overflow: -(max(-x, 0) + log1p(e^{-|x|})). */
@inline function logSigmoid(x: f64): f64 {
  return -(max(-x, 0.0) + Math.log1p(Math.exp(-Math.abs(x))));
}

/**
 * Rows [r0, r1): lp[r] (f64) = log P(targets[r] | Hn[r]); with grad, G[rowOff[r] + j] =
 * (σ(s_j) - bit_j) · scale. direct: 0, or [table, keys, O, S] (i32 words) adding max-ent scores
 * table[(keys[r, a] + n_j) mod S] to s_j for the orders a whose key is not 0xFFFFFFFF.
 */
export function hsLossF32(
  lp: usize, G: usize, Hn: usize, Wn: usize, bn: usize, tree: usize, V: i32, targets: usize, rowOff: usize,
  r0: i32, r1: i32, H: i32, grad: i32, scale: f32, direct: usize,
): void {
  const pathStart = tree;
  const total = i32at(pathStart, V);
  const pathNode = tree + (<usize>(V + 1) << 2);
  const pathBit = pathNode + (<usize>total << 2);
  const hb = <usize>H * 4;
  for (let r = r0; r < r1; r++) {
    const w = i32at(targets, r);
    const j0 = i32at(pathStart, w);
    const L = i32at(pathStart, w + 1) - j0;
    const h = Hn + <usize>r * hb;
    const g = G + (<usize>i32at(rowOff, r) << 2);
    let sum: f64 = 0;
    for (let j = 0; j < L; j++) {
      const node = i32at(pathNode, j0 + j);
      let s: f32 = dot(h, Wn + <usize>node * hb, H) + load<f32>(bn + (<usize>node << 2));
      if (direct) {
        const table = <usize>load<u32>(direct);
        const keys = <usize>load<u32>(direct, 4);
        const O = load<i32>(direct, 8);
        const S = load<u32>(direct, 12);
        for (let a = 0; a < O; a++) {
          const key = load<u32>(keys + (<usize>r * O + a) * 4);
          if (key != 0xffffffff) s += load<f32>(table + (<usize>((key + <u32>node) % S) << 2));
        }
      }
      const bit = i32at(pathBit, j0 + j);
      const sd = <f64>s;
      sum += logSigmoid(bit ? sd : -sd);
      if (grad) {
        const sig = 1.0 / (1.0 + Math.exp(-sd));
        store<f32>(g + (<usize>j << 2), <f32>((sig - <f64>bit) * <f64>scale));
      }
    }
    store<f64>(lp + (<usize>r << 3), sum);
  }
}

/** Rows [r0, r1): dHn[r] = Σ_j G[rowOff[r] + j] · Wn[n_j], j in path order (overwrites). */
export function hsBackwardRowsF32(dHn: usize, G: usize, Wn: usize, tree: usize, V: i32, targets: usize, rowOff: usize, r0: i32, r1: i32, H: i32): void {
  const pathStart = tree;
  const pathNode = tree + (<usize>(V + 1) << 2);
  const hb = <usize>H * 4;
  for (let r = r0; r < r1; r++) {
    const w = i32at(targets, r);
    const j0 = i32at(pathStart, w);
    const L = i32at(pathStart, w + 1) - j0;
    const d = dHn + <usize>r * hb;
    memory.fill(d, 0, hb);
    const g = G + (<usize>i32at(rowOff, r) << 2);
    for (let j = 0; j < L; j++) axpy(d, load<f32>(g + (<usize>j << 2)), Wn + <usize>i32at(pathNode, j0 + j) * hb, H);
  }
}

/**
 * Touched nodes [q0, q1) of the batch's node list: for node = nodes[q], over its entries e in
 * entStart[q] … entStart[q+1] (rows in increasing order): dWn[node] += G[entG[e]] · Hn[entRow[e]],
 * dbn[node] += G[entG[e]]. list (i32): M, then nodes [M], entStart [M+1], entRow [E], entG [E].
 */
export function hsBackwardNodesF32(dWn: usize, dbn: usize, G: usize, Hn: usize, list: usize, q0: i32, q1: i32, H: i32): void {
  const M = i32at(list, 0);
  const nodes = list + 4;
  const entStart = nodes + (<usize>M << 2);
  const E = i32at(entStart, M);
  const entRow = entStart + (<usize>(M + 1) << 2);
  const entG = entRow + (<usize>E << 2);
  const hb = <usize>H * 4;
  for (let q = q0; q < q1; q++) {
    const node = i32at(nodes, q);
    const dw = dWn + <usize>node * hb;
    let db = load<f32>(dbn + (<usize>node << 2));
    for (let e = i32at(entStart, q); e < i32at(entStart, q + 1); e++) {
      const g = load<f32>(G + (<usize>i32at(entG, e) << 2));
      axpy(dw, g, Hn + <usize>i32at(entRow, e) * hb, H);
      db += g;
    }
    store<f32>(dbn + (<usize>node << 2), db);
  }
}
