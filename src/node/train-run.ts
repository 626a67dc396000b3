// `rnnlm train` as a Node library function: read the texts, build the vocabulary, create or
// resume the model, train, and keep the best checkpoint and a resumable state on disk.

import { existsSync } from 'node:fs';
import { ConfigError, InputError } from '../errors.js';
import type { Vocab } from '../data/vocab.js';
import type { Backend } from '../kernels/select.js';
import type { ModelConfig } from '../nn/config.js';
import type { RnnLM } from '../nn/model.js';
import { newModelForText, type NewModelOptions } from '../tasks/prepare.js';
import { decodeTrainState, encodeTrainState, statePath } from '../io/train-state.js';
import { train, trainOptions, type TrainHooks, type TrainOptions, type TrainResult, type TrainState } from '../train/trainer.js';
import { readFileBytes, writeFileAtomicSync } from './atomic.js';
import { saveModel } from './checkpoint-file.js';
import { createNodeKernels } from './platform.js';
import { readText } from './text-file.js';

export interface TrainRunOptions extends Partial<TrainOptions>, NewModelOptions {
  /** Training text: a path or builtin:train (the default). */
  train?: string;
  /** Validation text; default builtin:valid when training on the built-in corpus, else none. */
  valid?: string | null;
  /** Where the best model is written (its state goes to `${save}.state`). */
  save: string;
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

const setImmediateYield = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function trainRun(o: TrainRunOptions): Promise<TrainRunResult> {
  if (!o.save) throw new ConfigError('--save is required: the path where the best model is written');
  const log = o.log ?? (() => {});
  const trainName = o.train ?? 'builtin:train';
  const validName = o.valid === undefined ? (trainName === 'builtin:train' ? 'builtin:valid' : null) : o.valid;
  const kernels = await createNodeKernels({ backend: o.backend ?? 'auto', threads: o.threads });
  log(`backend: ${kernels.name}`);

  let model: RnnLM;
  let vocab: Vocab;
  let trainIds: Int32Array;
  let resumeState: TrainState | undefined;
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
    trainIds = vocab.encode(readText(trainName)).ids;
  } else {
    ({ model, vocab, trainIds } = newModelForText(readText(trainName), o, kernels));
  }
  const validIds = validName ? vocab.encode(readText(validName)).ids : null;
  log(`train ${trainName}: ${trainIds.length} tokens; valid ${validName ?? '(none)'}: ${validIds?.length ?? 0} tokens; vocabulary ${vocab.size}`);

  const save = o.save;
  const hooks: TrainHooks = {
    yieldToEventLoop: setImmediateYield,
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
  const result = await train(model, trainIds, validIds, trainOptions(o), hooks, resumeState);
  return {
    ...result, config: model.config, vocabSize: vocab.size, trainTokens: trainIds.length, validTokens: validIds?.length ?? 0,
    backend: kernels.name, save,
  };
}
