// One Elman recurrent layer over a segment of T steps (the notes' hidden layer):
//   h(t) = act(W_e x(t) + b_e + W_h h(t-1) + b_h),   act = sigmoid | tanh | relu
// with PyTorch nn.RNN names: W_e = weight_ih_l{k} [H, I], W_h = weight_hh_l{k} [H, H],
// b_e = bias_ih_l{k} [H], b_h = bias_hh_l{k} [H] (the notes' b1 = b_e + b_h).
// With a folded input (config foldInput, layer 0) W_e = I is no parameter: x(t) is the folded
// embedding E·W_eᵀ[x(t)], added as it is.
// Legend: T steps, B batch, I input width (Emb or H), H hidden. Rows are time-major: row t·B + b.

import type { Activation, Arr, Kernels } from '../kernels/kernels.js';
import type { Rng } from '../rng.js';
import type { ParamSpec } from './arena.js';
import type { Alloc, GradHObserver, TensorView, UnboundLayer } from './recurrent.js';

export interface ElmanWeights {
  W_e: Arr | null; // [H, I]; null: W_e = I (folded input, I = H)
  W_h: Arr; // [H, H]
  b_e: Arr; // [H]
  b_h: Arr; // [H]
}

/** What forward keeps for backward. */
export interface ElmanCache {
  /** Input X [T·B, I] (a reference to the caller's buffer). */
  X: Arr;
  /** Hidden states [(T+1)·B, H]: block 0 is h(0) (carried in), block t+1 is h(t+1). */
  Hs: Arr;
  /** W_hᵀ [H, H], refreshed by each forward: the per-step product reads it in place. */
  WhT: Arr;
}

export function elmanSpecs(l: number, I: number, H: number, identityInput = false): ParamSpec[] {
  return [
    ...(identityInput ? [] : [{ name: `rnn.weight_ih_l${l}`, shape: [H, I] }]),
    { name: `rnn.weight_hh_l${l}`, shape: [H, H] },
    { name: `rnn.bias_ih_l${l}`, shape: [H] },
    { name: `rnn.bias_hh_l${l}`, shape: [H] },
  ];
}

/**
 * Forward over T steps. X [T·B, I]; hStart [B, H] = h(0) is copied into Hs block 0; on return
 * Hs blocks 1..T hold h(1..T) and the output view [T·B, H] is returned.
 */
export function elmanForward(
  k: Kernels, cache: ElmanCache, X: Arr, hStart: Arr, w: ElmanWeights, act: Activation,
  T: number, B: number, I: number, H: number,
): Arr {
  const { Hs } = cache;
  cache.X = X;
  Hs.set(hStart.subarray(0, B * H), 0);
  const out = Hs.subarray(B * H, (T + 1) * B * H);
  // a(t) = W_e x(t) + b_e + b_h for all t at once: out [T·B, H] = X [T·B, I] · W_eᵀ (W_e = I: X)
  if (w.W_e) k.gemm(out, X, w.W_e, T * B, H, I, false, true, 0);
  else out.set(X.subarray(0, T * B * H));
  k.addBias(out, w.b_e, T * B, H);
  k.addBias(out, w.b_h, T * B, H);
  k.transpose(cache.WhT, w.W_h, H, H);
  // h(t) = act(a(t) + W_h h(t-1)) for t = 1..T, one call for the segment (the per-step
  // products a(t) [B, H] += h(t-1) [B, H] · W_hᵀ run inside the kernel, streams split across threads)
  k.elmanSeqForward(Hs.subarray(0, (T + 1) * B * H), cache.WhT, T, B, H, act);
  return out;
}

/**
 * Backward through time. dH [T·B, H] is dJ/dh(t) from the layer above (only the direct
 * part); it is overwritten with dJ/da(t). Gradients are added into g; dX [T·B, I] (if given)
 * is overwritten with dJ/dX. The gradient into h(0) is cut (truncated BPTT).
 */
