// One LSTM layer over a segment of T steps, as torch.nn.LSTM (gate order i, f, g, o):
//   [a_i a_f a_g a_o](t) = W_ih x(t) + b_ih + W_hh h(t-1) + b_hh
//   i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
//   c(t) = f ⊙ c(t-1) + i ⊙ g
//   h(t) = o ⊙ tanh(c(t))
// PyTorch names: W_ih = weight_ih_l{k} [4H, I], W_hh = weight_hh_l{k} [4H, H],
// b_ih = bias_ih_l{k} [4H], b_hh = bias_hh_l{k} [4H]; rows 0..H-1 are gate i, H..2H-1 f, 2H..3H-1 g, 3H..4H-1 o.
// The carried state is h and c; both are cut from the gradient between segments.
// Legend: T steps, B batch, N = T·B rows (time-major: row t·B + b), I input width, H hidden.

import type { Arr, Kernels } from '../kernels/kernels.js';
import type { Rng } from '../rng.js';
import type { ParamSpec } from './arena.js';
import { bindGated, gatedSpecs, initGated, type Alloc, type GatedWeights, type GradHObserver, type TensorView, type UnboundLayer } from './recurrent.js';

export type LstmWeights = GatedWeights; // [4H, I], [4H, H], [4H], [4H]

/** What forward keeps for backward (sized for up to `rows` rows and `batch` streams). */
export interface LstmCache {
  /** Input X [N, I] (a reference to the caller's buffer). */
  X: Arr;
  /** Gate activations [N, 4H]: i, f, g, o of each row side by side. */
  G: Arr;
  /** Hidden states [(T+1)·B, H]: block 0 is h(0) (carried in), block t+1 is h(t+1). */
  Hs: Arr;
  /** Cell states [(T+1)·B, H], block 0 is c(0). */
  Cs: Arr;
  /** tanh(c(t)) [N, H]. */
  tC: Arr;
  /** Backward scratch: dJ/da [N, 4H] and the carried dJ/dc [B, H]. */
  dG: Arr;
  dc: Arr;
  /** W_hhᵀ [H, 4H], refreshed by each forward: the per-step product reads it in place. */
  WhhT: Arr;
}

export class LstmLayer implements UnboundLayer {
  readonly stateWidth: number;
  private w!: LstmWeights;
  private g!: LstmWeights;

  constructor(readonly l: number, readonly I: number, readonly H: number, readonly forgetBias = 0) {
    this.stateWidth = 2 * H;
  }

  specs(): ParamSpec[] {
    return gatedSpecs(this.l, 4, this.I, this.H);
  }

  bind(w: TensorView, g: TensorView): void {
    this.w = bindGated(this.l, w);
    this.g = bindGated(this.l, g);
  }

  /** uniform(±1/√H) as torch.nn.LSTM; then b_ih[H:2H] (gate f) += forgetBias. */
  init(rng: Rng): void {
    initGated(this.w, this.H, rng);
    if (this.forgetBias !== 0) for (let j = this.H; j < 2 * this.H; j++) this.w.b_ih[j] += this.forgetBias;
  }

  newCache(alloc: Alloc, rows: number, batch: number): LstmCache {
    const H = this.H;
    return {
      X: alloc(0), G: alloc(rows * 4 * H), Hs: alloc((rows + batch) * H), Cs: alloc((rows + batch) * H), tC: alloc(rows * H),
      dG: alloc(rows * 4 * H), dc: alloc(batch * H), WhhT: alloc(4 * H * H),
    };
  }

