// Training by truncated backpropagation through time.
// The token stream is cut into B streams and segments of T steps (batches.ts); the hidden
// state is carried from segment to segment with the gradient cut between them, and reset at
// the start of each epoch. Each step minimises the mean cross-entropy of the segment's T·B
// predictions. After each epoch: exact validation perplexity; if it improved, the best model
// is saved, otherwise the learning rate is divided by `lrDecay` (the classic schedule).
// Legend: B batch (streams), T bptt steps, L layers, H hidden.

import { ConfigError, DivergenceError } from '../errors.js';
import type { Arr } from '../kernels/kernels.js';
import { batchify, segment, segmentCount } from '../data/batches.js';
import type { RnnLM } from '../nn/model.js';
import { Rng } from '../rng.js';
import { evaluateIds } from './evaluate.js';
import { Optimizer, OPTIMIZERS, clipGradNorm, type OptimizerName } from './optimizer.js';

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
   * did not improve) or 'fixed' (after every epoch from `decayStart` on, as Zaremba et al.).
   */
  schedule: 'plateau' | 'fixed';
  /** For the fixed schedule: epochs at the initial rate before decaying. */
  decayStart: number;
  /** Early stopping: stop after this many epochs in a row without improvement (0 = off). */
  patience: number;
  /** Seed of the run's random stream (initialisation is seeded by the caller). */
  seed: number;
  /**
   * Wall-clock budget in seconds for the whole run (0 = none). When it is spent mid-epoch, the
   * epoch ends there: validation, best checkpoint and state are written as at an epoch's end.
   */
  timeBudget: number;
}

export const DEFAULT_TRAIN: Readonly<TrainOptions> = Object.freeze({
  batch: 20, bptt: 35, epochs: 10, lr: 20, optimizer: 'sgd', clip: 0.25, lrDecay: 4, schedule: 'plateau', decayStart: 4, patience: 0, seed: 1, timeBudget: 0,
});

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
  if (o.schedule !== 'plateau' && o.schedule !== 'fixed') throw new ConfigError(`schedule must be plateau or fixed, got ${JSON.stringify(o.schedule)}`);
  int('decay-start', o.decayStart, 0, 1000000);
  int('patience', o.patience, 0, 1000000);
  if (!(o.timeBudget >= 0 && Number.isFinite(o.timeBudget))) throw new ConfigError(`time budget must be ≥ 0 (0 = none), got ${o.timeBudget}`);
  if (!(OPTIMIZERS as readonly string[]).includes(o.optimizer)) {
    throw new ConfigError(`optimizer must be one of ${OPTIMIZERS.join(', ')}, got ${JSON.stringify(o.optimizer)}`);
  }
  return o;
}

export interface EpochRecord {
  epoch: number;
  trainPerplexity: number;
  validPerplexity: number | null;
  lr: number;
  seconds: number;
  tokensPerSec: number;
}

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainState {
  /** Current epoch, 0-based. */
  epoch: number;
  /** Next segment of that epoch. */
  segment: number;
  /** Optimizer steps taken. */
  step: number;
  lr: number;
  /** Best validation cross-entropy so far (nats/token), or null. */
  bestValid: number | null;
  /** Epochs in a row without a validation improvement (for early stopping). */
  sinceBest: number;
  rng: number[];
  /** Σ nll and token count of the current epoch so far (for its train perplexity). */
  epochNll: number;
  epochTokens: number;
  history: EpochRecord[];
  /** Wall seconds and tokens trained before this session (for overall tokens/s). */
  seconds: number;
  tokens: number;
  /** Fingerprint of the training ids, so a resume on other data is refused. */
  dataHash: string;
  options: TrainOptions;
  /** Recurrent state [L, B, H] at `segment`. */
  hidden: Float32Array | Float64Array;
  /** Optimizer update count and buffers (same layout as the parameters). */
  optimizerT: number;
  optimizerState: Map<string, Arr>;
}

export interface StepInfo {
  epoch: number;
  epochs: number;
  segment: number;
  segments: number;
  step: number;
  /** Mean loss of the epoch so far (nats/token) and its perplexity. */
  loss: number;
  perplexity: number;
  lr: number;
  /** Training tokens per second in this session. */
  tokensPerSec: number;
  gradNorm: number;
}

