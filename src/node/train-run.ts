// `rnnlm train` as a Node library function: read the texts, build the vocabulary, create or
// resume the model, train, and keep the best checkpoint and a resumable state on disk.
//
// A new run refuses to start over an existing model or state unless `force` is given (it would
// replace them after its first epoch). A resumed run continues with its own model and options;
// of the options given with `resume`, only those in RESUME_OVERRIDES (how long it goes on) may
// differ from the saved ones: any other that differs is refused, by name. The texts are read in
// pieces (text-file.ts), so that training holds the corpus as its token ids only.

import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, InputError, OutputError } from '../errors.js';
import { defaultLearningRate, MODEL_DEFAULTS, TRAIN_DEFAULTS } from '../defaults.js';
import type { Vocab } from '../data/vocab.js';
import type { Backend } from '../kernels/select.js';
import type { ModelConfig } from '../nn/config.js';
import type { RnnLM } from '../nn/model.js';
import { newModelForVocab, type NewModelOptions } from '../tasks/prepare.js';
import { decodeTrainState, encodeTrainState, statePath } from '../io/train-state.js';
import { train, trainOptions, type TrainHooks, type TrainOptions, type TrainResult, type TrainState } from '../train/trainer.js';
import { readFileBytes, writeFileAtomicSync } from './atomic.js';
import { saveModel } from './checkpoint-file.js';
import { createNodeKernels } from './platform.js';
import { idsOfText, vocabFromText } from './text-file.js';

export interface TrainRunOptions extends Partial<TrainOptions>, NewModelOptions {
  /** Training text: a path or builtin:train (the default). */
  train?: string;
  /** Validation text; default builtin:valid when training on the built-in corpus, else none. */
  valid?: string | null;
  /** Where the best model is written (its state goes to `${save}.state`). */
  save: string;
  /**
   * Continue the run saved at `${save}.state`, with its own model and options. Options given here
   * must equal the saved ones, except RESUME_OVERRIDES (epochs, timeBudget, patience).
   */
  resume?: boolean;
  /** Start a new run even where `save` or its state exists (both are replaced after its first epoch). */
  force?: boolean;
  backend?: Backend;
  threads?: number;
  hooks?: TrainHooks;
  /** Informational messages (corpus sizes, what is resumed). */
  log?: (line: string) => void;
  /** Details: the backend chosen, memory in use (the CLI prints them with --verbose). */
  detail?: (line: string) => void;
  /** Called once before training with the options in force (the saved run's on resume) and the model's config. */
  onStart?: (run: { options: TrainOptions; config: ModelConfig }) => void;
}

export interface TrainRunResult extends TrainResult {
  config: ModelConfig;
  /** The options in force (on resume: the saved run's, with RESUME_OVERRIDES applied). */
  options: TrainOptions;
  vocabSize: number;
  trainTokens: number;
  validTokens: number;
  backend: string;
  save: string;
  /** On resume of a run with nothing left to do: why (its epochs, patience or time budget are spent); else null. */
  alreadyDone: string | null;
}

/** The options a resumed run may change: how long it goes on. */
export const RESUME_OVERRIDES = ['epochs', 'timeBudget', 'patience'] as const;

/** The model options a run keeps in its config, and the training options it keeps in its state. */
const CONFIG_KEYS = ['level', 'cell', 'layers', 'embed', 'hidden', 'dropout', 'tied', 'classes', 'forgetBias'] as const;
const VOCAB_KEYS = ['maxVocab', 'minCount'] as const;

/** An option's command-line flag: forgetBias -> --forget-bias. */
export const flagOf = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

