// Packed single-precision GEMM, BLIS style: C[M,N] = beta*C + op(A)·op(B), beta ∈ {0, 1}.
// Legend: M, N, K matrix dims; MR×NR register tile; MC, KC, NC cache blocks; ld* row strides
// in elements. Every pointer is a byte offset into the shared memory; nothing allocates.
//
// Loop nest (outermost first): jc over N by NC, pc over K by KC (pack op(B)[pc:+kc, jc:+nc]
// into NR-wide panels), ic over M by MC (pack op(A)[ic:+mc, pc:+kc] into MR-tall panels),
// jr over the B panels, ir over the A panels, then the MR×NR micro-kernel over kc.
// Packing pads edge panels with zeros and absorbs the transposes, so the micro-kernel has a
// single shape. Edge tiles are computed into a scratch tile and copied; the arithmetic per C
// element (Σ over kc in k order, then C + that) is identical for full and edge tiles, so the
// result does not depend on how callers split M or N across threads.
//
// V8 gives wasm about 15 vector registers: 6×8 with relaxed_madd (12 accumulators + 2 B + 1 A)
// and 5×8 with mul+add (10 + 2 + 1 + 1 temporary) fit; larger tiles spill. No remainder loops in
// the micro-kernels (measured: V8 spills). Measured on Zen 3 (700×200×10000, one thread):
// 6×8 FMA, k step 1: ~39 GFLOP/s (unrolled by 2: V8 interleaves the halves, spills, ~37);
// 5×8 mul+add, k step 1: ~26; unrolled by 2: ~36 (a few spills, but half the loop overhead);
// 4×8 mul+add unrolled by 2: no spills, ~29.

import { loadPartial, madd4, storePartial } from './vmath';

/** Register tile height: 6 rows with fused multiply-add, 5 without. */
export const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 5;
/** Register tile width: two f32x4 vectors. */
export const NR: i32 = 8;
/** Depth of a packed block (kc ≤ KC). */
export const KC: i32 = 256;
/** Rows of a packed A block (multiple of MR); MC×KC floats stay in L2. */
export const MC: i32 = MR * 24;
/** Columns of a packed B block (multiple of NR); KC×NC floats stay in L3. */
export const NC: i32 = 2048;

/** Bytes of per-thread scratch that gemmF32 needs: packed A, packed B, one edge tile. */
export function gemmScratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

/** Register tile height of this build (5 or 6). */
export function gemmMR(): i32 {
  return MR;
}

// Pack op(A)[i0:i0+mc, k0:k0+kc] into ceil(mc/MR) panels, panel p is [kcp, MR] (row k holds
// MR consecutive rows of op(A)); rows past mc, and row kc when kc is odd, are zero. op(A)[i,k] = A[i*lda + k] or, when
// transA, A[k*lda + i] (A stored [K, M]).
function packA(dst: usize, A: usize, lda: i32, transA: i32, i0: i32, k0: i32, mc: i32, kc: i32): void {
  for (let ip = 0; ip < mc; ip += MR) {
    const mr = min(MR, mc - ip);
    if (transA) {
      // Each k contributes MR contiguous elements of row k of A.
      let src = A + (<usize>k0 * lda + i0 + ip) * 4;
      let d = dst;
      if (mr == MR) {
        for (let k = 0; k < kc; k++) {
          for (let r = 0; r < MR; r++) store<f32>(d + r * 4, load<f32>(src + r * 4));
          src += <usize>lda * 4;
          d += MR * 4;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let r = 0; r < MR; r++) store<f32>(d + r * 4, r < mr ? load<f32>(src + r * 4) : 0);
          src += <usize>lda * 4;
          d += MR * 4;
        }
      }
    } else {
      // Row r of the panel is a contiguous run of kc elements of A; write it with stride MR.
      for (let r = 0; r < MR; r++) {
        let d = dst + r * 4;
        if (r < mr) {
          let src = A + (<usize>(i0 + ip + r) * lda + k0) * 4;
          for (let k = 0; k < kc; k++) {
            store<f32>(d, load<f32>(src));
            src += 4;
            d += MR * 4;
          }
        } else {
          for (let k = 0; k < kc; k++) {
            store<f32>(d, 0);
            d += MR * 4;
          }
        }
      }
    }
    // Odd depth: one zero row so the micro-kernel can step k by 2.
    if (kc & 1) memory.fill(dst + <usize>kc * MR * 4, 0, MR * 4);
    dst += <usize>((kc + 1) & ~1) * MR * 4;
  }
}

