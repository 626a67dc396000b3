// One GRU layer over a segment of T steps, as torch.nn.GRU (gate order r, z, n):
//   r = σ(W_ir x + b_ir + W_hr h(t-1) + b_hr)
//   z = σ(W_iz x + b_iz + W_hz h(t-1) + b_hz)
//   n = tanh(W_in x + b_in + r ⊙ (W_hn h(t-1) + b_hn))
//   h(t) = (1 - z) ⊙ n + z ⊙ h(t-1)
// PyTorch names: W_ih = weight_ih_l{k} [3H, I] (rows W_ir; W_iz; W_in), W_hh = weight_hh_l{k}
// [3H, H], b_ih = bias_ih_l{k} [3H], b_hh = bias_hh_l{k} [3H]. The carried state is h.
// Unlike the LSTM, b_hn sits inside r ⊙ (·), so the two biases are not interchangeable.
// Legend: T steps, B batch, N = T·B rows (time-major: row t·B + b), I input width, H hidden.

import type { Arr, Kernels } from '../kernels/kernels.js';
import type { Rng } from '../rng.js';
import type { ParamSpec } from './arena.js';
import { bindGated, gatedSpecs, initGated, type Alloc, type GatedWeights, type GradHObserver, type TensorView, type UnboundLayer } from './recurrent.js';

export type GruWeights = GatedWeights; // [3H, I], [3H, H], [3H], [3H]

/** What forward keeps for backward (sized for up to `rows` rows and `batch` streams). */
export interface GruCache {
  /** Input X [N, I] (a reference to the caller's buffer). */
  X: Arr;
  /** Input part W_ih x + b_ih [N, 3H], overwritten by the gates r, z, n. */
  Gi: Arr;
  /** Recurrent part W_hh h(t-1) + b_hh [N, 3H] (its n block, W_hn h + b_hn, is used by backward). */
  Gh: Arr;
  /** Hidden states [(T+1)·B, H]: block 0 is h(0) (carried in), block t+1 is h(t+1). */
  Hs: Arr;
  /** Backward scratch: dJ/d(input part) and dJ/d(recurrent part), [N, 3H] each. */
  dGi: Arr;
  dGh: Arr;
  /** W_hhᵀ [H, 3H], refreshed by each forward: the per-step product reads it in place. */
  WhhT: Arr;
}

export class GruLayer implements UnboundLayer {
  readonly stateWidth: number;
  private w!: GruWeights;
  private g!: GruWeights;

  constructor(readonly l: number, readonly I: number, readonly H: number) {
    this.stateWidth = H;
  }

  specs(): ParamSpec[] {
    return gatedSpecs(this.l, 3, this.I, this.H);
  }

  bind(w: TensorView, g: TensorView): void {
    this.w = bindGated(this.l, w);
    this.g = bindGated(this.l, g);
  }

  /** uniform(±1/√H) as torch.nn.GRU. */
  init(rng: Rng): void {
    initGated(this.w, this.H, rng);
  }

  newCache(alloc: Alloc, rows: number, batch: number): GruCache {
    const H = this.H;
    return {
      X: alloc(0), Gi: alloc(rows * 3 * H), Gh: alloc(rows * 3 * H), Hs: alloc((rows + batch) * H),
      dGi: alloc(rows * 3 * H), dGh: alloc(rows * 3 * H), WhhT: alloc(3 * H * H),
    };
  }

