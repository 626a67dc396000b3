// Vectorised f32 transcendental functions on f32x4 lanes, plus partial-vector load/store so that
// loop tails run through the very same lane arithmetic (a scalar tail would round differently,
// and results would then depend on where callers split an array across threads).
// Legend: n element count; cnt lanes in a partial vector (0 < cnt < 4).

// exp: x = n·ln2 + r with n = nearest(x·log2 e) and |r| ≤ ln2/2 (ln2 split in a high part with
// few mantissa bits, so n·LN2_HI is exact, and a low correction); e^r by the Cephes expf
// polynomial (relative error ~1e-7 on the reduced range); then scale by 2^n built in the exponent
// bits. Inputs are clamped to [-88, 88]: 2^n stays representable (n ∈ [-127, 127]; n = -127
// gives the bit pattern 0, so e^x below ~1e-38 returns 0). Max error 1 ulp on [-87.3, 88]
// (tested: ≤ 2 ulp asserted).
const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const EXP_LO: f32 = -88.0;
const EXP_HI: f32 = 88.0;
/** 1.5·2^23: adding it rounds an f32 of magnitude < 2^22 to an integer. */
const ROUND_MAGIC: f32 = 12582912.0;

/** a·b + c: one fused operation in the relaxed-simd build, mul then add otherwise. */
@inline export function madd4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return v128.relaxed_madd<f32>(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** e^x on four lanes (see above); NaN lanes stay NaN. */
@inline export function exp4(x: v128): v128 {
  // clamp with pmin/pmax (one instruction each; wasm min/max expand to ~7 on x64): the operand
  // order keeps NaN lanes NaN (pmin(a, b) = b < a ? b : a)
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(EXP_HI)), f32x4.splat(EXP_LO));
  // n = nearest(x·log2 e) by adding 1.5·2^23: the sum rounds to an integer, and n sits in the
  // low mantissa bits of t, so 2^n = (bits(t) + 127) << 23 (the magic's own bits shift out)
  const t = madd4(x, f32x4.splat(LOG2E), f32x4.splat(ROUND_MAGIC));
  const n = f32x4.sub(t, f32x4.splat(ROUND_MAGIC));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = madd4(p, r, f32x4.splat(1.3981999507e-3));
  p = madd4(p, r, f32x4.splat(8.3334519073e-3));
  p = madd4(p, r, f32x4.splat(4.1665795894e-2));
  p = madd4(p, r, f32x4.splat(1.6666665459e-1));
  p = madd4(p, r, f32x4.splat(5.0000001201e-1));
  // e^r = 1 + r + r²·p(r)
  const er = f32x4.add(madd4(f32x4.mul(r, r), p, r), f32x4.splat(1));
  const pow2n = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  return f32x4.mul(er, pow2n);
}

/** Logistic sigmoid 1 / (1 + e^-x) on four lanes. */
@inline export function sigmoid4(x: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), exp4(f32x4.neg(x))));
}

/**
 * tanh on four lanes: |x| < 0.625 by the Cephes tanhf odd polynomial x + x·z·P(z), z = x²
 * (no cancellation near 0); otherwise sign(x)·(1 - 2 / (e^{2|x|} + 1)).
 */
@inline export function tanh4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(x, f32x4.mul(f32x4.mul(x, z), p));
  const e = exp4(f32x4.add(ax, ax));
  const big = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
  // copy the sign of x onto big
  const signed = v128.or(big, v128.and(x, f32x4.splat(-0.0)));
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(0.625)));
}

/** The first cnt (1..3) floats at p in lanes 0..cnt-1, zeros elsewhere. */
@inline export function loadPartial(p: usize, cnt: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (cnt > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (cnt > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Store lanes 0..cnt-1 (1..3) of v to p. */
@inline export function storePartial(p: usize, v: v128, cnt: i32): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (cnt > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (cnt > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** y[i] = e^{x[i]} for i < n (exposed for the accuracy test; y may equal x). */
export function expF32(y: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), exp4(v128.load(x + (<usize>i << 2))));
  if (i < n) storePartial(y + (<usize>i << 2), exp4(loadPartial(x + (<usize>i << 2), n - i)), n - i);
}
