// Every default and limit in one table: the library, the CLI's flags and help text, and the
// presets all read from here, so a default changes in one place.

/** The model: see ModelConfig (nn/config.ts) for what each field means. */
export const MODEL_DEFAULTS = Object.freeze({
  level: 'word' as 'word' | 'char',
  cell: 'sigmoid' as 'sigmoid' | 'tanh' | 'relu' | 'lstm' | 'gru',
  layers: 1,
  embed: 200,
  hidden: 200,
  dropout: 0,
  tied: false,
  classes: 0,
  forgetBias: 0,
  /** 'classes' whenever classes ≥ 2 are given. */
  output: 'softmax' as 'softmax' | 'classes' | 'hs',
  /** Max-ent table entries (0 = off) and the n-gram order of its features. */
  direct: 0,
  directOrder: 3,
  foldInput: false,
});

type CellName = 'sigmoid' | 'tanh' | 'relu' | 'lstm' | 'gru';
type OptimizerName = 'sgd' | 'adagrad' | 'adam';

/**
 * The initial learning rate when none is given, by optimizer and cell: rates that train a
 * 32-unit model of each cell well with the other defaults (B 20, T 35, clip 0.25) on a PTB slice
 * and on the built-in corpus (bench/lr-sweep.ts; README, "Learning rates"). SGD's rate is per
 * unit of the mean loss over the B·T tokens of a segment; Adam's and Adagrad's are step sizes.
 */
export const LEARNING_RATES: Readonly<Record<OptimizerName, Readonly<Record<CellName, number>>>> = Object.freeze({
  sgd: Object.freeze({ sigmoid: 20, tanh: 5, relu: 1, lstm: 20, gru: 10 }),
  adagrad: Object.freeze({ sigmoid: 0.1, tanh: 0.1, relu: 0.03, lstm: 0.1, gru: 0.1 }),
  adam: Object.freeze({ sigmoid: 0.002, tanh: 0.002, relu: 0.001, lstm: 0.002, gru: 0.002 }),
});

/** The default initial learning rate of `cell` trained with `optimizer` (LEARNING_RATES). */
export function defaultLearningRate(cell: CellName, optimizer: OptimizerName): number {
  return LEARNING_RATES[optimizer][cell];
}

/** Training: see TrainOptions (train/trainer.ts). */
export const TRAIN_DEFAULTS = Object.freeze({
  batch: 20,
  bptt: 35,
  epochs: 10,
  /** For SGD on the default (sigmoid) cell; trainRun and the CLI take LEARNING_RATES by cell and optimizer. */
  lr: LEARNING_RATES.sgd.sigmoid,
  optimizer: 'sgd' as 'sgd' | 'adagrad' | 'adam',
  clip: 0.25,
  lrDecay: 4,
  schedule: 'plateau' as 'plateau' | 'fixed' | 'budget',
  decayStart: 4,
  /** Budget schedule: the share of the time budget at the initial rate before the linear decay. */
  hold: 0.25,
  patience: 0,
  seed: 1,
  /** Seconds; 0 = no budget. */
  timeBudget: 0,
});

/** The vocabulary built from a training text: see VocabOptions (data/vocab.ts). */
export const VOCAB_DEFAULTS = Object.freeze({
  /** Cap including <eos> and <unk>; 0 = none. */
  maxVocab: 0,
  minCount: 1,
});

/** Sampling: see GenerateOptions (infer/generate.ts). */
export const GENERATE_DEFAULTS = Object.freeze({
  length: 100,
  temperature: 1,
  topK: 0,
  seed: 1,
});

/** Optimizer hyper-parameters (not flags): Adam's and Adagrad's usual values. */
export const OPTIMIZER_HYPER = Object.freeze({
  sgd: Object.freeze({ beta1: 0, beta2: 0, eps: 0 }),
  adagrad: Object.freeze({ beta1: 0, beta2: 0, eps: 1e-10 }),
  adam: Object.freeze({ beta1: 0.9, beta2: 0.999, eps: 1e-8 }),
});

/** Upper limits that the library checks and the CLI's flag parsers use. */
export const LIMITS = Object.freeze({
  /** Kernel threads, the calling thread included. */
  threads: 64,
  layers: 16,
  /** embed and hidden. */
  width: 65536,
  /** Vocabulary size. */
  vocab: 1 << 24,
  /** Bytes of kernel memory a model may use: the wasm32 memory's 4 GiB (nn/memory.ts checks it up front). */
  memoryBytes: 2 ** 32,
});

/** The gradient check's tiny model and its finite differences (nn/gradcheck.ts). */
export const GRADCHECK_DEFAULTS = Object.freeze({
  cell: 'sigmoid' as 'sigmoid' | 'tanh' | 'relu' | 'lstm' | 'gru',
  layers: 2,
  /** BPTT steps T and streams B. */
  steps: 5,
  batch: 2,
  embed: 4,
  hidden: 5,
  dropout: 0,
  classes: 0,
  /** Max-ent table entries of the checked model (0 = off) and its n-gram order. */
  direct: 0,
  directOrder: 3,
  seed: 1,
  /** Finite-difference step, and the floor of the relative error's denominator. */
  eps: 1e-4,
  floor: 1e-5,
});
