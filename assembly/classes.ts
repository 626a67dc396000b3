// The word half of the class-factored softmax (src/nn/classes.ts), one class per call: the rows
// whose target is in class c, against the decoder rows of class c (contiguous: the model keeps
// decoder.weight / decoder.bias in class order internally), logits + softmax + cross-entropy +
// dlogits in one call, and in a second call the three backward products. Threads take classes
// from a shared counter; every output (a row's log-probability and gradient, a class's decoder
// rows) belongs to one class, so the result does not depend on which thread took which class.
// Legend: N rows (T·B), H hidden, C classes, c a class, n = n_c its rows, s = s_c its words,
// O max-ent orders; "sorted" rows are the N rows ordered by target class (stable).
// The plan (i32, built by the caller per batch): rowStart [C+1], wordStart [C+1], zStart [C+1],
// perm [N] (sorted row → row), tPos [N] (sorted row → target's position in its class).
// Pointers are byte offsets; nothing allocates.
import { gemmF32 } from './gemm';
import { sumRowsF32 } from './elementwise';
import { softmaxXentF32 } from './softmax';
import { loadPartial, madd4 } from './vmath';

@inline function i32at(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * Z[n, s] (row stride s) = X[n, H] · W[s, H]ᵀ by dot products, without packing: tiles of 2 rows
 * × 4 words, eight f32x4 accumulators over k, summed across lanes at the end. (A packed GEMM
 * would copy all of W for a handful of rows.) Each Z element's arithmetic depends on its own
 * row and word only. Rows and words past the edges are computed from a repeated row / word and
 * not stored.
 */
export function dotsF32(Z: usize, X: usize, W: usize, n: i32, s: i32, H: i32): void {
  const hb = <usize>H * 4;
  const H4 = H & ~3;
  const tail = H - H4;
  for (let r = 0; r < n; r += 2) {
    const x0 = X + <usize>r * hb;
    const x1 = X + <usize>min(r + 1, n - 1) * hb;
    for (let w = 0; w < s; w += 4) {
      const u0 = W + <usize>w * hb;
      const u1 = W + <usize>min(w + 1, s - 1) * hb;
      const u2 = W + <usize>min(w + 2, s - 1) * hb;
      const u3 = W + <usize>min(w + 3, s - 1) * hb;
      let a00 = f32x4.splat(0);
      let a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
      for (let k = 0; k < H4; k += 4) {
        const o = <usize>k << 2;
        const h0 = v128.load(x0 + o);
        const h1 = v128.load(x1 + o);
        let u = v128.load(u0 + o);
        a00 = madd4(h0, u, a00);
        a10 = madd4(h1, u, a10);
        u = v128.load(u1 + o);
        a01 = madd4(h0, u, a01);
        a11 = madd4(h1, u, a11);
        u = v128.load(u2 + o);
        a02 = madd4(h0, u, a02);
        a12 = madd4(h1, u, a12);
        u = v128.load(u3 + o);
        a03 = madd4(h0, u, a03);
        a13 = madd4(h1, u, a13);
      }
      if (tail) {
        const o = <usize>H4 << 2;
        const h0 = loadPartial(x0 + o, tail);
        const h1 = loadPartial(x1 + o, tail);
        let u = loadPartial(u0 + o, tail);
        a00 = madd4(h0, u, a00);
        a10 = madd4(h1, u, a10);
        u = loadPartial(u1 + o, tail);
        a01 = madd4(h0, u, a01);
        a11 = madd4(h1, u, a11);
        u = loadPartial(u2 + o, tail);
        a02 = madd4(h0, u, a02);
        a12 = madd4(h1, u, a12);
        u = loadPartial(u3 + o, tail);
        a03 = madd4(h0, u, a03);
        a13 = madd4(h1, u, a13);
      }
      const z0 = Z + (<usize>r * s + w) * 4;
      const nw = min(4, s - w);
      store<f32>(z0, hsum(a00));
      if (nw > 1) store<f32>(z0, hsum(a01), 4);
      if (nw > 2) store<f32>(z0, hsum(a02), 8);
      if (nw > 3) store<f32>(z0, hsum(a03), 12);
      if (r + 1 < n) {
        const z1 = z0 + <usize>s * 4;
        store<f32>(z1, hsum(a10));
        if (nw > 1) store<f32>(z1, hsum(a11), 4);
        if (nw > 2) store<f32>(z1, hsum(a12), 8);
        if (nw > 3) store<f32>(z1, hsum(a13), 12);
      }
    }
  }
}

/** out[i, :] = Hn[perm[p0 + i], :] for i < n (the class's rows, gathered into scratch). */
function gatherSorted(out: usize, Hn: usize, perm: usize, p0: i32, n: i32, H: i32): void {
  const rowBytes = <usize>H * 4;
  for (let i = 0; i < n; i++) memory.copy(out + <usize>i * rowBytes, Hn + <usize>i32at(perm, p0 + i) * rowBytes, rowBytes);
}

/**
 * Max-ent scores of one class's words (src/nn/direct.ts): Z[i, w] += Σ_a table[(key[p, a] + w) mod S]
 * for the class's sorted rows p = p0 + i, over the O orders whose key is not 0xFFFFFFFF (absent).
 * keys [N, O] u32. The additions run in order a = 0, 1, … for each element.
 */
function addDirect(Z: usize, table: usize, keys: usize, O: i32, S: u32, p0: i32, n: i32, s: i32): void {
  for (let i = 0; i < n; i++) {
    const z = Z + <usize>i * s * 4;
    for (let a = 0; a < O; a++) {
      const key = load<u32>(keys + (<usize>(p0 + i) * O + a) * 4);
      if (key == 0xffffffff) continue;
      // the run key .. key+s-1 (mod S) in at most ⌈s/S⌉ + 1 contiguous pieces
      let w = 0;
      let idx = key;
      while (w < s) {
        const len = <i32>min(<u32>(s - w), S - idx);
        const t = table + (<usize>idx << 2);
        const zz = z + (<usize>w << 2);
        let j = 0;
        for (; j + 4 <= len; j += 4) v128.store(zz + (<usize>j << 2), f32x4.add(v128.load(zz + (<usize>j << 2)), v128.load(t + (<usize>j << 2))));
        for (; j < len; j++) store<f32>(zz + (<usize>j << 2), load<f32>(zz + (<usize>j << 2)) + load<f32>(t + (<usize>j << 2)));
        w += len;
        idx = 0;
      }
    }
  }
}

/**
 * Loss of class c = order[q]: Z_c [n, s] = Hp_c · U_cᵀ + b2_c (+ max-ent scores when table ≠ 0), then the
 * fused softmax + cross-entropy: lp[p] (f64) = log P(w_p | c, h_p) for sorted rows p, and with
 * grad, Z_c = (softmax - onehot) · scale. A one-word class has log P = 0 and zero gradient.
 * Z (floats) holds class c's block at zStart[c]; U [V, H] and b2 [V] in class order.
 * scratch: n·H floats of this thread (Hp_c, the class's rows of Hn).
 * direct: 0, or [table, keys, O, S] (i32 words: byte offsets and counts) for max-ent scores.
 */
export function classWordsLossF32(
  lp: usize, Z: usize, Hn: usize, U: usize, b2: usize, plan: usize, C: i32, N: i32, H: i32,
  order: usize, q: i32, grad: i32, scale: f32, scratch: usize, direct: usize,
): void {
  const c = i32at(order, q);
  const rowStart = plan;
  const wordStart = plan + (<usize>(C + 1) << 2);
  const zStart = plan + (<usize>(2 * C + 2) << 2);
  const perm = plan + (<usize>(3 * C + 3) << 2);
  const tPos = perm + (<usize>N << 2);
  const p0 = i32at(rowStart, c);
  const n = i32at(rowStart, c + 1) - p0;
  if (n <= 0) return;
  const w0 = i32at(wordStart, c);
  const s = i32at(wordStart, c + 1) - w0;
  const z = Z + (<usize>i32at(zStart, c) << 2);
  if (s == 1) {
    for (let i = 0; i < n; i++) {
      store<f64>(lp + (<usize>(p0 + i) << 3), 0);
      store<f32>(z + (<usize>i << 2), 0);
    }
    return;
  }
  gatherSorted(scratch, Hn, perm, p0, n, H);
  dotsF32(z, scratch, U + <usize>w0 * H * 4, n, s, H);
  for (let i = 0; i < n; i++) {
    const zi = z + <usize>i * s * 4;
    const b = b2 + (<usize>w0 << 2);
    let j = 0;
    for (; j + 4 <= s; j += 4) v128.store(zi + (<usize>j << 2), f32x4.add(v128.load(zi + (<usize>j << 2)), v128.load(b + (<usize>j << 2))));
    for (; j < s; j++) store<f32>(zi + (<usize>j << 2), load<f32>(zi + (<usize>j << 2)) + load<f32>(b + (<usize>j << 2)));
  }
  if (direct) addDirect(z, load<u32>(direct), load<u32>(direct, 4), load<i32>(direct, 8), load<u32>(direct, 12), p0, n, s);
  softmaxXentF32(z, tPos + (<usize>p0 << 2), lp + (<usize>p0 << 3), 0, n, s, grad, scale);
}

/**
 * Backward of class c = order[q] after classWordsLossF32(grad): with dZ_c = Z_c,
 *   dHn[perm[p]] += (dZ_c · U_c)[p - p0]      (Z_c = Hp_c · U_cᵀ: dHp_c = dZ_c · U_c)
 *   dU_c [s, H] += dZ_cᵀ · Hp_c;   db2_c += Σ rows of dZ_c
 * Nothing to do for a one-word class. scratch: 2·n·H floats of this thread plus
 * gemmScratchBytes() at gemmScratch.
 */
export function classWordsBackwardF32(
  dHn: usize, dU: usize, db2: usize, Z: usize, Hn: usize, U: usize, plan: usize, C: i32, N: i32, H: i32,
  order: usize, q: i32, scratch: usize, gemmScratch: usize,
): void {
  const c = i32at(order, q);
  const rowStart = plan;
  const wordStart = plan + (<usize>(C + 1) << 2);
  const zStart = plan + (<usize>(2 * C + 2) << 2);
  const perm = plan + (<usize>(3 * C + 3) << 2);
  const p0 = i32at(rowStart, c);
  const n = i32at(rowStart, c + 1) - p0;
  if (n <= 0) return;
  const w0 = i32at(wordStart, c);
  const s = i32at(wordStart, c + 1) - w0;
  if (s == 1) return;
  const z = Z + (<usize>i32at(zStart, c) << 2);
  const hp = scratch;
  const dhp = scratch + <usize>n * H * 4;
  gatherSorted(hp, Hn, perm, p0, n, H);
  const Uc = U + <usize>w0 * H * 4;
  // dHp_c [n, H] = dZ_c [n, s] · U_c [s, H]  (few rows: U_c is read in place)
  gemmF32(dhp, z, Uc, H, s, H, n, H, s, 0, 0, 0, gemmScratch);
  // dU_c [s, H] += dZ_cᵀ · Hp_c  (dZ_c stored [n, s] = [K, M])
  gemmF32(dU + <usize>w0 * H * 4, z, hp, H, s, H, s, H, n, 1, 0, 1, gemmScratch);
  sumRowsF32(db2 + (<usize>w0 << 2), z, n, s, s);
  // dHn[perm[p]] += dHp_c[p - p0]: each row of Hn belongs to one class
  const rowBytes = <usize>H * 4;
  for (let i = 0; i < n; i++) {
    const d = dHn + <usize>i32at(perm, p0 + i) * rowBytes;
    const src = dhp + <usize>i * rowBytes;
    let j = 0;
    for (; j + 4 <= H; j += 4) v128.store(d + (<usize>j << 2), f32x4.add(v128.load(d + (<usize>j << 2)), v128.load(src + (<usize>j << 2))));
    for (; j < H; j++) store<f32>(d + (<usize>j << 2), load<f32>(d + (<usize>j << 2)) + load<f32>(src + (<usize>j << 2)));
  }
}
