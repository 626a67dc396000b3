// Dropout masks from a counter-based hash, and the element-wise product that applies them.
// Legend: n element count; i element index; k0, k1 the 64-bit key of one mask (two words drawn
// from the trainer's seeded Rng); thr the drop threshold round(P·2^32).
//   u(i) = fmix32(fmix32(i ^ k0) ^ k1)          (murmur3's finaliser, twice: a keyed bijection)
//   mask[i] = u(i) < thr ? 0 : keep            (keep = 1/(1-P), so P(drop) = thr / 2^32 ≈ P)
// Element i's value depends on (k0, k1, i) alone, so any split of [0, n) across threads gives the
// same mask, and src/kernels/ref-fused.ts computes the same bits with Math.imul.
// Pointers are byte offsets; nothing allocates.
import { loadPartial, storePartial } from './vmath';

@inline function fmix4(h: v128): v128 {
  h = v128.xor(h, i32x4.shr_u(h, 16));
  h = i32x4.mul(h, i32x4.splat(0x85ebca6b));
  h = v128.xor(h, i32x4.shr_u(h, 13));
  h = i32x4.mul(h, i32x4.splat(0xc2b2ae35));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

/**
 * mask[i] for i in [i0, i1) of a mask of n ≥ i1 elements (see the top of the file): 0 where
 * u(i) < thr (unsigned), else keep.
 */
export function dropoutMaskF32(mask: usize, i0: i32, i1: i32, k0: u32, k1: u32, thr: u32, keep: f32): void {
  const kv0 = i32x4.splat(k0);
  const kv1 = i32x4.splat(k1);
  const tv = i32x4.splat(thr);
  const keepv = f32x4.splat(keep);
  const zero = f32x4.splat(0);
  const step = i32x4.splat(4);
  let idx = i32x4.add(i32x4.splat(i0), i32x4(0, 1, 2, 3));
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const u = fmix4(v128.xor(fmix4(v128.xor(idx, kv0)), kv1));
    v128.store(mask + (<usize>i << 2), v128.bitselect(zero, keepv, i32x4.lt_u(u, tv)));
    idx = i32x4.add(idx, step);
  }
  if (i < i1) {
    const u = fmix4(v128.xor(fmix4(v128.xor(idx, kv0)), kv1));
    storePartial(mask + (<usize>i << 2), v128.bitselect(zero, keepv, i32x4.lt_u(u, tv)), i1 - i);
  }
}

/** y[n] = x[n] ⊙ m[n] (dropout forward with a mask, and its backward dx = dy ⊙ m); y may be x. */
export function mulF32(y: usize, x: usize, m: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.mul(v128.load(x + o), v128.load(m + o)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    storePartial(y + o, f32x4.mul(loadPartial(x + o, n - i), loadPartial(m + o, n - i)), n - i);
  }
}
