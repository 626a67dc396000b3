// The learning-rate schedule between epochs: 'plateau' (the classic one: divide the rate by
// lrDecay after an epoch whose validation perplexity did not improve) or 'fixed' (divide it after
// every epoch from decayStart on, as Zaremba et al.).

import type { TrainOptions } from './options.js';

/** The rate for the next epoch, after epoch `epoch` (1-based) ran at `lr`. */
export function nextEpochRate(o: Pick<TrainOptions, 'schedule' | 'decayStart' | 'lrDecay'>, epoch: number, lr: number, improved: boolean): number {
  const decay = o.schedule === 'plateau' ? !improved : epoch >= o.decayStart;
  return decay ? lr / o.lrDecay : lr;
}
