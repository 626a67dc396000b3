// The page's settings: one typed object, its defaults (the library's table, so the page trains
// what `rnnlm train` trains), and its form in the URL hash (#cell=lstm&hidden=100…), so that a
// setup is a link, as in the TensorFlow Playground. Shared by the page and the training Worker.

import { GENERATE_DEFAULTS, MODEL_DEFAULTS, TRAIN_DEFAULTS, defaultLearningRate } from '../defaults.js';
import { CELLS, type Cell } from '../nn/config.js';
import { OPTIMIZERS, type OptimizerName } from '../train/optimizer.js';

export type CorpusKind = 'builtin' | 'text';
export type View = 'train' | 'inside' | 'bptt' | 'models';
export const VIEWS: readonly View[] = ['train', 'inside', 'bptt', 'models'];

export interface Settings {
  /** The built-in grammar corpus, or a pasted / dropped text (not kept in the link). */
  corpus: CorpusKind;
  level: 'word' | 'char';
  cell: Cell;
  embed: number;
  hidden: number;
  layers: number;
  /** Class-factored softmax classes (0 = full softmax). */
  classes: number;
  dropout: number;
  optimizer: OptimizerName;
  lr: number;
  bptt: number;
  batch: number;
  epochs: number;
  clip: number;
  seed: number;
  /** Sampling while training. */
  temperature: number;
  topK: number;
  /** Kernel threads (0 = the platform's default: the cores when cross-origin isolated, else 1). */
  threads: number;
  view: View;
  /** 1: start training as soon as the page has loaded (a link that shows a model learning). */
  autostart: number;
}

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  corpus: 'builtin',
  level: MODEL_DEFAULTS.level,
  cell: MODEL_DEFAULTS.cell,
  embed: MODEL_DEFAULTS.embed,
  hidden: MODEL_DEFAULTS.hidden,
  layers: MODEL_DEFAULTS.layers,
  classes: MODEL_DEFAULTS.classes,
  dropout: MODEL_DEFAULTS.dropout,
  optimizer: TRAIN_DEFAULTS.optimizer,
  lr: defaultLearningRate(MODEL_DEFAULTS.cell, TRAIN_DEFAULTS.optimizer),
  bptt: TRAIN_DEFAULTS.bptt,
  batch: TRAIN_DEFAULTS.batch,
  epochs: TRAIN_DEFAULTS.epochs,
  clip: TRAIN_DEFAULTS.clip,
  seed: TRAIN_DEFAULTS.seed,
  temperature: GENERATE_DEFAULTS.temperature,
  topK: GENERATE_DEFAULTS.topK,
  threads: 0,
  view: 'train',
  autostart: 0,
} as Settings);

type Field = { kind: 'int'; min: number; max: number } | { kind: 'num'; min: number; max: number } | { kind: 'choice'; choices: readonly string[] };

/** How each setting is read from text (the hash or a form field), with its range. */
export const FIELDS: Readonly<Record<keyof Settings, Field>> = {
  corpus: { kind: 'choice', choices: ['builtin', 'text'] },
  level: { kind: 'choice', choices: ['word', 'char'] },
  cell: { kind: 'choice', choices: CELLS },
  embed: { kind: 'int', min: 1, max: 4096 },
  hidden: { kind: 'int', min: 1, max: 4096 },
  layers: { kind: 'int', min: 1, max: 8 },
  classes: { kind: 'int', min: 0, max: 100000 },
  dropout: { kind: 'num', min: 0, max: 0.95 },
  optimizer: { kind: 'choice', choices: OPTIMIZERS },
  lr: { kind: 'num', min: 1e-6, max: 1000 },
  bptt: { kind: 'int', min: 1, max: 1000 },
  batch: { kind: 'int', min: 1, max: 1000 },
  epochs: { kind: 'int', min: 1, max: 10000 },
  clip: { kind: 'num', min: 0, max: 1000 },
  seed: { kind: 'int', min: 0, max: 0xffffffff },
  temperature: { kind: 'num', min: 0.05, max: 5 },
  topK: { kind: 'int', min: 0, max: 100000 },
  threads: { kind: 'int', min: 0, max: 64 },
  view: { kind: 'choice', choices: VIEWS },
  autostart: { kind: 'int', min: 0, max: 1 },
};

/** A setting's value parsed from text, or an error message naming the valid range. */
export function parseField<K extends keyof Settings>(key: K, text: string): { value: Settings[K] } | { error: string } {
  const f = FIELDS[key];
  if (f.kind === 'choice') {
    if (!f.choices.includes(text)) return { error: `${key} must be one of ${f.choices.join(', ')}` };
    return { value: text as Settings[K] };
  }
  const v = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(v) || (f.kind === 'int' && !Number.isInteger(v)) || v < f.min || v > f.max) {
    return { error: `${key} must be ${f.kind === 'int' ? 'an integer' : 'a number'} from ${f.min} to ${f.max}` };
  }
  return { value: v as Settings[K] };
}

/**
 * Sets one setting. A learning rate left at the library's default for the cell and optimizer
 * follows them when either changes, as in `rnnlm train` (SGD's 20 is no rate for Adam, nor for
 * a relu cell); a rate the user typed stays. Returns whether the rate changed with it.
 */
export function applySetting<K extends keyof Settings>(settings: Settings, key: K, value: Settings[K]): boolean {
  const defaultBefore = defaultLearningRate(settings.cell, settings.optimizer);
  settings[key] = value;
  if ((key !== 'cell' && key !== 'optimizer') || settings.lr !== defaultBefore) return false;
  settings.lr = defaultLearningRate(settings.cell, settings.optimizer);
  return settings.lr !== defaultBefore;
}

/** Settings from a location hash ("#a=1&b=2"); unknown keys and invalid values are ignored (and listed). */
export function settingsFromHash(hash: string): { settings: Settings; ignored: string[] } {
  const settings: Settings = { ...DEFAULT_SETTINGS };
  const ignored: string[] = [];
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  for (const [key, text] of params) {
    if (!(key in FIELDS)) {
      ignored.push(key);
      continue;
    }
    const r = parseField(key as keyof Settings, text);
    if ('error' in r) ignored.push(key);
    else (settings as unknown as Record<string, unknown>)[key] = r.value;
  }
  if (!params.has('lr') || ignored.includes('lr')) settings.lr = defaultLearningRate(settings.cell, settings.optimizer);
  return { settings, ignored };
}

/** The hash of the settings that differ from the defaults ("" when none do). */
export function settingsToHash(s: Settings): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(FIELDS) as (keyof Settings)[]) {
    // the rate is written when it is not the default for the link's cell and optimizer
    const byDefault = key === 'lr' ? defaultLearningRate(s.cell, s.optimizer) : DEFAULT_SETTINGS[key];
    if (s[key] !== byDefault) params.set(key, String(s[key]));
  }
  const q = params.toString();
  return q === '' ? '' : `#${q}`;
}
