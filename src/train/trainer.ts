// Training by truncated backpropagation through time.
// The token stream is cut into B streams and segments of T steps (batches.ts); the hidden
// state is carried from segment to segment with the gradient cut between them, and reset at
// the start of each epoch. Each step minimises the mean cross-entropy J of the segment's T·B
// predictions (trainStep). After each epoch (endEpoch): exact validation perplexity; if it
// improved, the best model is saved; the schedule sets the next rate (schedule.ts).
// Legend: B batch (streams), T bptt steps, L layers, H hidden.

import { ConfigError, DivergenceError } from '../errors.js';
import type { Arr } from '../kernels/kernels.js';
import { batchify, segment, segmentCount, type Batched } from '../data/batches.js';
import type { RnnLM } from '../nn/model.js';
import { checkMemory } from '../nn/memory.js';
import { Rng } from '../rng.js';
import { evaluateIds } from '../infer/evaluate.js';
import { Optimizer, clipGradNorms } from './optimizer.js';
import { trainOptions, validateTrainOptions, type TrainOptions } from './options.js';
import { budgetRate, nextEpochRate } from './schedule.js';

export { DEFAULT_TRAIN, validateTrainOptions, trainOptions, type TrainOptions } from './options.js';

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
  /** Budget schedule: the factor on its curve, divided by lrDecay after each epoch that did not improve (absent: 1). */
  lrScale?: number;
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
  /** Carried state at `segment`: recurrent [L, B, H] (then the max-ent history [B, O-1]). */
  hidden: Float32Array | Float64Array;
  /** Optimizer update count and buffers (same layout as the parameters; direct.*: the max-ent table's). */
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
  /** Milliseconds from any fixed origin (default performance.now); tests pass a fake one. */
  clock?: () => number;
  /**
   * Let the host's event loop run (signals, messages, timers); called about every 50 ms.
   * Default: a message round trip, which both Node and browsers offer.
   */
  yieldToEventLoop?: () => Promise<void>;
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

