// Named training recipes that reproduce known results. A preset fills in options that are not
// given explicitly; flags on the command line still win. Each entry documents its source and
// the figure it reaches here (README, "Results").

import { ConfigError } from '../errors.js';
import type { TrainOptions } from '../train/options.js';
import type { NewModelOptions } from './prepare.js';

/** What a preset sets: model and training options. */
export type PresetOptions = Partial<TrainOptions> & NewModelOptions;

export interface Preset {
  /** What it reproduces. */
  readonly about: string;
  readonly options: Readonly<PresetOptions>;
  /**
   * The time budget (minutes) its documented figure is for. A budgeted preset trains for it unless
   * --time-budget says otherwise, its rate following the budget schedule (held, then linearly down
   * to near zero at the budget's end), so that it fits a corpus of any size without counting epochs.
   */
  readonly minutes?: number;
}

/** A preset that trains for `minutes` under the budget schedule. */
function budgeted(about: string, minutes: number, options: PresetOptions): Preset {
  return { about, minutes, options: { ...options, schedule: 'budget', timeBudget: minutes * 60, epochs: 1000 } };
}

export const PRESETS: Readonly<Record<string, Preset>> = Object.freeze({
  mikolov: budgeted(
    "the notes' sigmoid Elman network at the size of Mikolov's RNNLM runs: hidden 200, 100 frequency classes; " +
      'Adam, dropout 0.1, the budget schedule over 2 minutes (PTB test 139.43 in 2 minutes on 2 threads here)',
    2,
    { cell: 'sigmoid', embed: 200, hidden: 200, classes: 100, layers: 1, dropout: 0.1, batch: 20, bptt: 35, lr: 0.003, clip: 1, optimizer: 'adam' },
  ),
  'zaremba-small': {
    about:
      'Zaremba et al. (2014) "small": 2×200 LSTM, T=20, B=20, SGD, 13 epochs, lr halved each epoch after the 4th. ' +
      'Their loss is summed over the T steps (lr 1, clip 5); ours is the mean over T·B tokens, so the same steps are lr 20, clip 0.25. ' +
      'Here: PTB test 123.25 with --classes 100 (51 minutes, one thread); with the full softmax the 13 epochs take about 75 minutes on 2 threads',
    options: {
      cell: 'lstm', layers: 2, embed: 200, hidden: 200, batch: 20, bptt: 20, lr: 20, clip: 0.25, optimizer: 'sgd',
      epochs: 13, schedule: 'fixed', decayStart: 4, lrDecay: 2, dropout: 0,
    },
  },
  'lstm-tied': budgeted(
    '2×200 LSTM as zaremba-small, regularised: tied weights (Press & Wolf 2017), dropout 0.25, 100 classes, T=35; ' +
      'SGD lr 20 under the budget schedule over 15 minutes (PTB test 95.99 in 15 minutes on 2 threads here)',
    15,
    { cell: 'lstm', layers: 2, embed: 200, hidden: 200, tied: true, dropout: 0.25, classes: 100, batch: 20, bptt: 35, lr: 20, clip: 0.25, optimizer: 'sgd' },
  ),
});

export function presetOptions(name: string): PresetOptions {
  const p = PRESETS[name];
  if (!p) throw new ConfigError(`unknown preset ${JSON.stringify(name)}: choose one of ${Object.keys(PRESETS).join(', ')}`);
  return { ...p.options };
}
