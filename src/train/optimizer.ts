// Optimizers over the flat parameter arena: one state buffer per moment, same layout.
// The loss they see is already the mean over the T·B predicted tokens of a segment; gradient
// clipping (clipGradNorm, below) is separate and applies to every optimizer alike.

import { ConfigError } from '../errors.js';
import { OPTIMIZER_HYPER } from '../defaults.js';
import type { Arr, Kernels } from '../kernels/kernels.js';

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

  /** One update of w [n] from g [n] at learning rate lr. */
  step(k: Kernels, w: Arr, g: Arr, lr: number): void {
    const n = w.length;
    this.t++;
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
}

/**
 * Scale g so that its global L2 norm is at most maxNorm (0 = no clipping).
 * Returns the norm before clipping (NaN / Infinity pass through for the caller to report).
 */
export function clipGradNorm(k: Kernels, g: Arr, maxNorm: number): number {
  const norm = Math.sqrt(k.sumSquares(g, g.length));
  if (maxNorm > 0 && norm > maxNorm) k.scale(g, maxNorm / norm, g.length);
  return norm;
}
