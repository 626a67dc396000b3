// Element-wise and row-wise f32 kernels: activations, bias, row sums, embedding rows, sum of
// squares, optimizer updates. Legend: n element count; R rows, C columns; ld row stride
// (elements). Pointers are byte offsets; nothing allocates. Tails (n % 4) go through the same
// lane arithmetic (loadPartial/storePartial), so results do not depend on where callers split.
import { loadPartial, sigmoid4, storePartial, tanh4 } from './vmath';

/** Activation codes shared with src/kernels/wasm.ts. */
export const ACT_SIGMOID: i32 = 0;
export const ACT_TANH: i32 = 1;
export const ACT_RELU: i32 = 2;

@inline function actVec(x: v128, act: i32): v128 {
  if (act == ACT_SIGMOID) return sigmoid4(x);
  if (act == ACT_TANH) return tanh4(x);
  // relu: x > 0 ? x : 0 (NaN → 0, as the reference)
  return v128.and(x, f32x4.gt(x, f32x4.splat(0)));
}

/** y[n] = act(x[n]); y may equal x. */
export function actForwardF32(y: usize, x: usize, n: i32, act: i32): void {
  let i = 0;
  if (act == ACT_SIGMOID) {
    for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), sigmoid4(v128.load(x + (<usize>i << 2))));
  } else if (act == ACT_TANH) {
    for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), tanh4(v128.load(x + (<usize>i << 2))));
  } else {
    for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), actVec(v128.load(x + (<usize>i << 2)), ACT_RELU));
  }
  if (i < n) storePartial(y + (<usize>i << 2), actVec(loadPartial(x + (<usize>i << 2), n - i), act), n - i);
}

@inline function actGrad(y: v128, dy: v128, act: i32): v128 {
  if (act == ACT_SIGMOID) return f32x4.mul(f32x4.mul(dy, y), f32x4.sub(f32x4.splat(1), y)); // dy·y(1-y)
  // dy·(1-y²), as dy·(1-y)(1+y): one factor is exact (Sterbenz) and the other ≥ 1, so there is
  // no cancellation when |y| → 1
  if (act == ACT_TANH) return f32x4.mul(f32x4.mul(dy, f32x4.sub(f32x4.splat(1), y)), f32x4.add(f32x4.splat(1), y));
  return v128.and(dy, f32x4.gt(y, f32x4.splat(0))); // dy·[y>0]
}

/** dx[n] = dy · act'(·) written from the output y[n]; dx may equal dy. */
export function actBackwardF32(dx: usize, y: usize, dy: usize, n: i32, act: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, actGrad(v128.load(y + o), v128.load(dy + o), act));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storePartial(dx + o, actGrad(loadPartial(y + o, n - i), loadPartial(dy + o, n - i), act), n - i);
  }
}

/** Y[R,C] (row stride ld) += b[C] broadcast over rows. */
export function addBiasF32(Y: usize, b: usize, R: i32, C: i32, ld: i32): void {
  for (let r = 0; r < R; r++) {
    const y = Y + <usize>r * ld * 4;
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>c << 2;
      v128.store(y + o, f32x4.add(v128.load(y + o), v128.load(b + o)));
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      store<f32>(y + o, load<f32>(y + o) + load<f32>(b + o));
    }
  }
}

/** db[C] += Σ_r dY[r,:] (row stride ld), rows added in increasing r. */
export function sumRowsF32(db: usize, dY: usize, R: i32, C: i32, ld: i32): void {
  for (let r = 0; r < R; r++) {
    const y = dY + <usize>r * ld * 4;
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>c << 2;
      v128.store(db + o, f32x4.add(v128.load(db + o), v128.load(y + o)));
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      store<f32>(db + o, load<f32>(db + o) + load<f32>(y + o));
    }
  }
}

/** out[R,C] = table[ids[r], :]; ids is i32[R]; the caller checks the ids. */
export function gatherRowsF32(out: usize, table: usize, ids: usize, R: i32, C: i32): void {
  const rowBytes = <usize>C * 4;
  for (let r = 0; r < R; r++) {
    const id = load<i32>(ids + (<usize>r << 2));
    memory.copy(out + <usize>r * rowBytes, table + <usize>id * rowBytes, rowBytes);
  }
}

/** dTable[ids[r], :] += dOut[r, :] for r in increasing order; ids is i32[R]. */
export function scatterAddRowsF32(dTable: usize, dOut: usize, ids: usize, R: i32, C: i32): void {
  const rowBytes = <usize>C * 4;
  for (let r = 0; r < R; r++) {
    const d = dTable + <usize>load<i32>(ids + (<usize>r << 2)) * rowBytes;
    const s = dOut + <usize>r * rowBytes;
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>c << 2;
      v128.store(d + o, f32x4.add(v128.load(d + o), v128.load(s + o)));
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      store<f32>(d + o, load<f32>(d + o) + load<f32>(s + o));
    }
  }
}

/** Elements per sumSquares chunk: partial sums are per chunk, so any split gives one result. */
export const SUMSQ_CHUNK: i32 = 4096;

