// Gradient check: the hand-derived BPTT gradient against central finite differences,
// in float64, on a tiny model over several time steps and layers, for every parameter tensor.
//   numeric  = (8[J(θ+ε) - J(θ-ε)] - [J(θ+2ε) - J(θ-2ε)]) / 12ε   (five-point central difference,
//              error O(ε⁴), so ε = 1e-4 leaves ~1e-16 of truncation and ~1e-12 of rounding)
//   relError = |analytic - numeric| / max(|analytic|, |numeric|, floor)
// The floor keeps entries whose true gradient is ~0 from dividing noise by noise.
// Dropout is checked with a fixed mask: every evaluation of J draws its masks from a fresh Rng
// with the same seed. Tied weights are one arena tensor (encoder.weight) holding the sum of both
// uses' gradients; a class-factored model checks class_decoder.* too (with classes that are not
// runs of ids, so the model's class order is exercised), a hierarchical softmax hs.*, and max-ent
// direct connections every entry of direct.weight (its sparse gradient, 0 where untouched).

import { GRADCHECK_DEFAULTS } from '../defaults.js';
import { RefKernels } from '../kernels/ref.js';
import type { Kernels } from '../kernels/kernels.js';
import { Rng } from '../rng.js';
import { assignClasses } from '../data/classes.js';
import { makeConfig, type Cell } from './config.js';
import { buildHuffmanTree } from './hsoftmax.js';
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
  /** Output layer: 'hs' checks a hierarchical softmax over Huffman's tree of seeded counts (classes: set `classes`). */
  output?: 'softmax' | 'hs';
  /** Max-ent direct connections with a table of this many entries (0 = off), checked entry by entry. */
  direct?: number;
  /** Their n-gram order. */
  directOrder?: number;
  /** Elman cells: the input product folded into the embedding (embed is then set to hidden). */
  foldInput?: boolean;
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
  output: string;
  direct: number;
  foldInput: boolean;
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
  const hs = opts.output === 'hs';
  const V = opts.vocab ?? (classes > 0 || hs ? 11 : 7);
  const config = makeConfig({
    cell, layers: opts.layers ?? D.layers, vocabSize: V, embed: tied || opts.foldInput ? hidden : opts.embed ?? D.embed, hidden, foldInput: opts.foldInput,
    dropout: opts.dropout ?? D.dropout, tied, classes, output: hs ? 'hs' : undefined,
    direct: opts.direct ?? D.direct, directOrder: opts.directOrder ?? D.directOrder,
  });
  const rng = new Rng(opts.seed ?? D.seed);
  let wordClasses: Int32Array | undefined;
  let hsTree: Int32Array | undefined;
  if (classes > 0 || hs) {
    // Zipf-like counts in a shuffled order, so that classes are not runs of ids (the model then
    // keeps its vocabulary rows in class order) and the tree's paths differ in length
    const counts = Array.from({ length: V }, (_, w) => Math.floor(1000 / (w + 1)) + rng.int(5));
    for (let i = V - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [counts[i], counts[j]] = [counts[j], counts[i]];
    }
    if (classes > 0) wordClasses = assignClasses(counts, classes);
    else hsTree = buildHuffmanTree(counts);
  }
  const model = new RnnLM(config, opts.kernels ?? new RefKernels(), { dtype: 'f64', wordClasses, hsTree });
  // Larger weights than the default init, so every nonlinearity is exercised away from 0.
  for (let i = 0; i < model.params.length; i++) model.params[i] = rng.uniform(-0.8, 0.8);
  if (model.direct) for (let i = 0; i < model.direct.size; i++) model.direct.weight[i] = rng.uniform(-0.8, 0.8);
  const N = T * B;
  const x = new Int32Array(N);
  const y = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    x[i] = rng.int(config.vocabSize);
    y[i] = rng.int(config.vocabSize);
  }
  // A nonzero carried-in state, as mid-text segments have (h and, for LSTM, c; with max-ent, the
  // words before the segment).
  const hStart = model.newState(B);
  const recurrent = config.layers * B * model.stateWidth;
  for (let i = 0; i < recurrent; i++) hStart[i] = rng.uniform(0, 0.9);
  for (let i = recurrent; i < hStart.length; i++) hStart[i] = rng.int(V);
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
  if (model.direct) {
    // the max-ent table, entry by entry: its sparse gradient (0 where the batch did not touch it)
    const { weight, grad } = model.direct;
    let maxRel = 0;
    let maxAbs = 0;
    let maxGrad = 0;
    for (let i = 0; i < weight.length; i++) {
      const saved = weight[i];
      const at = (d: number): number => {
        weight[i] = saved + d;
        const j = J();
        weight[i] = saved;
        return j;
      };
      const numeric = (8 * (at(eps) - at(-eps)) - (at(2 * eps) - at(-2 * eps))) / (12 * eps);
      const analytic = grad.g[i];
      const abs = Math.abs(analytic - numeric);
      maxRel = Math.max(maxRel, abs / Math.max(Math.abs(analytic), Math.abs(numeric), floor));
      maxAbs = Math.max(maxAbs, abs);
      maxGrad = Math.max(maxGrad, Math.abs(analytic));
    }
    tensors.push({ name: 'direct.weight', size: weight.length, maxRelError: maxRel, maxAbsError: maxAbs, maxGrad });
  }
  return {
    cell, layers: config.layers, T, B, dropout: config.dropout, tied, classes, output: config.output, direct: config.direct, foldInput: config.foldInput, loss, tensors,
    maxRelError: Math.max(...tensors.map((t) => t.maxRelError)),
  };
}