const setImmediateYield = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function trainRun(o: TrainRunOptions): Promise<TrainRunResult> {
  if (!o.save) throw new ConfigError('--save is required: the path where the best model is written');
  const log = o.log ?? (() => {});
  const detail = o.detail ?? (() => {});
  const trainName = o.train ?? 'builtin:train';
  const validName = o.valid === undefined ? (trainName === 'builtin:train' ? 'builtin:valid' : null) : o.valid;
  checkSavePath(o);
  const kernels = await createNodeKernels({ backend: o.backend ?? 'auto', threads: o.threads });
  detail(`backend: ${kernels.name}`);

  let model: RnnLM;
  let vocab: Vocab;
  let trainIds: Int32Array;
  let options: TrainOptions;
  let resumeState: TrainState | undefined;
  let alreadyDone: string | null = null;
  // Kept in the state, so that a resumed run can tell whether --max-vocab / --min-count differ.
  let vocabOptions: string | undefined = JSON.stringify({ maxVocab: o.maxVocab ?? 0, minCount: o.minCount ?? 1 });
  if (o.resume) {
    ({ model, vocab, state: resumeState, options, vocabOptions } = resumeSaved(o, kernels));
    alreadyDone = finishedReason(resumeState, options);
    log(`resuming ${statePath(o.save)}: epoch ${resumeState.epoch + 1}, batch ${resumeState.segment}, step ${resumeState.step} of a run of ${options.epochs} epochs`);
    trainIds = idsOfText(trainName, vocab).ids;
  } else {
    const cell = o.cell ?? MODEL_DEFAULTS.cell;
    options = trainOptions({ ...o, lr: o.lr ?? defaultLearningRate(cell, o.optimizer ?? TRAIN_DEFAULTS.optimizer) });
    const built = vocabFromText(trainName, o.level ?? MODEL_DEFAULTS.level, { maxVocab: o.maxVocab, minCount: o.minCount });
    vocab = built.vocab;
    trainIds = idsOfText(trainName, vocab, built.tokens).ids;
    model = newModelForVocab(vocab, trainIds, { ...o, seed: o.seed ?? options.seed }, kernels, { batch: options.batch, bptt: options.bptt, optimizer: options.optimizer });
  }
  const validIds = validName ? idsOfText(validName, vocab).ids : null;
  log(`train ${trainName}: ${trainIds.length} tokens; valid ${validName ?? '(none)'}: ${validIds?.length ?? 0} tokens; vocabulary ${vocab.size}`);
  detail(`memory: rss ${mb(process.memoryUsage().rss)} MB (training ids ${mb(trainIds.byteLength)} MB), ${process.uptime().toFixed(1)} s after start`);
  const base = {
    config: model.config, options, vocabSize: vocab.size, trainTokens: trainIds.length, validTokens: validIds?.length ?? 0,
    backend: kernels.name, save: o.save, alreadyDone,
  };
  if (alreadyDone !== null) return { ...doneResult(resumeState!), ...base };
  o.onStart?.({ options, config: model.config });

  const save = o.save;
  const extra: Record<string, string> = vocabOptions === undefined ? {} : { vocab_options: vocabOptions };
  const hooks: TrainHooks = {
    yieldToEventLoop: setImmediateYield,
    ...o.hooks,
    saveBest: (m) => {
      stopOnWriteFailure(save, () => saveModel(save, m, vocab));
      o.hooks?.saveBest?.(m);
    },
    saveState: (m, st) => {
      stopOnWriteFailure(save, () => writeFileAtomicSync(statePath(save), encodeTrainState(m, vocab, st, extra)));
      o.hooks?.saveState?.(m, st);
    },
  };
  const result = await train(model, trainIds, validIds, options, hooks, resumeState);
  return { ...result, ...base };
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

/**
 * Refuse to write where the directory is missing, and (without resume or force) over an existing
 * model or state: a new run would replace them after its first epoch.
 */
function checkSavePath(o: TrainRunOptions): void {
  const dir = dirname(o.save);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new OutputError(`cannot write ${o.save}: the directory ${dir} does not exist; create it, or choose another --save`, 'ENOENT');
  }
  if (o.resume || o.force) return;
  const there = [o.save, statePath(o.save)].filter((p) => existsSync(p));
  if (there.length > 0) {
    throw new ConfigError(
      `${there.join(' and ')} already exist${there.length === 1 ? 's' : ''}: a new run would replace ${there.length === 1 ? 'it' : 'them'} ` +
      'after its first epoch. Continue that run with --resume, start a new one over it with --force, or choose another --save',
      1,
    );
  }
}