/**
 * partials[q] (f64) = Σ x[i]² over chunk q = [q·SUMSQ_CHUNK, min(n, (q+1)·SUMSQ_CHUNK)) for
 * q in [q0, q1). Squares are exact in f64 (24-bit mantissas); four f64 lanes per chunk are
 * combined in a fixed order. The caller adds the partials in increasing q.
 */
export function sumSquaresF32(partials: usize, x: usize, n: i32, q0: i32, q1: i32): void {
  for (let q = q0; q < q1; q++) {
    const i0 = q * SUMSQ_CHUNK;
    const i1 = min(n, i0 + SUMSQ_CHUNK);
    let s0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    let i = i0;
    for (; i + 4 <= i1; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
      s0 = f64x2.add(s0, f64x2.mul(lo, lo));
      s1 = f64x2.add(s1, f64x2.mul(hi, hi));
    }
    let s = (f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1)) + (f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1));
    for (; i < i1; i++) {
      const v = <f64>load<f32>(x + (<usize>i << 2));
      s += v * v;
    }
    store<f64>(partials + (<usize>q << 3), s);
  }
}

/** x[n] = 0 (bulk memory fill). */
export function zeroF32(x: usize, n: i32): void {
  memory.fill(x, 0, <usize>n << 2);
}

/** x[n] *= a. */
export function scaleF32(x: usize, a: f32, n: i32): void {
  const av = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, f32x4.mul(v128.load(x + o), av));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storePartial(x + o, f32x4.mul(loadPartial(x + o, n - i), av), n - i);
  }
}

/** SGD: w[n] -= lr · g[n]. */
export function sgdF32(w: usize, g: usize, lr: f32, n: i32): void {
  const lv = f32x4.splat(lr);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(w + o, f32x4.sub(v128.load(w + o), f32x4.mul(lv, v128.load(g + o))));
  }
  if (i < n) {
    const o = <usize>i << 2;
    const c = n - i;
    storePartial(w + o, f32x4.sub(loadPartial(w + o, c), f32x4.mul(lv, loadPartial(g + o, c))), c);
  }
}

/** Adagrad: s[n] += g²; w[n] -= lr · g / (sqrt(s) + eps). */
export function adagradF32(w: usize, s: usize, g: usize, lr: f32, eps: f32, n: i32): void {
  const lv = f32x4.splat(lr);
  const ev = f32x4.splat(eps);
  for (let i = 0; i < n; i += 4) {
    const o = <usize>i << 2;
    const cnt = min(4, n - i);
    const full = cnt == 4;
    const gv = full ? v128.load(g + o) : loadPartial(g + o, cnt);
    const sv = f32x4.add(full ? v128.load(s + o) : loadPartial(s + o, cnt), f32x4.mul(gv, gv));
    const wv0 = full ? v128.load(w + o) : loadPartial(w + o, cnt);
    const wv = f32x4.sub(wv0, f32x4.div(f32x4.mul(lv, gv), f32x4.add(f32x4.sqrt(sv), ev)));
    if (full) {
      v128.store(s + o, sv);
      v128.store(w + o, wv);
    } else {
      storePartial(s + o, sv, cnt);
      storePartial(w + o, wv, cnt);
    }
  }
}

/**
 * Adam: m = b1·m + a1·g; v = b2·v + a2·g²; w -= lr·(m/c1) / (sqrt(v/c2) + eps), where the
 * caller computes a1 = 1-b1, a2 = 1-b2 (in float64: 1 - f32(0.999) would lose 4 digits) and
 * the bias corrections c1 = 1 - b1^t, c2 = 1 - b2^t.
 */
export function adamF32(
  w: usize, m: usize, v: usize, g: usize,
  lr: f32, b1: f32, b2: f32, a1s: f32, a2s: f32, eps: f32, c1: f32, c2: f32, n: i32,
): void {
  const lrv = f32x4.splat(lr), b1v = f32x4.splat(b1), b2v = f32x4.splat(b2);
  const a1 = f32x4.splat(a1s), a2 = f32x4.splat(a2s);
  const c1v = f32x4.splat(c1), c2v = f32x4.splat(c2), ev = f32x4.splat(eps);
  let i = 0;
  for (; i < n; i += 4) {
    const o = <usize>i << 2;
    const cnt = min(4, n - i);
    const full = cnt == 4;
    const gv = full ? v128.load(g + o) : loadPartial(g + o, cnt);
    let mv = full ? v128.load(m + o) : loadPartial(m + o, cnt);
    let vv = full ? v128.load(v + o) : loadPartial(v + o, cnt);
    let wv = full ? v128.load(w + o) : loadPartial(w + o, cnt);
    mv = f32x4.add(f32x4.mul(b1v, mv), f32x4.mul(a1, gv));
    vv = f32x4.add(f32x4.mul(b2v, vv), f32x4.mul(a2, f32x4.mul(gv, gv)));
    const num = f32x4.mul(lrv, f32x4.div(mv, c1v));
    wv = f32x4.sub(wv, f32x4.div(num, f32x4.add(f32x4.sqrt(f32x4.div(vv, c2v)), ev)));
    if (full) {
      v128.store(m + o, mv);
      v128.store(v + o, vv);
      v128.store(w + o, wv);
    } else {
      storePartial(m + o, mv, cnt);
      storePartial(v + o, vv, cnt);
      storePartial(w + o, wv, cnt);
    }
  }
}