/** A message round trip: lets the event loop run, in Node and in browsers alike. */
export function messageYield(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    // onmessage (not addEventListener) starts the port in both runtimes
    (port1 as unknown as { onmessage: (() => void) | null }).onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/** Seconds kept back for writing the checkpoints at the end of a budgeted run, before a first epoch end is timed. */
const SAVE_RESERVE = 0.25;

/** How an epoch's loop ended. */
type EpochEnd = 'done' | 'budget' | 'interrupted';

/** The state of one training run in this session: its data, optimizer, position and clocks. */
class TrainingRun {
  readonly opts: TrainOptions;
  readonly data: Batched;
  readonly segments: number;
  readonly optimizer: Optimizer;
  readonly rng: Rng;
  /** The carried recurrent state [L, B, S]. */
  readonly hidden: Arr;
  /** Position, schedule and history (everything of TrainState but the arrays). */
  progress: Omit<TrainState, 'hidden' | 'optimizerState' | 'optimizerT'>;
  readonly clock: () => number;
  private readonly t0: number;
  /** Wall time of earlier sessions of this run. */
  private readonly secondsBefore: number;
  sessionTokens = 0;
  /** This session's training time, validation excluded. */
  trainSeconds = 0;
  /** When the current epoch's loop started in this session, and its token count then. */
  private epochStart = 0;
  private epochTokensAtStart = 0;
  /**
   * Seconds kept back from the time budget for the end of the last epoch (validation and
   * saving): estimated at the start, then the longest epoch end measured so far, with a quarter
   * to spare (a busy machine's timings vary).
   */
  private endReserve = 0;
  private longestEnd = 0;

  constructor(
    readonly model: RnnLM, trainIds: Int32Array, readonly validIds: Int32Array | null, options: TrainOptions,
    resume: TrainState | undefined, clock: () => number,
  ) {
    this.clock = clock;
    this.t0 = clock();
    // a state saved before an option existed gets its default
    const opts = validateTrainOptions(resume ? trainOptions(resume.options) : options);
    this.opts = opts;
    this.data = batchify(trainIds, opts.batch);
    this.segments = segmentCount(this.data, opts.bptt);
    if (this.segments === 0) {
      throw new ConfigError(`the training text has ${trainIds.length} tokens: too few for ${opts.batch} streams (--batch); it needs at least ${2 * opts.batch}`);
    }
    checkMemory(model.config, model.kernels, { batch: opts.batch, bptt: opts.bptt, optimizer: opts.optimizer }, 'the model', true);
    const dataHash = idsHash(trainIds);
    this.optimizer = new Optimizer(opts.optimizer, (n) => model.alloc(n), model.params.length);
    if (model.direct) this.optimizer.attachSparse((n) => model.alloc(n), model.direct.size);
    this.rng = new Rng(opts.seed);
    this.hidden = model.newState(opts.batch);
    if (resume) {
      if (resume.dataHash !== dataHash) {
        throw new ConfigError(`the training text differs from the one this run started with (fingerprint ${dataHash}, state has ${resume.dataHash})`);
      }
      this.progress = { ...resume, sinceBest: resume.sinceBest ?? 0, history: [...resume.history] };
      this.restore(resume);
    } else {
      this.progress = {
        epoch: 0, segment: 0, step: 0, lr: opts.lr, bestValid: null, sinceBest: 0, rng: this.rng.getState(), epochNll: 0, epochTokens: 0,
        history: [], seconds: 0, tokens: 0, dataHash, options: opts,
      };
    }
    this.secondsBefore = this.progress.seconds;
    if (opts.timeBudget > 0) this.estimateValidation();
  }

  /**
   * How long the last epoch's end will take, so that it fits inside the time budget: validation
   * timed on a prefix of the validation text (about 1% of a full pass) plus SAVE_RESERVE for the
   * checkpoints; replaced by the measured time of each epoch end.
   */
  private estimateValidation(): void {
    this.endReserve = SAVE_RESERVE;
    const ids = this.validIds;
    if (!ids || ids.length === 0) return;
    const n = Math.min(ids.length, 2048);
    const t0 = this.clock();
    evaluateIds(this.model, ids.subarray(0, n));
    this.endReserve += (1.25 * (this.clock() - t0) / 1000) * (ids.length / n);
  }

  /** Record how long an epoch's end (validation, saving) took, for the budget's reserve. */
  endedEpoch(seconds: number): void {
    this.longestEnd = Math.max(this.longestEnd, seconds);
    this.endReserve = 1.25 * this.longestEnd;
  }

  /** Continue a saved run: its random stream, carried state and optimizer buffers. */
  private restore(resume: TrainState): void {
    this.rng.setState(resume.rng);
    this.hidden.set(resume.hidden);
    this.optimizer.t = resume.optimizerT;
    for (const [name, buf] of [...this.optimizer.state, ...this.optimizer.sparseState]) {
      const saved = resume.optimizerState.get(name);
      if (!saved || saved.length !== buf.length) throw new ConfigError(`resume state lacks optimizer buffer "${name}" of ${buf.length} values`);
      buf.set(saved);
    }
  }

  /** Mark the start of an epoch's loop (or of its rest, on resume). */
  beginEpoch(): void {
    if (this.progress.segment === 0) {
      this.hidden.fill(0); // h(0) = 0 at the start of the text
      this.progress.epochNll = 0;
      this.progress.epochTokens = 0;
    }
    this.epochStart = this.clock();
    this.epochTokensAtStart = this.progress.epochTokens;
  }

  /** Wall seconds of the current epoch's loop in this session, and its tokens per second. */
  epochSpeed(): { seconds: number; tokensPerSec: number } {
    const seconds = (this.clock() - this.epochStart) / 1000;
    return { seconds, tokensPerSec: (this.progress.epochTokens - this.epochTokensAtStart) / Math.max(seconds, 1e-9) };
  }

  /** Wall seconds of the whole run so far (earlier sessions included). */
  seconds(): number {
    return this.secondsBefore + (this.clock() - this.t0) / 1000;
  }

  /** Seconds of the budget for training: what the last validation leaves (Infinity: no budget). */
  trainingDeadline(): number {
    return this.opts.timeBudget > 0 ? this.opts.timeBudget - this.endReserve : Infinity;
  }

  budgetSpent(): boolean {
    return this.seconds() >= this.trainingDeadline();
  }

  /** The budget schedule: the rate for the next step, from the share of the training time spent. */
  followBudget(): void {
    if (this.opts.schedule === 'budget') {
      this.progress.lr = (this.progress.lrScale ?? 1) * budgetRate(this.opts, this.seconds() / Math.max(this.trainingDeadline(), 1e-9));
    }
  }

  /** A resumable copy of the state. */
  snapshot(): TrainState {
    return {
      ...this.progress, history: [...this.progress.history], rng: this.rng.getState(), hidden: this.hidden.slice(),
      optimizerT: this.optimizer.t, optimizerState: new Map([...this.optimizer.state, ...this.optimizer.sparseState]),
    };
  }

  /** Where the place of a divergence is described. */
  where(): string {
    return `step ${this.progress.step} (epoch ${this.progress.epoch + 1}, batch ${this.progress.segment + 1}/${this.segments})`;
  }

  /**
   * One step of truncated BPTT on segment `s`: forward through T steps from the carried state,
   * J = mean cross-entropy of the T·B predictions, backward through time, clip the gradient's
   * global norm, update. Returns Σ nll of the segment and the gradient norm before clipping.
   */
  trainStep(s: number): { nll: number; tokens: number; gradNorm: number } {
    const { model, opts, progress } = this;
    const k = model.kernels;
    const { x, y, len } = segment(this.data, opts.bptt, s);
    const N = len * opts.batch;
    model.zeroGrad();
    model.forward(x, len, opts.batch, this.hidden, { train: true, rng: this.rng }); // rng: dropout masks (none drawn at dropout 0)
    const nll = model.loss(y, true, 1 / N);
    progress.step++;
    // A mean loss whose perplexity overflows (> ~709 nats/token, ln V is ~9) has diverged too.
    if (!Number.isFinite(Math.exp(nll / N))) {
      throw new DivergenceError(`training diverged at ${this.where()}: the loss is ${(nll / N).toPrecision(4)} nats/token; ${this.remedy()}`, progress.step);
    }
    model.backward();
    const direct = model.direct;
    const regions = model.gradRegions(); // where the gradient can be non-zero (touched embedding rows, …)
    // SGD takes the clipping factor in its rate (w -= lr·gs·g): no pass to scale the gradient
    const sgd = this.optimizer.name === 'sgd';
    const { norm: gradNorm, gs } = clipGradNorms(k, model.grads, direct?.grad ?? null, opts.clip, regions, sgd);
    if (!Number.isFinite(gradNorm)) {
      throw new DivergenceError(`training diverged at ${this.where()}: the gradient norm is ${gradNorm}; ${this.remedy()}`, progress.step);
    }
    // the max-ent table: only the entries this segment touched (its gradient is cleared there)
    const lr = sgd ? progress.lr * gs : progress.lr;
    this.optimizer.step(k, model.params, model.grads, lr, direct ? { table: direct.weight, grad: direct.grad, gs: sgd ? 1 : gs } : undefined, regions);
    return { nll, tokens: N, gradNorm };
  }

  /** What to try after a divergence, given the options in force. */
  remedy(): string {
    const { lr, clip } = this.opts;
    const clipAdvice = clip > 0 ? `--clip is ${clip}: try ${Number((clip / 4).toPrecision(2))}` : 'set --clip (e.g. 0.25)';
    return `lower --lr (now ${Number(lr.toPrecision(4))}, try ${Number((lr / 4).toPrecision(2))}) or ${clipAdvice}`;
  }

  /** Exact validation perplexity; throws on a non-finite one. */
  validate(validIds: Int32Array): { perplexity: number; crossEntropy: number } {
    const ev = evaluateIds(this.model, validIds);
    if (!Number.isFinite(ev.perplexity)) {
      throw new DivergenceError(`training diverged in epoch ${this.progress.epoch + 1} (step ${this.progress.step}): validation perplexity is ${ev.perplexity}; ${this.remedy()}`, this.progress.step);
    }
    return ev;
  }
}

/**
 * Train `model` (already initialised, or restored along with `resume`) on token ids.
 * Returns when the epochs are done or the signal aborts; throws DivergenceError on a
 * non-finite loss or gradient (nothing is saved after the last good epoch).
 */
export async function train(
  model: RnnLM, trainIds: Int32Array, validIds: Int32Array | null, options: TrainOptions,
  hooks: TrainHooks = {}, resume?: TrainState,
): Promise<TrainResult> {
  const run = new TrainingRun(model, trainIds, validIds, options, resume, hooks.clock ?? (() => performance.now()));
  let interrupted = false;
  let budgetSpent = false;
  let stoppedEarly = false;
  while (run.progress.epoch < run.opts.epochs) {
    const end = await trainEpoch(run, hooks);
    if (end === 'interrupted') {
      interrupted = true;
      run.progress.seconds = run.seconds();
      hooks.saveState?.(model, run.snapshot());
      break;
    }
    const { patienceOut } = endEpoch(run, validIds, hooks);
    if (end === 'budget') {
      budgetSpent = true;
      break;
    }
    if (patienceOut) {
      stoppedEarly = true;
      break;
    }
    if (hooks.signal?.aborted) {
      interrupted = run.progress.epoch < run.opts.epochs;
      break;
    }
  }
  return result(run, interrupted, budgetSpent, stoppedEarly);
}

/**
 * The segments of the current epoch from where it stands: a training step each, progress
 * reports, and a yield to the event loop every ~50 ms. Stops early when the time budget is
 * spent, or when the signal aborts with segments still to go.
 */
async function trainEpoch(run: TrainingRun, hooks: TrainHooks): Promise<EpochEnd> {
  const { progress, segments, opts } = run;
  const yieldToEventLoop = hooks.yieldToEventLoop ?? messageYield;
  run.beginEpoch();
  let lastYield = run.clock();
  while (progress.segment < segments) {
    run.followBudget();
    const stepStart = run.clock();
    const { nll, tokens, gradNorm } = run.trainStep(progress.segment);
    progress.segment++;
    progress.epochNll += nll;
    progress.epochTokens += tokens;
    progress.tokens += tokens;
    run.sessionTokens += tokens;
    const now = run.clock();
    run.trainSeconds += (now - stepStart) / 1000;
    if (hooks.onStep) {
      const loss = progress.epochNll / progress.epochTokens;
      hooks.onStep({
        epoch: progress.epoch, epochs: opts.epochs, segment: progress.segment, segments, step: progress.step, loss, perplexity: Math.exp(loss),
        lr: progress.lr, tokensPerSec: run.sessionTokens / Math.max(run.trainSeconds, 1e-9), gradNorm,
      });
    }
    if (now - lastYield > 50) {
      await yieldToEventLoop(); // lets signals (Ctrl-C), messages and timers run
      lastYield = run.clock();
    }
    if (run.budgetSpent()) return 'budget';
    if (hooks.signal?.aborted && progress.segment < segments) return 'interrupted';
  }
  return 'done';
}

/**
 * End of an epoch (or of the part the budget allowed): validate, record, keep the best model,
 * set the next rate, save a resumable state. Returns whether early stopping's patience ran out.
 */
function endEpoch(run: TrainingRun, validIds: Int32Array | null, hooks: TrainHooks): { patienceOut: boolean } {
  const { progress, opts } = run;
  const t0 = run.clock();
  const speed = run.epochSpeed();
  let validPpl: number | null = null;
  let validCe = 0;
  let improved = true;
  if (validIds && validIds.length > 0) {
    hooks.onValidate?.();
    const ev = run.validate(validIds);
    validPpl = ev.perplexity;
    validCe = ev.crossEntropy;
    improved = progress.bestValid === null || ev.crossEntropy < progress.bestValid;
  }
  const rec: EpochRecord = {
    epoch: progress.epoch + 1, trainPerplexity: Math.exp(progress.epochNll / progress.epochTokens), validPerplexity: validPpl, lr: progress.lr,
    seconds: speed.seconds, tokensPerSec: speed.tokensPerSec,
  };
  progress.history.push(rec);
  if (improved) {
    if (validPpl !== null) progress.bestValid = validCe;
    progress.sinceBest = 0;
    hooks.saveBest?.(run.model);
  } else {
    progress.sinceBest++;
  }
  progress.lr = nextEpochRate(opts, progress.epoch + 1, progress.lr, improved);
  // the budget schedule's guard against overfitting a small corpus: a validation that did not improve divides the rest of the curve
  if (opts.schedule === 'budget' && !improved) progress.lrScale = (progress.lrScale ?? 1) / opts.lrDecay;
  hooks.onEpoch?.(rec, improved);
  progress.epoch++;
  progress.segment = 0;
  progress.seconds = run.seconds();
  hooks.saveState?.(run.model, run.snapshot());
  run.endedEpoch((run.clock() - t0) / 1000);
  return { patienceOut: opts.patience > 0 && progress.sinceBest >= opts.patience };
}

function result(run: TrainingRun, interrupted: boolean, budgetSpent: boolean, stoppedEarly: boolean): TrainResult {
  const { progress } = run;
  const last = progress.history[progress.history.length - 1];
  return {
    epochs: progress.history.length,
    steps: progress.step,
    seconds: run.seconds(),
    tokensPerSec: run.sessionTokens / Math.max(run.trainSeconds, 1e-9),
    trainPerplexity: last ? last.trainPerplexity : Math.exp(progress.epochNll / Math.max(progress.epochTokens, 1)),
    validPerplexity: last ? last.validPerplexity : null,
    bestValidPerplexity: progress.bestValid === null ? null : Math.exp(progress.bestValid),
    history: progress.history,
    interrupted,
    budgetSpent,
    stoppedEarly,
  };
}