// Pack op(B)[k0:k0+kc, j0:j0+nc] into ceil(nc/NR) panels, panel p is [kcp, NR]; columns past
// nc, and row kc when kc is odd, are zero. op(B)[k,j] = B[k*ldb + j] or, when transB, B[j*ldb + k] (B stored [N, K]).
function packB(dst: usize, B: usize, ldb: i32, transB: i32, k0: i32, j0: i32, kc: i32, nc: i32): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const nr = min(NR, nc - jp);
    if (!transB) {
      let src = B + (<usize>k0 * ldb + j0 + jp) * 4;
      let d = dst;
      if (nr == NR) {
        for (let k = 0; k < kc; k++) {
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
          src += <usize>ldb * 4;
          d += NR * 4;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let c = 0; c < NR; c++) store<f32>(d + c * 4, c < nr ? load<f32>(src + c * 4) : 0);
          src += <usize>ldb * 4;
          d += NR * 4;
        }
      }
    } else if (nr == NR) {
      // Transpose 4 columns × 4 k at a time: rows of B are columns of op(B).
      const s0 = B + (<usize>(j0 + jp) * ldb + k0) * 4;
      const ld = <usize>ldb * 4;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const kb = <usize>k * 4;
        for (let h = 0; h < 2; h++) {
          const s = s0 + <usize>h * 4 * ld + kb;
          const r0 = v128.load(s);
          const r1 = v128.load(s + ld);
          const r2 = v128.load(s + 2 * ld);
          const r3 = v128.load(s + 3 * ld);
          // r_c = [B[c,k..k+3]] → t_k = [B[0..3,k]]
          const t01lo = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5); // c0k0 c1k0 c0k1 c1k1
          const t23lo = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5); // c2k0 c3k0 c2k1 c3k1
          const t01hi = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
          const t23hi = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          const d = dst + <usize>k * NR * 4 + <usize>h * 16;
          v128.store(d, v128.shuffle<f32>(t01lo, t23lo, 0, 1, 4, 5));
          v128.store(d + NR * 4, v128.shuffle<f32>(t01lo, t23lo, 2, 3, 6, 7));
          v128.store(d + 2 * NR * 4, v128.shuffle<f32>(t01hi, t23hi, 0, 1, 4, 5));
          v128.store(d + 3 * NR * 4, v128.shuffle<f32>(t01hi, t23hi, 2, 3, 6, 7));
        }
      }
      for (; k < kc; k++) {
        const d = dst + <usize>k * NR * 4;
        for (let c = 0; c < NR; c++) store<f32>(d + c * 4, load<f32>(s0 + <usize>c * ld + <usize>k * 4));
      }
    } else {
      for (let c = 0; c < NR; c++) {
        let d = dst + c * 4;
        if (c < nr) {
          let src = B + (<usize>(j0 + jp + c) * ldb + k0) * 4;
          for (let k = 0; k < kc; k++) {
            store<f32>(d, load<f32>(src));
            src += 4;
            d += NR * 4;
          }
        } else {
          for (let k = 0; k < kc; k++) {
            store<f32>(d, 0);
            d += NR * 4;
          }
        }
      }
    }
    if (kc & 1) memory.fill(dst + <usize>kc * NR * 4, 0, NR * 4);
    dst += <usize>((kc + 1) & ~1) * NR * 4;
  }
}

