// The recurrent-layer interface: what the model needs from a cell, so that Elman, LSTM and GRU
// layers plug into the same stack (model.ts's makeLayer picks the class). A layer owns views of
// its weights and gradients (bound to the model's arenas by `bind`) and is otherwise stateless:
// what forward keeps for backward lives in a cache the model allocates, and the carried state
// is the caller's.
// Legend: T steps, B batch, N = T·B rows (time-major: row t·B + b), I input width, H hidden,
// S = stateWidth (H for Elman and GRU: h; 2H for LSTM: h then c).

import type { Arr, Kernels } from '../kernels/kernels.js';
import type { Rng } from '../rng.js';
import type { ParamSpec } from './arena.js';

/** Allocates a zeroed buffer of the model's dtype. */
export type Alloc = (n: number) => Arr;

/** Looks a named tensor up in an arena (parameters or gradients). */
export type TensorView = (name: string) => Arr;

/**
 * Told dJ/dh(t) [B, H] of a layer once backward has completed it (the part from above plus the
 * recurrent part from step t+1), for t = T-1 down to 0 (0-based steps). The view is the layer's
 * scratch: read it during the call, do not keep or write it. Used by the BPTT probe.
 */
export type GradHObserver = (t: number, dh: Arr) => void;

export interface RecurrentLayer<Cache = unknown> {
  /** Input width I (Emb for layer 0, H above). */
  readonly I: number;
  /** Hidden width H. */
  readonly H: number;
  /**
   * Scalars of carried state per stream: H for h-only cells (Elman, GRU), 2H for LSTM.
   * A layer's state [B, S] is laid out as h [B, H], then (LSTM) c [B, H].
   */
  readonly stateWidth: number;
  /** PyTorch names and shapes of this layer's tensors, in arena order. */
  specs(): ParamSpec[];
  /** Initialise this layer's weights in place: uniform(±1/√H) as PyTorch (plus any cell extras). */
  init(rng: Rng): void;
  /** A cache for segments of up to `rows` = T·B rows and `batch` streams. */
  newCache(alloc: Alloc, rows: number, batch: number): Cache;
  /**
   * Forward over T steps: X [N, I] (kept by reference for backward); state [B, S] carried in
   * and overwritten with the state after step T (the gradient is cut there).
   * Returns the layer's output h(1..T) as a view [N, H] into the cache.
   */
  forward(k: Kernels, cache: Cache, X: Arr, state: Arr, T: number, B: number): Arr;
  /**
   * Backward through time for the last forward with this cache. dH [N, H] is dJ/dh(t) from
   * above (only the direct part) and may be overwritten. Gradients are added into the bound
   * gradient views; dX [N, I] (if given) is overwritten with dJ/dX. onGradH, if given, is told
   * each complete dJ/dh(t).
   */
  backward(k: Kernels, cache: Cache, dH: Arr, dX: Arr | null, T: number, B: number, onGradH?: GradHObserver): void;
}

/** The names every cell uses, as torch.nn.RNN / LSTM / GRU: rnn.{weight,bias}_{ih,hh}_l{l}. */
export function rnnNames(l: number): { W_ih: string; W_hh: string; b_ih: string; b_hh: string } {
  return { W_ih: `rnn.weight_ih_l${l}`, W_hh: `rnn.weight_hh_l${l}`, b_ih: `rnn.bias_ih_l${l}`, b_hh: `rnn.bias_hh_l${l}` };
}

/** The four tensors of a cell with G gate blocks (1 Elman, 3 GRU, 4 LSTM), PyTorch layout. */
export interface GatedWeights {
  W_ih: Arr; // [G·H, I]
  W_hh: Arr; // [G·H, H]
  b_ih: Arr; // [G·H]
  b_hh: Arr; // [G·H]
}

export function gatedSpecs(l: number, G: number, I: number, H: number): ParamSpec[] {
  const n = rnnNames(l);
  return [
    { name: n.W_ih, shape: [G * H, I] },
    { name: n.W_hh, shape: [G * H, H] },
    { name: n.b_ih, shape: [G * H] },
    { name: n.b_hh, shape: [G * H] },
  ];
}

export function bindGated(l: number, view: TensorView): GatedWeights {
  const n = rnnNames(l);
  return { W_ih: view(n.W_ih), W_hh: view(n.W_hh), b_ih: view(n.b_ih), b_hh: view(n.b_hh) };
}

/** uniform(±1/√H) for every tensor, as torch.nn.RNN / LSTM / GRU initialise them. */
export function initGated(w: GatedWeights, H: number, rng: Rng): void {
  const r = 1 / Math.sqrt(H);
  for (const a of [w.W_ih, w.W_hh, w.b_ih, w.b_hh]) for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-r, r);
}

/** A layer before its weights are bound: specs are known, views are not. */
export interface UnboundLayer extends RecurrentLayer {
  /** Bind weight and gradient views (call once, after the arenas exist). */
  bind(w: TensorView, g: TensorView): void;
}