/** The saved run: model, state, and its options with RESUME_OVERRIDES applied; refuses other options that differ. */
function resumeSaved(o: TrainRunOptions, kernels: Awaited<ReturnType<typeof createNodeKernels>>) {
  const sp = statePath(o.save);
  if (!existsSync(sp)) throw new InputError(`nothing to resume: ${sp} does not exist (train without --resume first)`);
  const decoded = decodeTrainState(readFileBytes(sp), kernels, sp);
  const { model, state } = decoded;
  const vocabOptions = decoded.metadata.vocab_options;
  const savedVocab = parseVocabOptions(vocabOptions);
  const given = o as unknown as Record<string, unknown>;
  const saved: Record<string, unknown> = { ...model.config, ...state.options, ...savedVocab };
  const keys = [...CONFIG_KEYS, ...Object.keys(state.options).filter((k) => !(RESUME_OVERRIDES as readonly string[]).includes(k)), ...VOCAB_KEYS];
  const differ = keys.filter((k) => given[k] !== undefined && k in saved && given[k] !== saved[k]);
  if (differ.length > 0) {
    const list = differ.map((k) => `${flagOf(k)} ${String(given[k])} (the saved run has ${String(saved[k])})`).join(', ');
    throw new ConfigError(
      `--resume continues the run saved at ${sp} with its own settings, and these differ from it: ${list}. ` +
      `Drop them to continue it (only ${RESUME_OVERRIDES.map(flagOf).join(', ')} may change), or start a new run with --force`,
      1,
    );
  }
  const options: TrainOptions = { ...state.options };
  for (const k of RESUME_OVERRIDES) if (o[k] !== undefined) (options as unknown as Record<string, unknown>)[k] = o[k];
  state.options = options;
  return { model, vocab: decoded.vocab, state, options, vocabOptions };
}

/** The "vocab_options" a state keeps ({maxVocab, minCount}); {} where absent or unreadable (older states). */
function parseVocabOptions(text: string | undefined): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text ?? '{}');
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

/** Why a saved run has nothing left to do, or null. */
function finishedReason(state: TrainState, options: TrainOptions): string | null {
  if (state.epoch >= options.epochs) return `it has run all ${options.epochs} epoch(s); give --epochs above ${state.epoch} to train it further`;
  if (options.patience > 0 && state.sinceBest >= options.patience) {
    return `it stopped early after ${state.sinceBest} epoch(s) without improvement; give a larger --patience (or 0) to train it further`;
  }
  if (options.timeBudget > 0 && state.seconds >= options.timeBudget) {
    return `its time budget of ${(options.timeBudget / 60).toPrecision(3)} min is spent; give a larger --time-budget to train it further`;
  }
  return null;
}

/** The result of a resumed run that had nothing to do: the saved figures, no steps this session. */
function doneResult(state: TrainState): TrainResult {
  const last = state.history[state.history.length - 1];
  return {
    epochs: state.history.length, steps: state.step, seconds: state.seconds, tokensPerSec: 0,
    trainPerplexity: last?.trainPerplexity ?? NaN, validPerplexity: last?.validPerplexity ?? null,
    bestValidPerplexity: state.bestValid === null ? null : Math.exp(state.bestValid), history: state.history,
    interrupted: false, budgetSpent: false, stoppedEarly: false,
  };
}

/** Run a save; a failed write stops training with what is still on disk and how to go on. */
function stopOnWriteFailure(save: string, write: () => void): void {
  try {
    write();
  } catch (e) {
    if (!(e instanceof OutputError)) throw e;
    const sp = statePath(save);
    const next = existsSync(sp) ? `the last saved state ${sp} continues the run with --resume` : 'no resumable state was saved yet';
    throw new OutputError(`${e.message}. Training stopped; ${next}`, e.code);
  }
}