// C[6,8] (row stride ldcb bytes) = (acc ? C : 0) + Σ_k a[k,0:6]ᵀ b[k,0:8], fused multiply-add.
// a is an A panel [kc, 6]; b holds 8 columns per k, rows bs bytes apart (a packed B panel:
// bs = 32; B itself: its row stride). Not unrolled: V8 interleaves an unrolled body and spills
// (measured slower).
function micro6x8(kc: i32, a: usize, b: usize, bs: usize, c: usize, ldcb: usize, acc: bool): void {
  let c00 = f32x4.splat(0);
  let c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  let c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = v128.relaxed_madd<f32>(x, b0, c00);
    c01 = v128.relaxed_madd<f32>(x, b1, c01);
    x = v128.load32_splat(a, 4);
    c10 = v128.relaxed_madd<f32>(x, b0, c10);
    c11 = v128.relaxed_madd<f32>(x, b1, c11);
    x = v128.load32_splat(a, 8);
    c20 = v128.relaxed_madd<f32>(x, b0, c20);
    c21 = v128.relaxed_madd<f32>(x, b1, c21);
    x = v128.load32_splat(a, 12);
    c30 = v128.relaxed_madd<f32>(x, b0, c30);
    c31 = v128.relaxed_madd<f32>(x, b1, c31);
    x = v128.load32_splat(a, 16);
    c40 = v128.relaxed_madd<f32>(x, b0, c40);
    c41 = v128.relaxed_madd<f32>(x, b1, c41);
    x = v128.load32_splat(a, 20);
    c50 = v128.relaxed_madd<f32>(x, b0, c50);
    c51 = v128.relaxed_madd<f32>(x, b1, c51);
    a += 24;
    b += bs;
  }
  if (acc) {
    v128.store(c, f32x4.add(v128.load(c), c00)); v128.store(c, f32x4.add(v128.load(c, 16), c01), 16); c += ldcb;
    v128.store(c, f32x4.add(v128.load(c), c10)); v128.store(c, f32x4.add(v128.load(c, 16), c11), 16); c += ldcb;
    v128.store(c, f32x4.add(v128.load(c), c20)); v128.store(c, f32x4.add(v128.load(c, 16), c21), 16); c += ldcb;
    v128.store(c, f32x4.add(v128.load(c), c30)); v128.store(c, f32x4.add(v128.load(c, 16), c31), 16); c += ldcb;
    v128.store(c, f32x4.add(v128.load(c), c40)); v128.store(c, f32x4.add(v128.load(c, 16), c41), 16); c += ldcb;
    v128.store(c, f32x4.add(v128.load(c), c50)); v128.store(c, f32x4.add(v128.load(c, 16), c51), 16);
  } else {
    v128.store(c, c00); v128.store(c, c01, 16); c += ldcb;
    v128.store(c, c10); v128.store(c, c11, 16); c += ldcb;
    v128.store(c, c20); v128.store(c, c21, 16); c += ldcb;
    v128.store(c, c30); v128.store(c, c31, 16); c += ldcb;
    v128.store(c, c40); v128.store(c, c41, 16); c += ldcb;
    v128.store(c, c50); v128.store(c, c51, 16);
  }
}

// C[5,8] (row stride ldcb bytes) = (acc ? C : 0) + Σ_k a[k,0:5]ᵀ b[k,0:8], separate mul and add.
// kc is even (packing pads with a zero row) and k steps by 2: without FMA the loop overhead
// dominates (26 → 36 GFLOP/s measured, see the top of the file). Rows of b are bs bytes apart.
function micro5x8(kc: i32, a: usize, b: usize, bs: usize, c: usize, ldcb: usize, acc: bool): void {
  let c00 = f32x4.splat(0);
  let c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  let c30 = c00, c31 = c00, c40 = c00, c41 = c00;
  for (let k = 0; k < kc; k += 2) {
    let b0 = v128.load(b);
    let b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(x, b0));
    c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(x, b0));
    c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 8);
    c20 = f32x4.add(c20, f32x4.mul(x, b0));
    c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 12);
    c30 = f32x4.add(c30, f32x4.mul(x, b0));
    c31 = f32x4.add(c31, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 16);
    c40 = f32x4.add(c40, f32x4.mul(x, b0));
    c41 = f32x4.add(c41, f32x4.mul(x, b1));
    b0 = v128.load(b + bs);
    b1 = v128.load(b + bs, 16);
    x = v128.load32_splat(a, 20);
    c00 = f32x4.add(c00, f32x4.mul(x, b0));
    c01 = f32x4.add(c01, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 24);
    c10 = f32x4.add(c10, f32x4.mul(x, b0));
    c11 = f32x4.add(c11, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 28);
    c20 = f32x4.add(c20, f32x4.mul(x, b0));
    c21 = f32x4.add(c21, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 32);
    c30 = f32x4.add(c30, f32x4.mul(x, b0));
    c31 = f32x4.add(c31, f32x4.mul(x, b1));
    x = v128.load32_splat(a, 36);
    c40 = f32x4.add(c40, f32x4.mul(x, b0));
    c41 = f32x4.add(c41, f32x4.mul(x, b1));
    a += 40;
    b += bs << 1;
  }
  if (acc) {
    v128.store(c, f32x4.add(v128.load(c), c00)); v128.store(c, f32x4.add(v128.load(c, 16), c01), 16); c += ldcb;
    v128.store(c, f32x4.add(v128.load(c), c10)); v128.store(c, f32x4.add(v128.load(c, 16), c11), 16); c += ldcb;
    v128.store(c, f32x4.add(v128.load(c), c20)); v128.store(c, f32x4.add(v128.load(c, 16), c21), 16); c += ldcb;
    v128.store(c, f32x4.add(v128.load(c), c30)); v128.store(c, f32x4.add(v128.load(c, 16), c31), 16); c += ldcb;
    v128.store(c, f32x4.add(v128.load(c), c40)); v128.store(c, f32x4.add(v128.load(c, 16), c41), 16);
  } else {
    v128.store(c, c00); v128.store(c, c01, 16); c += ldcb;
    v128.store(c, c10); v128.store(c, c11, 16); c += ldcb;
    v128.store(c, c20); v128.store(c, c21, 16); c += ldcb;
    v128.store(c, c30); v128.store(c, c31, 16); c += ldcb;
    v128.store(c, c40); v128.store(c, c41, 16);
  }
}

