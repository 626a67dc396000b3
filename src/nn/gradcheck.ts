// Gradient check: the hand-derived BPTT gradient against central finite differences,
// in float64, on a tiny model over several time steps and layers, for every parameter tensor.
//   numeric  = (8[J(θ+ε) - J(θ-ε)] - [J(θ+2ε) - J(θ-2ε)]) / 12ε   (five-point central difference,
//              error O(ε⁴), so ε = 1e-4 leaves ~1e-16 of truncation and ~1e-12 of rounding)
//   relError = |analytic - numeric| / max(|analytic|, |numeric|, floor)
// The floor keeps entries whose true gradient is ~0 from dividing noise by noise.
// Dropout is checked with a fixed mask: every evaluation of J draws its masks from a fresh Rng
// with the same seed. Tied weights are one arena tensor (encoder.weight) holding the sum of both
// uses' gradients; a class-factored model checks class_decoder.* too.

import { GRADCHECK_DEFAULTS } from '../defaults.js';
import { RefKernels } from '../kernels/ref.js';
import type { Kernels } from '../kernels/kernels.js';
import { Rng } from '../rng.js';
import { assignClasses } from '../data/classes.js';
import { makeConfig, type Cell } from './config.js';
import { RnnLM } from './model.js';

export interface GradcheckOptions {
  cell?: Cell;
  layers?: number;
  vocab?: number;
  embed?: number;
  hidden?: number;
  T?: number;
  B?: number;
  seed?: number;
  eps?: number;
  /** Denominator floor of the relative error. */
  floor?: number;
  kernels?: Kernels;
  /** Dropout probability (0 = off); checked with one fixed set of masks. */
  dropout?: number;
  /** Tie decoder.weight to encoder.weight (embed is then set to hidden). */
  tied?: boolean;
  /** Class-factored softmax with this many classes (0 = full softmax), binned from seeded Zipf-like counts. */
  classes?: number;
}

export interface TensorCheck {
  name: string;
  size: number;
  maxRelError: number;
  maxAbsError: number;
  /** Largest |analytic| in the tensor, so a reader sees the check was not of zeros. */
  maxGrad: number;
}

export interface GradcheckResult {
  cell: Cell;
  layers: number;
  T: number;
  B: number;
  dropout: number;
  tied: boolean;
  classes: number;
  loss: number;
  tensors: TensorCheck[];
  maxRelError: number;
}

export function gradcheck(opts: GradcheckOptions = {}): GradcheckResult {
  const D = GRADCHECK_DEFAULTS;
  const cell = opts.cell ?? D.cell;
  const T = opts.T ?? D.steps;
  const B = opts.B ?? D.batch;
  const eps = opts.eps ?? D.eps;
  const floor = opts.floor ?? D.floor;
  const hidden = opts.hidden ?? D.hidden;
  const tied = opts.tied ?? false;
  const classes = opts.classes ?? D.classes;
  const V = opts.vocab ?? (classes > 0 ? 11 : 7);
  const config = makeConfig({
    cell, layers: opts.layers ?? D.layers, vocabSize: V, embed: tied ? hidden : opts.embed ?? D.embed, hidden,
    dropout: opts.dropout ?? D.dropout, tied, classes,
  });
  const rng = new Rng(opts.seed ?? D.seed);
  let wordClasses: Int32Array | undefined;
  if (classes > 0) {
    const counts = Array.from({ length: V }, (_, w) => Math.floor(1000 / (w + 1)) + rng.int(5));
    wordClasses = assignClasses(counts, classes);
  }
  const model = new RnnLM(config, opts.kernels ?? new RefKernels(), { dtype: 'f64', wordClasses });
  // Larger weights than the default init, so every nonlinearity is exercised away from 0.
  for (let i = 0; i < model.params.length; i++) model.params[i] = rng.uniform(-0.8, 0.8);
  const N = T * B;
  const x = new Int32Array(N);
  const y = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    x[i] = rng.int(config.vocabSize);
    y[i] = rng.int(config.vocabSize);
  }
  // A nonzero carried-in state, as mid-text segments have (h and, for LSTM, c).
  const hStart = model.newState(B);
  for (let i = 0; i < hStart.length; i++) hStart[i] = rng.uniform(0, 0.9);
  const maskSeed = rng.nextU32();
  const fwd = (state: Float64Array | Float32Array) =>
    model.forward(x, T, B, state, config.dropout > 0 ? { train: true, rng: new Rng(maskSeed) } : {});

  const J = (): number => {
    fwd(hStart.slice());
    return model.loss(y, false, 1) / N;
  };

  model.zeroGrad();
  fwd(hStart.slice());
  const loss = model.loss(y, true, 1 / N) / N;
  model.backward();

  const tensors: TensorCheck[] = [];
  for (const spec of model.layout.specs) {
    const o = model.layout.offsets.get(spec.name)!;
    let maxRel = 0;
    let maxAbs = 0;
    let maxGrad = 0;
    for (let i = o.offset; i < o.offset + o.size; i++) {
      const saved = model.params[i];
      const at = (d: number): number => {
        model.params[i] = saved + d;
        const j = J();
        model.params[i] = saved;
        return j;
      };
      const numeric = (8 * (at(eps) - at(-eps)) - (at(2 * eps) - at(-2 * eps))) / (12 * eps);
      const analytic = model.grads[i];
      const abs = Math.abs(analytic - numeric);
      const rel = abs / Math.max(Math.abs(analytic), Math.abs(numeric), floor);
      maxRel = Math.max(maxRel, rel);
      maxAbs = Math.max(maxAbs, abs);
      maxGrad = Math.max(maxGrad, Math.abs(analytic));
    }
    tensors.push({ name: spec.name, size: o.size, maxRelError: maxRel, maxAbsError: maxAbs, maxGrad });
  }
  return {
    cell, layers: config.layers, T, B, dropout: config.dropout, tied, classes, loss, tensors,
    maxRelError: Math.max(...tensors.map((t) => t.maxRelError)),
  };
}
