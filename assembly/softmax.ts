// Fused, max-subtracted softmax + cross-entropy (+ gradient) over rows of logits.
// Legend: R rows, C columns (vocab). Pointers are byte offsets; nothing allocates.
import { exp4, loadPartial, storePartial } from './vmath';

/**
 * For each row r in [r0, r1) of logits[R, C] with target t = targets[r] (i32, checked by the
 * caller): lp[r] (f64) = log softmax(z)[t] = z_t - max - log Σ_c e^{z_c - max}, the sum taken
 * in f64. When grad ≠ 0 the row is overwritten with dlogits = (p - onehot(t)) · scale.
 * Rows are independent, so threads take disjoint row ranges; the caller adds lp in row order.
 */
export function softmaxXentF32(
  logits: usize, targets: usize, lp: usize, r0: i32, r1: i32, C: i32, grad: i32, scale: f32,
): void {
  const rowBytes = <usize>C * 4;
  const nv = C & ~3; // columns covered by whole vectors
  for (let r = r0; r < r1; r++) {
    const z = logits + <usize>r * rowBytes;
    const t = load<i32>(targets + (<usize>r << 2));
    const zt = load<f32>(z + (<usize>t << 2));

    // max_c z_c, by pmax (one instruction; wasm's NaN-propagating max expands to ~7 on x64):
    // a NaN logit may be skipped here, but it makes the sum, the loss and the gradient NaN below
    let mv = f32x4.splat(-Infinity);
    for (let c = 0; c < nv; c += 4) mv = f32x4.pmax(mv, v128.load(z + (<usize>c << 2)));
    let zmax = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (let c = nv; c < C; c++) zmax = max(zmax, load<f32>(z + (<usize>c << 2)));
    const maxv = f32x4.splat(zmax);

    // Σ e^{z - max}: blocks of up to 16 vectors summed in f32x4 (relative error ≤ 16 ulp in
    // the worst case, ~1e-7 typically), block sums added in two f64x2 accumulators; when grad,
    // keep e^{z - max} in the row.
    let s0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    for (let c0 = 0; c0 < nv; c0 += 64) {
      const c1 = min(nv, c0 + 64);
      let b = f32x4.splat(0);
      for (let c = c0; c < c1; c += 4) {
        const o = <usize>c << 2;
        const e = exp4(f32x4.sub(v128.load(z + o), maxv));
        if (grad) v128.store(z + o, e);
        b = f32x4.add(b, e);
      }
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(b));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(b, b, 2, 3, 2, 3)));
    }
    if (nv < C) {
      // tail lanes past C are 0 → e^{-max}: mask them out of the sum
      const cnt = C - nv;
      const o = <usize>nv << 2;
      const e = exp4(f32x4.sub(loadPartial(z + o, cnt), maxv));
      if (grad) storePartial(z + o, e, cnt);
      const mask = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(cnt));
      const em = v128.and(e, mask);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(em));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(em, em, 2, 3, 2, 3)));
    }
    const sum = (f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1)) + (f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1));
    // log p_t = z_t - max - log Σ e^{z - max}
    store<f64>(lp + (<usize>r << 3), (<f64>zt - <f64>zmax) - Math.log(sum));

    if (grad) {
      // dJ/dz = (e^{z - max} / Σ - onehot(t)) · scale
      const k = f32x4.splat(<f32>(<f64>scale / sum));
      for (let c = 0; c < nv; c += 4) {
        const o = <usize>c << 2;
        v128.store(z + o, f32x4.mul(v128.load(z + o), k));
      }
      if (nv < C) {
        const o = <usize>nv << 2;
        storePartial(z + o, f32x4.mul(loadPartial(z + o, C - nv), k), C - nv);
      }
      const pt = z + (<usize>t << 2);
      store<f32>(pt, load<f32>(pt) - scale);
    }
  }
}