  /** X [N, I]; state [B, 2H] = h [B, H] then c [B, H], in and out. Returns h(1..T) [N, H]. */
  forward(k: Kernels, cache: LstmCache, X: Arr, state: Arr, T: number, B: number): Arr {
    const { I, H, w } = this;
    const N = T * B;
    const H4 = 4 * H;
    const { G, Hs, Cs, tC } = cache;
    cache.X = X;
    Hs.set(state.subarray(0, B * H), 0);
    Cs.set(state.subarray(B * H, 2 * B * H), 0);
    // a(t) = W_ih x(t) + b_ih + b_hh for all t at once: G [N, 4H] = X [N, I] · W_ihᵀ
    k.gemm(G, X, w.W_ih, N, H4, I, false, true, 0);
    k.addBias(G, w.b_ih, N, H4);
    k.addBias(G, w.b_hh, N, H4);
    k.transpose(cache.WhhT, w.W_hh, H4, H);
    for (let t = 0; t < T; t++) {
      const c0 = t * B * H; // c(t-1), h(t-1) block
      const c1 = (t + 1) * B * H; // c(t), h(t) block
      const Gt = G.subarray(t * B * H4, (t + 1) * B * H4);
      // a(t) += W_hh h(t-1):  Gt [B, 4H] += hPrev [B, H] · W_hhᵀ [H, 4H]
      k.gemm(Gt, Hs.subarray(c0, c1), cache.WhhT, B, H4, H, false, false, 1);
      // i, f, g, o = σ, σ, tanh, σ of a (kept in G); c(t) = f ⊙ c(t-1) + i ⊙ g; h(t) = o ⊙ tanh(c(t))
      k.lstmForward(Gt, Cs.subarray(c0, c1), Cs.subarray(c1, c1 + B * H), tC.subarray(c0, c1), Hs.subarray(c1, c1 + B * H), B, H);
    }
    state.set(Hs.subarray(T * B * H, (T + 1) * B * H), 0);
    state.set(Cs.subarray(T * B * H, (T + 1) * B * H), B * H);
    return Hs.subarray(B * H, (T + 1) * B * H);
  }

  /** dH [N, H] (overwritten: the recurrent part is added in); dX [N, I] overwritten. */
  backward(k: Kernels, cache: LstmCache, dH: Arr, dX: Arr | null, T: number, B: number, onGradH?: GradHObserver): void {
    const { I, H, w, g: gr } = this;
    const N = T * B;
    const H4 = 4 * H;
    const { G, Hs, Cs, tC, dG, X, dc } = cache;
    dc.fill(0, 0, B * H); // dJ/dc(T): the cut
    for (let t = T - 1; t >= 0; t--) {
      const Gt = G.subarray(t * B * H4, (t + 1) * B * H4);
      const dGt = dG.subarray(t * B * H4, (t + 1) * B * H4);
      const c0 = t * B * H;
      onGradH?.(t, dH.subarray(c0, c0 + B * H)); // dh(t) is complete here (step t+1 added its part)
      // h(t) = o ⊙ tanh(c(t)), c(t) = f ⊙ c(t-1) + i ⊙ g, gates σ/tanh of a: dJ/da(t), and dc ← dJ/dc(t-1)
      k.lstmBackward(dGt, Gt, Cs.subarray(c0, c0 + B * H), tC.subarray(c0, c0 + B * H), dH.subarray(c0, c0 + B * H), dc, B, H);
      if (t > 0) {
        // a(t) = ... + W_hh h(t-1):  dh(t-1) [B, H] += da(t) [B, 4H] · W_hh [4H, H]
        k.gemm(dH.subarray((t - 1) * B * H, t * B * H), dGt, w.W_hh, B, H, H4, false, false, 1);
      }
    }
    // dW_hh [4H, H] += dAᵀ [4H, N] · Hprev [N, H] (W_hh at every step: one product over all t)
    k.gemm(gr.W_hh, dG, Hs.subarray(0, N * H), H4, H, N, true, false, 1);
    // dW_ih [4H, I] += dAᵀ · X;  db_ih = db_hh += Σ rows of dA
    k.gemm(gr.W_ih, dG, X, H4, I, N, true, false, 1);
    k.sumRows(gr.b_ih, dG, N, H4);
    k.sumRows(gr.b_hh, dG, N, H4);
    // dX [N, I] = dA [N, 4H] · W_ih [4H, I]
    if (dX) k.gemm(dX, dG, w.W_ih, N, I, H4, false, false, 0);
  }
}
