// The Elman recurrence over a whole segment in one call, for a block of streams: the per-step
// products (B rows × H × H) no longer cross into JavaScript or wake threads T times; each thread
// runs all T steps of its own streams (rows of every step), with no synchronisation between steps.
// Legend: T steps, B streams, H hidden; rows of a step block are streams, time-major blocks of
// B·H floats; [b0, b1) this call's streams. Pointers are byte offsets; nothing allocates.
// Each element's arithmetic is that of gemmF32 + actForwardF32 / actBackwardF32 on one row, so
// the result does not depend on how the streams are split across threads.
import { gemmF32 } from './gemm';
import { actBackwardF32, actForwardF32 } from './elementwise';

/**
 * Forward: Hs [(T+1)·B, H], block 0 = h(0); block t+1 holds the input part of the pre-activation
 * (W_e x(t) + b_e + b_h) on entry and h(t+1) on return, for streams [b0, b1):
 *   h(t) = act(a_in(t) + h(t-1)·W_hᵀ)          (WhT = W_hᵀ [H, H], read in place)
 * scratch: gemmScratchBytes() bytes of this thread.
 */
export function elmanSeqForwardF32(Hs: usize, WhT: usize, T: i32, B: i32, H: i32, b0: i32, b1: i32, act: i32, scratch: usize): void {
  const m = b1 - b0;
  if (m <= 0) return;
  const block = <usize>B * H * 4;
  let prev = Hs + <usize>b0 * H * 4;
  for (let t = 0; t < T; t++) {
    const cur = prev + block;
    // a(t) += h(t-1) · W_hᵀ:  cur [m, H] += prev [m, H] · WhT [H, H]
    gemmF32(cur, prev, WhT, H, H, H, m, H, H, 0, 0, 1, scratch);
    // h(t) = act(a(t)), in place
    actForwardF32(cur, cur, m * H, act);
    prev = cur;
  }
}

/**
 * Backward through time, streams [b0, b1): dA [T·B, H] holds dJ/dh(t) from the layer above
 * (its direct part) on entry and dJ/da(t) on return; Hs as left by the forward (h(t) in block
 * t+1); W_h [H, H] read in place:
 *   for t = T-1 … 0:  dh(t) += da(t+1) · W_h  (t < T-1);   da(t) = dh(t) ⊙ act'(h(t))
 */
export function elmanSeqBackwardF32(dA: usize, Hs: usize, Wh: usize, T: i32, B: i32, H: i32, b0: i32, b1: i32, act: i32, scratch: usize): void {
  const m = b1 - b0;
  if (m <= 0) return;
  const block = <usize>B * H * 4;
  const off = <usize>b0 * H * 4;
  for (let t = T - 1; t >= 0; t--) {
    const da = dA + <usize>t * block + off;
    // h(t) feeds a(t+1) = … + W_h h(t):  dh(t) [m, H] += da(t+1) [m, H] · W_h [H, H]
    if (t < T - 1) gemmF32(da, da + block, Wh, H, H, H, m, H, H, 0, 0, 1, scratch);
    // h(t) = act(a(t)):  da(t) = dh(t) ⊙ act'(a(t)), written from h(t)
    actBackwardF32(da, Hs + <usize>(t + 1) * block + off, da, m * H, act);
  }
}
