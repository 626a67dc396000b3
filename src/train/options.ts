// The options of a training run, with their validation. Defaults: TRAIN_DEFAULTS (defaults.ts).

import { ConfigError } from '../errors.js';
import { TRAIN_DEFAULTS } from '../defaults.js';
import { OPTIMIZERS, type OptimizerName } from './optimizer.js';

export const SCHEDULES = ['plateau', 'fixed', 'budget'] as const;

export interface TrainOptions {
  /** Parallel streams B. */
  batch: number;
  /** Truncated-BPTT segment length T. */
  bptt: number;
  /** Epochs to run in total (a resumed run counts the ones already done). */
  epochs: number;
  /** Initial learning rate. */
  lr: number;
  optimizer: OptimizerName;
  /** Max global gradient L2 norm; 0 = no clipping. */
  clip: number;
  /** Divide the learning rate by this at each decay (1 = never). */
  lrDecay: number;
  /**
   * When to decay: 'plateau' (the classic schedule: after an epoch whose validation perplexity
   * did not improve), 'fixed' (after every epoch from `decayStart` on, as Zaremba et al.) or
   * 'budget' (needs timeBudget: the rate follows the share of the budget spent — held for
   * `hold`, then linearly down to 1% of it at the budget's end; Li, Yumer & Ramanan 2020 — and
   * the curve is divided by `lrDecay` after each epoch whose validation did not improve, so a
   * small corpus that the budget would overfit is not).
   */
  schedule: 'plateau' | 'fixed' | 'budget';
  /** For the fixed schedule: epochs at the initial rate before decaying. */
  decayStart: number;
  /** For the budget schedule: the share of the budget (0 to below 1) at the initial rate. */
  hold: number;
  /** Early stopping: stop after this many epochs in a row without improvement (0 = off). */
  patience: number;
  /** Seed of the run's random stream (initialisation is seeded by the caller). */
  seed: number;
  /**
   * Wall-clock budget in seconds for the whole run (0 = none). Training stops early enough for
   * the last validation to finish inside it (its time is estimated from a short evaluation at
   * the start, then from each validation); the epoch in progress ends there: validation, best
   * checkpoint and state are written as at an epoch's end.
   */
  timeBudget: number;
}

/** The defaults as TrainOptions. */
export const DEFAULT_TRAIN: Readonly<TrainOptions> = TRAIN_DEFAULTS;

/** The training options among `o` (other fields are ignored), each one not given taken from the defaults. */
export function trainOptions(o: Partial<TrainOptions> = {}): TrainOptions {
  const out = { ...DEFAULT_TRAIN } as Record<string, unknown>;
  const given = o as Record<string, unknown>;
  for (const k of Object.keys(DEFAULT_TRAIN)) if (given[k] !== undefined) out[k] = given[k];
  return out as unknown as TrainOptions;
}

export function validateTrainOptions(o: TrainOptions): TrainOptions {
  const int = (name: string, v: number, lo: number, hi: number): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new ConfigError(`${name} must be an integer from ${lo} to ${hi}, got ${v}`);
  };
  int('batch', o.batch, 1, 100000);
  int('bptt', o.bptt, 1, 100000);
  int('epochs', o.epochs, 1, 1000000);
  int('seed', o.seed, 0, 0xffffffff);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw new ConfigError(`lr must be a positive number, got ${o.lr}`);
  if (!(o.clip >= 0 && Number.isFinite(o.clip))) throw new ConfigError(`clip must be ≥ 0 (0 = off), got ${o.clip}`);
  if (!(o.lrDecay >= 1 && Number.isFinite(o.lrDecay))) throw new ConfigError(`lr-decay must be ≥ 1, got ${o.lrDecay}`);
  if (!(SCHEDULES as readonly string[]).includes(o.schedule)) throw new ConfigError(`schedule must be one of ${SCHEDULES.join(', ')}, got ${JSON.stringify(o.schedule)}`);
  if (o.schedule === 'budget' && !(o.timeBudget > 0)) throw new ConfigError('the budget schedule follows the time budget: give --time-budget, or choose --schedule plateau or fixed');
  if (!(o.hold >= 0 && o.hold < 1)) throw new ConfigError(`hold must be a share of the budget from 0 to below 1, got ${o.hold}`);
  int('decay-start', o.decayStart, 0, 1000000);
  int('patience', o.patience, 0, 1000000);
  if (!(o.timeBudget >= 0 && Number.isFinite(o.timeBudget))) throw new ConfigError(`time budget must be ≥ 0 (0 = none), got ${o.timeBudget}`);
  if (!(OPTIMIZERS as readonly string[]).includes(o.optimizer)) {
    throw new ConfigError(`optimizer must be one of ${OPTIMIZERS.join(', ')}, got ${JSON.stringify(o.optimizer)}`);
  }
  return o;
}
