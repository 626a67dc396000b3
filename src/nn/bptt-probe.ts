// The BPTT probe: how far back the gradient of one step's loss reaches, measured by the model's
// own backward pass. For a segment of T steps, J(T) = Σ_b -log ŷ_b(T)[y_b(T)] (the last step's
// loss, each stream b on its own), and for k = 0 … T-1
//
//   ∂J(T)/∂h(T-k) = ∂J(T)/∂h(T) · ∂h(T)/∂h(T-1) · … · ∂h(T-k+1)/∂h(T-k)
//
// — the notes' chain of Jacobian factors. For the sigmoid Elman network each factor is
// diag(σ'(a)) W_h with σ' ≤ 1/4, so the norm tends to shrink geometrically in k (the vanishing
// gradient); an LSTM's cell path (c(t) = f ⊙ c(t-1) + …) lets it reach further.
// The gradient into the segment's carried-in state h(0) is cut (truncated BPTT), so k stops at T-1.
// Tested against central finite differences in float64 (test/bptt-probe.test.ts).
// Legend: T steps, B streams, L layers, H hidden, S state width per layer (H; 2H for LSTM).

import type { Arr } from '../kernels/kernels.js';
import type { RnnLM } from './model.js';

export interface BpttProbeOptions {
  /** The state [L, B, S] carried into the segment (default: zeros, as at the start of a text). */
  state?: Arr;
  /** Also return the gradients themselves (per layer [T, B, H], indexed by k). Default false. */
  gradients?: boolean;
}

export interface BpttProbeResult {
  T: number;
  B: number;
  /** J(T) per stream averaged over the B streams (nats): the loss whose gradient is followed. */
  loss: number;
  /** Per layer l (bottom first): norms[l][k] = mean over streams b of ‖∂J_b(T)/∂h_b(T-k)‖₂. */
  norms: Float64Array[];
  /** Per layer: [T·B], index k·B + b: ‖∂J_b(T)/∂h_b(T-k)‖₂ of each stream. */
  streamNorms: Float64Array[];
  /** With opts.gradients: per layer [T·B·H], index (k·B + b)·H + j: ∂J_b(T)/∂h_b(T-k)[j]. */
  gradients?: Float64Array[];
}

/**
 * Run the probe on one segment: x, y [T·B] (time-major inputs and targets, as the trainer's
 * segments). Forward in evaluation mode (no dropout), backward of J(T) alone. The model's
 * gradient arena is left as it was; its workspace holds this segment afterwards.
 */
export function bpttProbe(model: RnnLM, x: Int32Array, y: Int32Array, T: number, B: number, opts: BpttProbeOptions = {}): BpttProbeResult {
  const { layers: L, hidden: H } = model.config;
  const N = T * B;
  if (!Number.isInteger(T) || T < 1 || !Number.isInteger(B) || B < 1) throw new RangeError(`bpttProbe: T and B must be positive integers, got T=${T}, B=${B}`);
  if (x.length < N || y.length < N) throw new RangeError(`bpttProbe: x and y need T·B = ${N} ids, got ${x.length} and ${y.length}`);
  const state = model.newState(B);
  if (opts.state) state.set(opts.state.subarray(0, state.length));
  const savedGrads = model.grads.slice();
  const streamNorms = Array.from({ length: L }, () => new Float64Array(N));
  const gradients = opts.gradients ? Array.from({ length: L }, () => new Float64Array(N * H)) : undefined;
  const logProbs = new Float64Array(N);
  try {
    model.forward(x, T, B, state, { logits: false });
    model.loss(y, true, 1, logProbs); // scale 1: the gradient of J(T) = Σ_b J_b(T)
    model.backward({
      onlyStep: T - 1,
      onGradH: (l, t, dh) => {
        const k = T - 1 - t;
        for (let b = 0; b < B; b++) {
          let ss = 0;
          for (let j = 0; j < H; j++) ss += dh[b * H + j] * dh[b * H + j];
          streamNorms[l][k * B + b] = Math.sqrt(ss);
        }
        gradients?.[l].set(dh.subarray(0, B * H), k * B * H);
      },
    });
  } finally {
    model.grads.set(savedGrads);
  }
  let loss = 0;
  for (let b = 0; b < B; b++) loss -= logProbs[(T - 1) * B + b];
  const norms = streamNorms.map((s) => {
    const m = new Float64Array(T);
    for (let k = 0; k < T; k++) {
      let sum = 0;
      for (let b = 0; b < B; b++) sum += s[k * B + b];
      m[k] = sum / B;
    }
    return m;
  });
  return { T, B, loss: loss / B, norms, streamNorms, gradients };
}