export function elmanBackward(
  k: Kernels, cache: ElmanCache, dH: Arr, dX: Arr | null, w: ElmanWeights, g: ElmanWeights, act: Activation,
  T: number, B: number, I: number, H: number, onGradH?: GradHObserver,
): void {
  const { Hs, X } = cache;
  if (onGradH) {
    // step by step, so that the observer sees each dh(t) once it is complete
    for (let t = T - 1; t >= 0; t--) {
      const da = dH.subarray(t * B * H, (t + 1) * B * H);
      if (t < T - 1) {
        // h(t) feeds a(t+1) = ... + W_h h(t):  dh(t) += da(t+1) [B, H] · W_h [H, H]
        k.gemm(da, dH.subarray((t + 1) * B * H, (t + 2) * B * H), w.W_h, B, H, H, false, false, 1);
      }
      onGradH(t, da); // dh(t) is complete here
      // h(t) = act(a(t)):  da(t) = dh(t) ⊙ act'(a(t)), written from h(t)
      k.actBackward(da, Hs.subarray((t + 1) * B * H, (t + 2) * B * H), da, B * H, act);
    }
  } else {
    // Through time, one call for the segment, t = T-1 … 0 (the same arithmetic):
    //   h(t) feeds a(t+1) = … + W_h h(t):  dh(t) += da(t+1) [B, H] · W_h [H, H]
    //   h(t) = act(a(t)):                   da(t) = dh(t) ⊙ act'(a(t)), written from h(t)
    k.elmanSeqBackward(dH.subarray(0, T * B * H), Hs.subarray(0, (T + 1) * B * H), w.W_h, T, B, H, act);
  }
  // W_h is applied at every step, so dW_h = Σ_t da(t)ᵀ h(t-1): one product over all t,
  // dW_h [H, H] += dA [T·B, H]ᵀ · Hprev [T·B, H]
  k.gemm(g.W_h, dH, Hs.subarray(0, T * B * H), H, H, T * B, true, false, 1);
  // dW_e [H, I] += dA ᵀ · X;  db_e = db_h += Σ rows of dA
  if (g.W_e) k.gemm(g.W_e, dH, X, H, I, T * B, true, false, 1);
  k.sumRows(g.b_e, dH, T * B, H);
  k.sumRows(g.b_h, dH, T * B, H);
  // dX [T·B, I] = dA [T·B, H] · W_e [H, I]  (W_e = I: dA)
  if (dX && w.W_e) k.gemm(dX, dH, w.W_e, T * B, I, H, false, false, 0);
  else if (dX) dX.set(dH.subarray(0, T * B * H));
}

/** The Elman layer behind the RecurrentLayer interface: state [B, H] is h. */
export class ElmanLayer implements UnboundLayer {
  readonly stateWidth: number;
  private w!: ElmanWeights;
  private g!: ElmanWeights;

  /** identityInput: W_e = I, not a parameter (a folded input; I = H). */
  constructor(readonly l: number, readonly I: number, readonly H: number, readonly act: Activation, readonly identityInput = false) {
    this.stateWidth = H;
    if (identityInput && I !== H) throw new Error(`Elman layer ${l}: an identity input needs I = H, got ${I} and ${H}`);
  }

  specs(): ParamSpec[] {
    return elmanSpecs(this.l, this.I, this.H, this.identityInput);
  }

  bind(w: TensorView, g: TensorView): void {
    const views = (v: TensorView): ElmanWeights => ({
      W_e: this.identityInput ? null : v(`rnn.weight_ih_l${this.l}`), W_h: v(`rnn.weight_hh_l${this.l}`), b_e: v(`rnn.bias_ih_l${this.l}`), b_h: v(`rnn.bias_hh_l${this.l}`),
    });
    this.w = views(w);
    this.g = views(g);
  }

  init(rng: Rng): void {
    const r = 1 / Math.sqrt(this.H);
    for (const a of [this.w.W_e, this.w.W_h, this.w.b_e, this.w.b_h]) if (a) for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-r, r);
  }

  newCache(alloc: Alloc, rows: number, batch: number): ElmanCache {
    return { X: alloc(0), Hs: alloc((rows + batch) * this.H), WhT: alloc(this.H * this.H) };
  }

  forward(k: Kernels, cache: ElmanCache, X: Arr, state: Arr, T: number, B: number): Arr {
    const H = this.H;
    const out = elmanForward(k, cache, X, state, this.w, this.act, T, B, this.I, H);
    state.set(cache.Hs.subarray(T * B * H, (T + 1) * B * H));
    return out;
  }

  backward(k: Kernels, cache: ElmanCache, dH: Arr, dX: Arr | null, T: number, B: number, onGradH?: GradHObserver): void {
    elmanBackward(k, cache, dH, dX, this.w, this.g, this.act, T, B, this.I, this.H, onGradH);
  }
}
