// `rnnlm train` as a library function: read the texts, build the vocabulary, create or
// resume the model, train, and keep the best checkpoint and a resumable state on disk.

import { existsSync } from 'node:fs';
import { ConfigError, InputError } from '../errors.js';
import { Vocab, type Level } from '../data/vocab.js';
import { createKernels, type Backend } from '../kernels/select.js';
import { makeConfig, type Cell, type ModelConfig } from '../nn/config.js';
import { RnnLM } from '../nn/model.js';
import { assignClasses, unigramCounts } from '../nn/classes.js';
import { Rng } from '../rng.js';
import { readFileBytes, writeFileAtomicSync } from '../io/atomic.js';
import { saveModel } from '../io/checkpoint-file.js';
import { readText } from '../io/text.js';
import { decodeTrainState, encodeTrainState, statePath } from '../io/train-state.js';
import { DEFAULT_TRAIN, train, type TrainHooks, type TrainOptions, type TrainResult } from '../train/trainer.js';

export type { Backend } from '../kernels/select.js';

export interface TrainRunOptions extends Partial<TrainOptions> {
  /** Training text: a path or builtin:train (the default). */
  train?: string;
  /** Validation text; default builtin:valid when training on the built-in corpus, else none. */
  valid?: string | null;
  /** Where the best model is written (its state goes to `${save}.state`). */
  save: string;
  level?: Level;
  cell?: Cell;
  layers?: number;
  embed?: number;
  hidden?: number;
  /** Dropout probability (0 = off), tied weights, class-factored softmax classes (0 = off), LSTM forget bias: see ModelConfig. */
  dropout?: number;
  tied?: boolean;
  classes?: number;
  forgetBias?: number;
  /** Vocabulary cap (0 = none) and minimum count, applied to the training text. */
  maxVocab?: number;
  minCount?: number;
  /** Continue the run saved at `${save}.state` (with its own options; `epochs` and `timeBudget` given here override). */
  resume?: boolean;
  backend?: Backend;
  threads?: number;
  hooks?: TrainHooks;
  /** Informational messages (which backend, corpus sizes, …). */
  log?: (line: string) => void;
}

export interface TrainRunResult extends TrainResult {
  config: ModelConfig;
  vocabSize: number;
  trainTokens: number;
  validTokens: number;
  backend: string;
  save: string;
}

export async function trainRun(o: TrainRunOptions): Promise<TrainRunResult> {
  if (!o.save) throw new ConfigError('--save is required: the path where the best model is written');
  const log = o.log ?? (() => {});
  const trainName = o.train ?? 'builtin:train';
  const validName = o.valid === undefined ? (trainName === 'builtin:train' ? 'builtin:valid' : null) : o.valid;
  const kernels = await createKernels({ backend: o.backend ?? 'auto', threads: o.threads });
  log(`backend: ${kernels.name}`);

  let model: RnnLM;
  let vocab: Vocab;
  let resumeState;
  if (o.resume) {
    const sp = statePath(o.save);
    if (!existsSync(sp)) throw new InputError(`nothing to resume: ${sp} does not exist (train without --resume first)`);
    ({ model, vocab, state: resumeState } = decodeTrainState(readFileBytes(sp), kernels, sp));
    // The run continues with its own options; only its length may be changed on resume.
    resumeState.options = {
      ...resumeState.options,
      epochs: o.epochs ?? resumeState.options.epochs,
      timeBudget: o.timeBudget ?? resumeState.options.timeBudget ?? 0,
    };
    log(`resuming ${sp}: epoch ${resumeState.epoch + 1}, batch ${resumeState.segment}, step ${resumeState.step} of a run of ${resumeState.options.epochs} epochs`);
  } else {
    const text = readText(trainName);
    vocab = Vocab.build(text, o.level ?? 'word', { maxVocab: o.maxVocab ?? 0, minCount: o.minCount ?? 1 });
    const config = makeConfig({
      level: o.level, cell: o.cell, layers: o.layers, embed: o.embed, hidden: o.hidden, vocabSize: vocab.size,
      dropout: o.dropout, tied: o.tied, classes: o.classes, forgetBias: o.forgetBias,
    });
    // A class-factored softmax bins words by their training counts (Mikolov's equal-mass classes).
    const wordClasses = config.classes > 0 ? assignClasses(unigramCounts(vocab.encode(text).ids, vocab.size), config.classes) : undefined;
    model = new RnnLM(config, kernels, { wordClasses });
    model.init(new Rng(o.seed ?? DEFAULT_TRAIN.seed));
  }
  const trainIds = vocab.encode(readText(trainName)).ids;
  const validIds = validName ? vocab.encode(readText(validName)).ids : null;
  log(`train ${trainName}: ${trainIds.length} tokens; valid ${validName ?? '(none)'}: ${validIds?.length ?? 0} tokens; vocabulary ${vocab.size}`);

  const options: TrainOptions = {
    batch: o.batch ?? DEFAULT_TRAIN.batch,
    bptt: o.bptt ?? DEFAULT_TRAIN.bptt,
    epochs: o.epochs ?? DEFAULT_TRAIN.epochs,
    lr: o.lr ?? DEFAULT_TRAIN.lr,
    optimizer: o.optimizer ?? DEFAULT_TRAIN.optimizer,
    clip: o.clip ?? DEFAULT_TRAIN.clip,
    lrDecay: o.lrDecay ?? DEFAULT_TRAIN.lrDecay,
    schedule: o.schedule ?? DEFAULT_TRAIN.schedule,
    decayStart: o.decayStart ?? DEFAULT_TRAIN.decayStart,
    patience: o.patience ?? DEFAULT_TRAIN.patience,
    seed: o.seed ?? DEFAULT_TRAIN.seed,
    timeBudget: o.timeBudget ?? DEFAULT_TRAIN.timeBudget,
  };
  const save = o.save;
  const hooks: TrainHooks = {
    ...o.hooks,
    saveBest: (m) => {
      saveModel(save, m, vocab);
      o.hooks?.saveBest?.(m);
    },
    saveState: (m, st) => {
      writeFileAtomicSync(statePath(save), encodeTrainState(m, vocab, st));
      o.hooks?.saveState?.(m, st);
    },
  };
  const result = await train(model, trainIds, validIds, options, hooks, resumeState);
  return {
    ...result, config: model.config, vocabSize: vocab.size, trainTokens: trainIds.length, validTokens: validIds?.length ?? 0,
    backend: kernels.name, save,
  };
}
