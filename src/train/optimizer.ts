// Optimizers over the flat parameter arena: one state buffer per moment, same layout.
// The loss they see is already the mean over the T·B predicted tokens of a segment; gradient
// clipping (clipGradNorm, below) is separate and applies to every optimizer alike.
// A sparsely trained table beside the arena (the max-ent table, nn/direct.ts) has moments of its
// own and is updated only where the batch touched it (Kernels.sparseUpdate): SGD exactly as a
// dense update would (the other entries' gradient is 0), Adam lazily as PyTorch's SparseAdam
// (an untouched entry's moments do not decay; bias corrections use the global step), Adagrad
// exactly (an untouched entry's sum of squares does not change).

import { ConfigError } from '../errors.js';
import { OPTIMIZER_HYPER } from '../defaults.js';
import type { Arr, Kernels, SparseGrad } from '../kernels/kernels.js';
import type { GradRegions } from '../nn/model.js';

export const OPTIMIZERS = ['sgd', 'adagrad', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface OptimizerHyper {
  beta1: number;
  beta2: number;
  eps: number;
}


export class Optimizer {
  readonly name: OptimizerName;
  readonly hyper: OptimizerHyper;
  /** Named state buffers (adagrad: s; adam: m, v), each the size of the arena. */
  readonly state: Map<string, Arr>;
  /** Number of updates taken (Adam's bias correction uses it). */
  t = 0;
  /** The sparse table's moments (adagrad: direct.s; adam: direct.m, direct.v), if one is attached. */
  readonly sparseState = new Map<string, Arr>();

  constructor(name: OptimizerName, alloc: (n: number) => Arr, n: number) {
    if (!(OPTIMIZERS as readonly string[]).includes(name)) {
      throw new ConfigError(`optimizer must be one of ${OPTIMIZERS.join(', ')}, got ${JSON.stringify(name)}`);
    }
    this.name = name;
    this.hyper = OPTIMIZER_HYPER[name];
    this.state = new Map();
    if (name === 'adagrad') this.state.set('s', alloc(n));
    if (name === 'adam') {
      this.state.set('m', alloc(n));
      this.state.set('v', alloc(n));
    }
  }

  /** Moments for a sparsely trained table of n entries (named direct.*), zero. */
  attachSparse(alloc: (n: number) => Arr, n: number): void {
    if (this.name === 'adagrad') this.sparseState.set('direct.s', alloc(n));
    if (this.name === 'adam') {
      this.sparseState.set('direct.m', alloc(n));
      this.sparseState.set('direct.v', alloc(n));
    }
  }

  /**
   * One update of w [n] from g [n] at learning rate lr; with `sparse`, also of its table's
   * touched entries, their gradient scaled by gs (the clipping factor), which clears it.
   */
  step(k: Kernels, w: Arr, g: Arr, lr: number, sparse?: { table: Arr; grad: SparseGrad; gs: number }, regions?: GradRegions): void {
    const n = w.length;
    this.t++;
    if (regions && this.name !== 'adam') {
      // SGD and Adagrad leave an entry with a zero gradient as it is: visit the regions only.
      // (Adam moves every weight with its moments, so it runs over the whole arena.)
      this.stepRegions(k, w, g, lr, regions);
      if (sparse) this.stepSparse(k, sparse, lr);
      return;
    }
    if (sparse) this.stepSparse(k, sparse, lr);
    switch (this.name) {
      case 'sgd':
        k.sgdUpdate(w, g, lr, n);
        break;
      case 'adagrad':
        k.adagradUpdate(w, this.state.get('s')!, g, lr, this.hyper.eps, n);
        break;
      case 'adam':
        k.adamUpdate(w, this.state.get('m')!, this.state.get('v')!, g, lr, this.hyper.beta1, this.hyper.beta2, this.hyper.eps, this.t, n);
        break;
    }
  }

  /** SGD / Adagrad over the regions of the arena where the gradient can be non-zero. */
  private stepRegions(k: Kernels, w: Arr, g: Arr, lr: number, regions: GradRegions): void {
    const s = this.state.get('s') ?? null;
    for (const [a, b] of regions.dense) {
      if (this.name === 'sgd') k.sgdUpdate(w.subarray(a, b), g.subarray(a, b), lr, b - a);
      else k.adagradUpdate(w.subarray(a, b), s!.subarray(a, b), g.subarray(a, b), lr, this.hyper.eps, b - a);
    }
    for (const r of regions.rows) {
      const view = (x: Arr): Arr => x.subarray(r.offset, r.offset + r.size);
      k.rowsOp(this.name === 'sgd' ? 'sgd' : 'adagrad', view(w), view(g), s ? view(s) : null, lr, this.hyper.eps, r.width, r.rows, r.count);
    }
  }

  /** The sparse table's touched entries (their gradient scaled by gs, then cleared). */
  private stepSparse(k: Kernels, sparse: { table: Arr; grad: SparseGrad; gs: number }, lr: number): void {
    const { beta1, beta2, eps } = this.hyper;
    const m = this.sparseState.get(this.name === 'adagrad' ? 'direct.s' : 'direct.m') ?? null;
    const v = this.sparseState.get('direct.v') ?? null;
    k.sparseUpdate(sparse.grad, sparse.table, m, v, {
      kind: this.name, gs: sparse.gs, lr, beta1, beta2, eps, c1: 1 - Math.pow(beta1, this.t), c2: 1 - Math.pow(beta2, this.t),
    });
  }
}

/**
 * Scale g so that its global L2 norm is at most maxNorm (0 = no clipping).
 * Returns the norm before clipping (NaN / Infinity pass through for the caller to report).
 */
export function clipGradNorm(k: Kernels, g: Arr, maxNorm: number): number {
  return clipGradNorms(k, g, null, maxNorm).norm;
}

/**
 * Global-norm clipping over the arena's gradient g and a sparse table gradient: the norm of both
 * together (before clipping) and the factor gs ≤ 1 the gradient is to be scaled by. The dense
 * part is scaled here unless `defer` (SGD: the update then takes lr·gs, one pass less); the
 * sparse part's update always applies gs itself.
 */
export function clipGradNorms(
  k: Kernels, g: Arr, sparse: SparseGrad | null, maxNorm: number, regions?: GradRegions, defer = false,
): { norm: number; gs: number } {
  // Σ g² over the regions that can be non-zero (in a fixed order: dense ranges, then rows)
  let sq = 0;
  if (regions) {
    for (const [a, b] of regions.dense) sq += k.sumSquares(g.subarray(a, b), b - a);
    for (const r of regions.rows) sq += k.sumSquaresRows(g.subarray(r.offset, r.offset + r.size), r.width, r.rows, r.count);
  } else {
    sq = k.sumSquares(g, g.length);
  }
  const norm = Math.sqrt(sq + (sparse ? k.sparseSumSquares(sparse) : 0));
  if (maxNorm > 0 && norm > maxNorm) {
    const gs = maxNorm / norm;
    if (defer) return { norm, gs };
    if (regions) {
      for (const [a, b] of regions.dense) k.scale(g.subarray(a, b), gs, b - a);
      for (const r of regions.rows) k.rowsOp('scale', g.subarray(r.offset, r.offset + r.size), null, null, gs, 0, r.width, r.rows, r.count);
    } else {
      k.scale(g, gs, g.length);
    }
    return { norm, gs };
  }
  return { norm, gs: 1 };
}