// @inline: one call site per micro-kernel, chosen at compile time.
@inline function micro(kc: i32, a: usize, b: usize, bs: usize, c: usize, ldcb: usize, acc: bool): void {
  if (ASC_FEATURE_RELAXED_SIMD) micro6x8(kc, a, b, bs, c, ldcb, acc);
  else micro5x8(kc, a, b, bs, c, ldcb, acc);
}

/**
 * Up to this many rows of op(A), a GEMM with an untransposed B reads B in place instead of
 * packing it: packing K×N floats costs about as much as multiplying by a few row panels (the
 * recurrent step, 20×200 · 200×800, and single-stream evaluation, M = 1).
 */
export const DIRECT_B_MAX_M: i32 = MR * 4;

/**
 * C[M,N] = beta*C + op(A)·op(B) with row strides ldc, lda, ldb (elements).
 * op(A) is A[M,K] (A[i*lda+k]) or, when transA, A stored [K,M] (A[k*lda+i]);
 * op(B) is B[K,N] (B[k*ldb+j]) or, when transB, B stored [N,K] (B[j*ldb+k]).
 * scratch: gemmScratchBytes() bytes owned by the calling thread, 16-byte aligned.
 * Threads call it on disjoint row or column blocks (offset C/A/B and shrink M or N).
 */
export function gemmF32(
  C: usize, A: usize, B: usize, ldc: i32, lda: i32, ldb: i32,
  M: i32, N: i32, K: i32, transA: i32, transB: i32, beta: i32, scratch: usize,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (beta == 0) {
      for (let i = 0; i < M; i++) memory.fill(C + <usize>i * ldc * 4, 0, <usize>N * 4);
    }
    return;
  }
  const Ap = scratch;
  const Bp = Ap + <usize>MC * KC * 4;
  const T = Bp + <usize>KC * NC * 4;
  const ldcb = <usize>ldc * 4;
  // Read B in place (see DIRECT_B_MAX_M); the mul+add kernel steps k by 2, so K must be even there
  // (a padding row of B would be memory past B). Edge column panels are still packed (zero padded).
  const direct = !transB && M <= DIRECT_B_MAX_M && (ASC_FEATURE_RELAXED_SIMD || (K & 1) == 0);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const acc = pc > 0 || beta != 0;
      const kcp = (kc + 1) & ~1; // panel depth, padded to even with a zero row
      if (!direct) packB(Bp, B, ldb, transB, pc, jc, kc, nc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(Ap, A, lda, transA, ic, pc, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          let b = Bp + <usize>jr * kcp * 4;
          let bs: usize = NR * 4;
          // The 6×8 kernel steps k by 1 and reads exactly kc rows of B in place; packed panels
          // carry a zero row for odd kc (the 5×8 kernel's k step of 2).
          let kk = kcp;
          if (direct) {
            if (nr == NR) {
              b = B + (<usize>pc * ldb + jc + jr) * 4;
              bs = <usize>ldb * 4;
              kk = kc;
            } else {
              packB(Bp, B, ldb, 0, pc, jc + jr, kc, nr);
              b = Bp;
            }
          }
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const a = Ap + <usize>ir * kcp * 4;
            const c = C + (<usize>(ic + ir) * ldc + jc + jr) * 4;
            if (mr == MR && nr == NR) {
              micro(kk, a, b, bs, c, ldcb, acc);
            } else {
              micro(kk, a, b, bs, T, NR * 4, false);
              for (let r = 0; r < mr; r++) {
                const cr = c + <usize>r * ldcb;
                const tr = T + <usize>r * NR * 4;
                if (acc) {
                  for (let j = 0; j < nr; j++) store<f32>(cr + j * 4, load<f32>(cr + j * 4) + load<f32>(tr + j * 4));
                } else {
                  for (let j = 0; j < nr; j++) store<f32>(cr + j * 4, load<f32>(tr + j * 4));
                }
              }
            }
          }
        }
      }
    }
  }
}

