// The learning-rate schedules. Between epochs: 'plateau' (the classic one: divide the rate by
// lrDecay after an epoch whose validation perplexity did not improve) or 'fixed' (divide it after
// every epoch from decayStart on, as Zaremba et al.). Within the time budget: 'budget' sets the
// rate before every step from the share of the budget spent ("budgeted training", Li, Yumer &
// Ramanan, ICLR 2020: a schedule that reaches its end when the budget does beats one tuned for
// a number of epochs): held at lr for `hold` of the budget, then linearly down to BUDGET_FLOOR·lr.

import type { TrainOptions } from './options.js';

/** Where the budget schedule's linear decay ends, as a share of the initial rate ("near zero"). */
export const BUDGET_FLOOR = 0.01;

/** The rate for the next epoch, after epoch `epoch` (1-based) ran at `lr` (the budget schedule keeps it). */
export function nextEpochRate(o: Pick<TrainOptions, 'schedule' | 'decayStart' | 'lrDecay'>, epoch: number, lr: number, improved: boolean): number {
  if (o.schedule === 'budget') return lr;
  const decay = o.schedule === 'plateau' ? !improved : epoch >= o.decayStart;
  return decay ? lr / o.lrDecay : lr;
}

/** The budget schedule's rate when the share `spent` (0..1) of the training time is gone. */
export function budgetRate(o: Pick<TrainOptions, 'lr' | 'hold'>, spent: number): number {
  const f = Math.min(1, Math.max(0, spent));
  if (f <= o.hold) return o.lr;
  return o.lr * Math.max(BUDGET_FLOOR, (1 - f) / (1 - o.hold));
}
