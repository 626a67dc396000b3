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
  /** The time budget (minutes) its documented figure is for, used by `npm run recipes`. */
  readonly minutes?: number;
}

export const PRESETS: Readonly<Record<string, Preset>> = Object.freeze({
  mikolov: {
    about:
      "the notes' sigmoid Elman network at the size of Mikolov's RNNLM runs: hidden 200, 100 frequency classes; " +
      'trained with Adam, dropout 0.25, lr halved every epoch after the 2nd (PTB test 142.63 after 4 minutes here)',
    options: {
      cell: 'sigmoid', embed: 200, hidden: 200, classes: 100, layers: 1, dropout: 0.25,
      batch: 20, bptt: 35, lr: 0.003, clip: 1, optimizer: 'adam', schedule: 'fixed', decayStart: 2, lrDecay: 2, epochs: 20,
    },
  },
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
  'lstm-tied': {
    about:
      '2×200 LSTM as zaremba-small, regularised: tied weights (Press & Wolf 2017), dropout 0.25, 100 classes, T=35; ' +
      'SGD lr 20 for 7 epochs, then divided by 1.6 every epoch (PTB test 97.07 after 60 minutes, 23 epochs, on one thread here)',
    options: {
      cell: 'lstm', layers: 2, embed: 200, hidden: 200, tied: true, dropout: 0.25, classes: 100, batch: 20, bptt: 35,
      lr: 20, clip: 0.25, optimizer: 'sgd', schedule: 'fixed', decayStart: 7, lrDecay: 1.6, epochs: 40,
    },
  },
});

export function presetOptions(name: string): PresetOptions {
  const p = PRESETS[name];
  if (!p) throw new ConfigError(`unknown preset ${JSON.stringify(name)}: choose one of ${Object.keys(PRESETS).join(', ')}`);
  return { ...p.options };
}