/**
 * One row: C[1,N] = beta*C + a[1,K]·op(B), for M = 1 (single-stream evaluation, generation,
 * scoring), where the MR×NR tile would multiply MR-1 rows of zeros. op(B) is B[K,N]
 * (B[k*ldb+j]) or, when transB, B stored [N,K] (B[j*ldb+k]). Each C element's arithmetic is
 * fixed (lanes over j in k order; or, transposed, four partial sums over k added pairwise), so a
 * split of the columns across threads does not change a bit.
 */
export function gemvF32(C: usize, A: usize, B: usize, ldb: i32, N: i32, K: i32, transB: i32, beta: i32): void {
  if (N <= 0) return;
  const ldbb = <usize>ldb * 4;
  if (!transB) {
    let j = 0;
    for (; j + 16 <= N; j += 16) {
      let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
      let b = B + <usize>j * 4;
      for (let k = 0; k < K; k++) {
        const x = v128.load32_splat(A + (<usize>k << 2));
        c0 = madd4(x, v128.load(b), c0);
        c1 = madd4(x, v128.load(b, 16), c1);
        c2 = madd4(x, v128.load(b, 32), c2);
        c3 = madd4(x, v128.load(b, 48), c3);
        b += ldbb;
      }
      const c = C + <usize>j * 4;
      if (beta) {
        c0 = f32x4.add(v128.load(c), c0); c1 = f32x4.add(v128.load(c, 16), c1);
        c2 = f32x4.add(v128.load(c, 32), c2); c3 = f32x4.add(v128.load(c, 48), c3);
      }
      v128.store(c, c0); v128.store(c, c1, 16); v128.store(c, c2, 32); v128.store(c, c3, 48);
    }
    for (; j < N; j += 4) {
      const n = min(4, N - j);
      let acc = f32x4.splat(0);
      let b = B + <usize>j * 4;
      for (let k = 0; k < K; k++) {
        const bv = n == 4 ? v128.load(b) : loadPartial(b, n);
        acc = madd4(v128.load32_splat(A + (<usize>k << 2)), bv, acc);
        b += ldbb;
      }
      const c = C + <usize>j * 4;
      if (beta) acc = f32x4.add(n == 4 ? v128.load(c) : loadPartial(c, n), acc);
      if (n == 4) v128.store(c, acc);
      else storePartial(c, acc, n);
    }
  } else {
    const K4 = K & ~3;
    for (let j = 0; j < N; j++) {
      const b = B + <usize>j * ldbb;
      let acc = f32x4.splat(0);
      for (let k = 0; k < K4; k += 4) acc = madd4(v128.load(A + (<usize>k << 2)), v128.load(b + (<usize>k << 2)), acc);
      if (K4 < K) acc = madd4(loadPartial(A + (<usize>K4 << 2), K - K4), loadPartial(b + (<usize>K4 << 2), K - K4), acc);
      let s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
      const c = C + <usize>j * 4;
      if (beta) s = load<f32>(c) + s;
      store<f32>(c, s);
    }
  }
}