export interface TrainHooks {
  /** Aborting finishes the current step, saves a resumable state, and returns. */
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void;
  onEpoch?: (rec: EpochRecord, improved: boolean) => void;
  /** Called when validation improved (or every epoch without validation): persist the best model. */
  saveBest?: (model: RnnLM) => void;
  /** Called at epoch ends and on interruption: persist a resumable state. */
  saveState?: (model: RnnLM, state: TrainState) => void;
  /** Called before each validation pass. */
  onValidate?: () => void;
}

export interface TrainResult {
  epochs: number;
  steps: number;
  seconds: number;
  tokensPerSec: number;
  trainPerplexity: number;
  validPerplexity: number | null;
  bestValidPerplexity: number | null;
  history: EpochRecord[];
  interrupted: boolean;
  /** The run stopped because --time-budget was spent. */
  budgetSpent: boolean;
  /** The run stopped early: `patience` epochs without improvement. */
  stoppedEarly: boolean;
}

/** FNV-1a over the ids, as hex: a cheap fingerprint of the training data. */
export function idsHash(ids: Int32Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < ids.length; i++) {
    h ^= ids[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${ids.length}:${h.toString(16)}`;
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Train `model` (already initialised, or restored along with `resume`) on token ids.
 * Returns when the epochs are done or the signal aborts; throws DivergenceError on a
 * non-finite loss or gradient (nothing is saved after the last good epoch).
 */
export async function train(
  model: RnnLM, trainIds: Int32Array, validIds: Int32Array | null, options: TrainOptions,
  hooks: TrainHooks = {}, resume?: TrainState,
): Promise<TrainResult> {
  const opts = validateTrainOptions(resume ? resume.options : options);
  const k = model.kernels;
  const { batch: B, bptt: T } = opts;
  const data = batchify(trainIds, B);
  const segments = segmentCount(data, T);
  if (segments === 0) {
    throw new ConfigError(`the training text has ${trainIds.length} tokens: too few for ${B} streams (--batch); it needs at least ${2 * B}`);
  }
  const dataHash = idsHash(trainIds);
  const optimizer = new Optimizer(opts.optimizer, (n) => model.alloc(n), model.params.length);
  const rng = new Rng(opts.seed);
  const hidden = model.newState(B);
  let st: Omit<TrainState, 'hidden' | 'optimizerState' | 'optimizerT'>;
  if (resume) {
    if (resume.dataHash !== dataHash) {
      throw new ConfigError(`the training text differs from the one this run started with (fingerprint ${dataHash}, state has ${resume.dataHash})`);
    }
    st = { ...resume, sinceBest: resume.sinceBest ?? 0, history: [...resume.history] };
    rng.setState(resume.rng);
    hidden.set(resume.hidden);
    optimizer.t = resume.optimizerT;
    for (const [name, buf] of optimizer.state) {
      const saved = resume.optimizerState.get(name);
      if (!saved || saved.length !== buf.length) throw new ConfigError(`resume state lacks optimizer buffer "${name}" of ${buf.length} values`);
      buf.set(saved);
    }
  } else {
    st = {
      epoch: 0, segment: 0, step: 0, lr: opts.lr, bestValid: null, sinceBest: 0, rng: rng.getState(), epochNll: 0, epochTokens: 0,
      history: [], seconds: 0, tokens: 0, dataHash, options: opts,
    };
  }

  const snapshot = (): TrainState => ({
    ...st, history: [...st.history], rng: rng.getState(), hidden: hidden.slice(),
    optimizerT: optimizer.t, optimizerState: optimizer.state,
  });

  const t0 = performance.now();
  let sessionTokens = 0;
  let trainSeconds = 0; // this session, excluding validation
  let lastYield = t0;
  let interrupted = false;
  let budgetSpent = false;
  let stoppedEarly = false;
  const secondsBefore = st.seconds; // wall time of earlier sessions of this run
  const seconds = (): number => secondsBefore + (performance.now() - t0) / 1000;

  epochs: while (st.epoch < opts.epochs) {
    if (st.segment === 0) {
      hidden.fill(0); // h(0) = 0 at the start of the text
      st.epochNll = 0;
      st.epochTokens = 0;
    }
    const epochStart = performance.now();
    const epochTokens0 = st.epochTokens;
    let stepStart = performance.now();
    for (; st.segment < segments; ) {
      const { x, y, len } = segment(data, T, st.segment);
      const N = len * B;
      model.zeroGrad();
      model.forward(x, len, B, hidden, { train: true, rng }); // rng: dropout masks (none drawn at dropout 0)
      const nll = model.loss(y, true, 1 / N);
      st.step++;
      // A mean loss whose perplexity overflows (> ~709 nats/token, ln V is ~9) has diverged too.
      if (!Number.isFinite(Math.exp(nll / N))) {
        throw new DivergenceError(`training diverged at step ${st.step} (epoch ${st.epoch + 1}, batch ${st.segment + 1}/${segments}): the loss is ${(nll / N).toPrecision(4)} nats/token; lower --lr or set --clip`, st.step);
      }
      model.backward();
      const norm = clipGradNorm(k, model.grads, opts.clip);
      if (!Number.isFinite(norm)) {
        throw new DivergenceError(`training diverged at step ${st.step} (epoch ${st.epoch + 1}, batch ${st.segment + 1}/${segments}): the gradient norm is ${norm}; lower --lr or set --clip`, st.step);
      }
      optimizer.step(k, model.params, model.grads, st.lr);
      st.segment++;
      st.epochNll += nll;
      st.epochTokens += N;
      st.tokens += N;
      sessionTokens += N;
      const now = performance.now();
      trainSeconds += (now - stepStart) / 1000;
      if (hooks.onStep) {
        const loss = st.epochNll / st.epochTokens;
        hooks.onStep({
          epoch: st.epoch, epochs: opts.epochs, segment: st.segment, segments, step: st.step, loss, perplexity: Math.exp(loss),
          lr: st.lr, tokensPerSec: sessionTokens / Math.max(trainSeconds, 1e-9), gradNorm: norm,
        });
      }
      if (now - lastYield > 50) {
        await yieldToEventLoop(); // lets signals (Ctrl-C) and timers run
        lastYield = performance.now();
      }
      stepStart = performance.now();
      if (opts.timeBudget > 0 && seconds() >= opts.timeBudget) {
        budgetSpent = true;
        break;
      }
      if (hooks.signal?.aborted && st.segment < segments) {
        interrupted = true;
        st.seconds = seconds();
        hooks.saveState?.(model, snapshot());
        break epochs;
      }
    }
    // End of epoch: validate, schedule, save.
    const trainPpl = Math.exp(st.epochNll / st.epochTokens);
    const epochSeconds = (performance.now() - epochStart) / 1000;
    let validPpl: number | null = null;
    let validCe = 0;
    let improved = true;
    if (validIds && validIds.length > 0) {
      hooks.onValidate?.();
      const ev = evaluateIds(model, validIds);
      if (!Number.isFinite(ev.perplexity)) {
        throw new DivergenceError(`training diverged in epoch ${st.epoch + 1} (step ${st.step}): validation perplexity is ${ev.perplexity}; lower --lr or set --clip`, st.step);
      }
      validPpl = ev.perplexity;
      validCe = ev.crossEntropy;
      improved = st.bestValid === null || ev.crossEntropy < st.bestValid;
    }
    const rec: EpochRecord = {
      epoch: st.epoch + 1, trainPerplexity: trainPpl, validPerplexity: validPpl, lr: st.lr, seconds: epochSeconds,
      tokensPerSec: (st.epochTokens - epochTokens0) / Math.max(epochSeconds, 1e-9),
    };
    st.history.push(rec);
    if (improved) {
      if (validPpl !== null) st.bestValid = validCe;
      st.sinceBest = 0;
      hooks.saveBest?.(model);
    } else {
      st.sinceBest++;
    }
    if (opts.schedule === 'plateau' ? !improved : st.epoch + 1 >= opts.decayStart) st.lr /= opts.lrDecay;
    const patienceOut = opts.patience > 0 && st.sinceBest >= opts.patience;
    hooks.onEpoch?.(rec, improved);
    st.epoch++;
    st.segment = 0;
    st.seconds = seconds();
    hooks.saveState?.(model, snapshot());
    if (budgetSpent) break;
    if (patienceOut) {
      stoppedEarly = true;
      break;
    }
    if (hooks.signal?.aborted) {
      interrupted = st.epoch < opts.epochs;
      break;
    }
  }

  const last = st.history[st.history.length - 1];
  const bestValid = st.bestValid === null ? null : Math.exp(st.bestValid);
  return {
    epochs: st.history.length,
    steps: st.step,
    seconds: seconds(),
    tokensPerSec: sessionTokens / Math.max(trainSeconds, 1e-9),
    trainPerplexity: last ? last.trainPerplexity : Math.exp(st.epochNll / Math.max(st.epochTokens, 1)),
    validPerplexity: last ? last.validPerplexity : null,
    bestValidPerplexity: bestValid,
    history: st.history,
    interrupted,
    budgetSpent,
    stoppedEarly,
  };
}