  /** X [N, I]; state [B, H] = h, in and out. Returns h(1..T) [N, H]. */
  forward(k: Kernels, cache: GruCache, X: Arr, state: Arr, T: number, B: number): Arr {
    const { I, H, w } = this;
    const N = T * B;
    const H3 = 3 * H;
    const { Gi, Gh, Hs } = cache;
    cache.X = X;
    Hs.set(state.subarray(0, B * H), 0);
    // Input part for all t at once: Gi [N, 3H] = X [N, I] · W_ihᵀ + b_ih
    k.gemm(Gi, X, w.W_ih, N, H3, I, false, true, 0);
    k.addBias(Gi, w.b_ih, N, H3);
    k.transpose(cache.WhhT, w.W_hh, H3, H);
    for (let t = 0; t < T; t++) {
      const prev = t * B * H; // offset of the h(t-1) block
      const hPrev = Hs.subarray(prev, prev + B * H);
      const Git = Gi.subarray(t * B * H3, (t + 1) * B * H3);
      const Ght = Gh.subarray(t * B * H3, (t + 1) * B * H3);
      // Recurrent part: Ght [B, 3H] = hPrev [B, H] · W_hhᵀ [H, 3H] + b_hh
      k.gemm(Ght, hPrev, cache.WhhT, B, H3, H, false, false, 0);
      k.addBias(Ght, w.b_hh, B, H3);
      // r = σ(·), z = σ(·), n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), kept in Gi;
      // h(t) = (1 - z) ⊙ n + z ⊙ h(t-1)
      k.gruForward(Git, Ght, hPrev, Hs.subarray(prev + B * H, prev + 2 * B * H), B, H);
    }
    state.set(Hs.subarray(T * B * H, (T + 1) * B * H), 0);
    return Hs.subarray(B * H, (T + 1) * B * H);
  }

  /** dH [N, H] (overwritten: the recurrent part is added in); dX [N, I] overwritten. */
  backward(k: Kernels, cache: GruCache, dH: Arr, dX: Arr | null, T: number, B: number, onGradH?: GradHObserver): void {
    const { I, H, w, g } = this;
    const N = T * B;
    const H3 = 3 * H;
    const { Gi, Gh, Hs, dGi, dGh, X } = cache;
    for (let t = T - 1; t >= 0; t--) {
      const prev = t * B * H; // offset of the h(t-1) block
      const Git = Gi.subarray(t * B * H3, (t + 1) * B * H3);
      const Ght = Gh.subarray(t * B * H3, (t + 1) * B * H3);
      const dGit = dGi.subarray(t * B * H3, (t + 1) * B * H3);
      const dGht = dGh.subarray(t * B * H3, (t + 1) * B * H3);
      onGradH?.(t, dH.subarray(prev, prev + B * H)); // dh(t) is complete here (step t+1 added its part)
      // h(t) = (1 - z) ⊙ n + z ⊙ h(t-1):  dn = dh ⊙ (1 - z), dz = dh ⊙ (h(t-1) - n)
      // n = tanh(a_n), a_n = W_in x + b_in + r ⊙ hn:  da_n = dn ⊙ (1 - n²), dr = da_n ⊙ hn;
      // dh(t-1) += dh(t) ⊙ z (the direct path; into h(0) it is cut)
      k.gruBackward(dGit, dGht, Git, Ght, Hs.subarray(prev, prev + B * H), dH.subarray(prev, prev + B * H),
        t > 0 ? dH.subarray(prev - B * H, prev) : null, B, H);
      if (t > 0) {
        // Ght = hPrev · W_hhᵀ + b_hh:  dh(t-1) [B, H] += dGh(t) [B, 3H] · W_hh [3H, H]
        k.gemm(dH.subarray(prev - B * H, prev), dGht, w.W_hh, B, H, H3, false, false, 1);
      }
    }
    // dW_hh [3H, H] += dGhᵀ [3H, N] · Hprev [N, H];  db_hh += Σ rows of dGh
    k.gemm(g.W_hh, dGh, Hs.subarray(0, N * H), H3, H, N, true, false, 1);
    k.sumRows(g.b_hh, dGh, N, H3);
    // dW_ih [3H, I] += dGiᵀ · X;  db_ih += Σ rows of dGi
    k.gemm(g.W_ih, dGi, X, H3, I, N, true, false, 1);
    k.sumRows(g.b_ih, dGi, N, H3);
    // dX [N, I] = dGi [N, 3H] · W_ih [3H, I]
    if (dX) k.gemm(dX, dGi, w.W_ih, N, I, H3, false, false, 0);
  }
}
