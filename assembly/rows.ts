// Row-sparse gradients: a tensor [R, width] of the parameter arena whose gradient is non-zero
// only in a few rows (the embedding rows of a batch's inputs, the inner nodes its targets' paths
// visit), given as a list of row indices (ascending, unique). Clipping, the SGD / Adagrad updates
// and clearing the gradient visit those rows only; on the others they would add 0.
// Legend: width floats per row; rows i32 [count]. Pointers are byte offsets; nothing allocates.
// Each row goes through the lane arithmetic of the dense kernels (sumSquares: f64 squares summed
// per row, rows in list order).
import { loadPartial, storePartial } from './vmath';

@inline function rowAt(x: usize, rows: usize, q: i32, width: i32): usize {
  return x + <usize>load<i32>(rows + (<usize>q << 2)) * width * 4;
}

/** Σ x² over the listed rows (f64; per row four lanes summed, rows added in list order). */
export function sumSquaresRowsF32(x: usize, width: i32, rows: usize, count: i32): f64 {
  let total: f64 = 0;
  for (let q = 0; q < count; q++) {
    const p = rowAt(x, rows, q, width);
    let s0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    let i = 0;
    for (; i + 4 <= width; i += 4) {
      const v = v128.load(p + (<usize>i << 2));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
      s0 = f64x2.add(s0, f64x2.mul(lo, lo));
      s1 = f64x2.add(s1, f64x2.mul(hi, hi));
    }
    let s = (f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1)) + (f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1));
    for (; i < width; i++) {
      const v = <f64>load<f32>(p + (<usize>i << 2));
      s += v * v;
    }
    total += s;
  }
  return total;
}

/**
 * op over the listed rows of w (and g, s): 0: x *= a (scale); 1: x = 0 (zero);
 * 2: w -= a·g (SGD, a = lr); 3: s += g², w -= a·g / (sqrt(s) + eps) (Adagrad).
 */
export function rowsOpF32(op: i32, w: usize, g: usize, s: usize, a: f32, eps: f32, width: i32, rows: usize, count: i32): void {
  const av = f32x4.splat(a);
  const ev = f32x4.splat(eps);
  for (let q = 0; q < count; q++) {
    const off = <usize>load<i32>(rows + (<usize>q << 2)) * width * 4;
    const pw = w + off;
    if (op == 1) {
      memory.fill(pw, 0, <usize>width << 2);
      continue;
    }
    for (let i = 0; i < width; i += 4) {
      const o = <usize>i << 2;
      const cnt = min(4, width - i);
      const full = cnt == 4;
      const wv = full ? v128.load(pw + o) : loadPartial(pw + o, cnt);
      let out: v128;
      if (op == 0) {
        out = f32x4.mul(wv, av);
      } else {
        const gv = full ? v128.load(g + off + o) : loadPartial(g + off + o, cnt);
        if (op == 2) {
          out = f32x4.sub(wv, f32x4.mul(av, gv));
        } else {
          const sv = f32x4.add(full ? v128.load(s + off + o) : loadPartial(s + off + o, cnt), f32x4.mul(gv, gv));
          if (full) v128.store(s + off + o, sv);
          else storePartial(s + off + o, sv, cnt);
          out = f32x4.sub(wv, f32x4.div(f32x4.mul(av, gv), f32x4.add(f32x4.sqrt(sv), ev)));
        }
      }
      if (full) v128.store(pw + o, out);
      else storePartial(pw + o, out, cnt);
    }
  }
}
