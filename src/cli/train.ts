// `rnnlm train`: flags -> trainRun, with a progress bar on a terminal (plain lines otherwise),
// Ctrl-C -> resumable state, and --json / --log output. stdout carries the results (one line per
// epoch and a last line, or --json's one object); progress goes to stderr, and information (the
// backend, the corpus sizes, what is resumed, memory) too, with --verbose.

import { appendFileSync, writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { presetOptions } from '../tasks/presets.js';
import { trainRun, type TrainRunOptions } from '../node/train-run.js';
import { OutputError } from '../errors.js';
import { nextEpochRate } from '../train/schedule.js';
import { trainOptions, type TrainOptions } from '../train/options.js';
import type { Backend } from '../kernels/select.js';
import type { StepInfo } from '../train/trainer.js';
import { statePath } from '../io/train-state.js';
import { writeFileAtomicSync } from '../node/atomic.js';
import { perplexityPlotSvg } from '../report/plot.js';
import type { EpochRecord } from '../train/trainer.js';
import type { Cell, Output } from '../nn/config.js';
import type { Level } from '../data/vocab.js';
import type { OptimizerName } from '../train/optimizer.js';

interface TrainFlags {
  train: string;
  valid?: string;
  save: string;
  level: Level;
  cell: Cell;
  layers: number;
  embed: number;
  hidden: number;
  dropout: number;
  tied?: boolean;
  classes: number;
  forgetBias: number;
  output?: Output;
  /** Entries (the flag is in millions; its parser converts). */
  direct: number;
  directOrder: number;
  foldInput?: boolean;
  batch: number;
  bptt: number;
  epochs: number;
  lr?: number;
  lrDecay: number;
  optimizer: OptimizerName;
  clip: number;
  seed: number;
  maxVocab: number;
  minCount: number;
  resume?: boolean;
  force?: boolean;
  preset?: string;
  timeBudget?: number;
  schedule: 'plateau' | 'fixed' | 'budget';
  decayStart: number;
  hold: number;
  patience: number;
  log?: string;
  json?: boolean;
  verbose?: boolean;
  backend: Backend;
  threads?: number;
}

const fmtEta = (s: number): string => {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
};

/** Flags that are not options of the run itself: they pass to trainRun as they are. */
const PASS_THROUGH = new Set(['train', 'valid', 'save', 'resume', 'force', 'preset', 'log', 'json', 'verbose', 'backend', 'threads']);

/**
 * The run's options from the flags: those typed on the command line, and those a --preset sets
 * (a preset replaces defaults, not what was typed). Flags left at their defaults are not passed:
 * trainRun takes the defaults for a new run (the learning rate by cell and optimizer) and the
 * saved run's values on --resume, where a flag that differs from the saved run is refused.
 */
function runOptions(f: TrainFlags, cmd: Command): Record<string, unknown> {
  const given = (name: string): boolean => cmd.getOptionValueSource(name) === 'cli';
  const fr = f as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (f.preset) {
    for (const [key, value] of Object.entries(presetOptions(f.preset))) if (!given(key)) out[key] = value;
    // --output hs (or softmax) on a class-factored preset replaces its output layer
    if (given('output') && f.output !== 'classes' && !given('classes')) out.classes = 0;
  }
  for (const [key, value] of Object.entries(fr)) if (PASS_THROUGH.has(key) || given(key)) out[key] = value;
  // the flag is in minutes, the run's option (and a preset's) in seconds
  if (given('timeBudget')) out.timeBudget = (f.timeBudget as number) * 60;
  return out;
}

export async function trainCommand(f: TrainFlags, cmd: Command): Promise<void> {
  const opts = runOptions(f, cmd);
  const err = (line: string): void => void process.stderr.write(`${line}\n`);
  // stdout carries results (epoch lines, the final line, or --json's object); the rest goes to stderr.
  const info = f.json ? err : (line: string): void => void process.stdout.write(`${line}\n`);
  const tty = process.stderr.isTTY === true;
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    err('\ninterrupted: finishing this step and saving a resumable state (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  const logLine = (o: object | null): void => {
    if (!f.log) return;
    try {
      if (o === null) writeFileSync(f.log, '');
      else appendFileSync(f.log, `${JSON.stringify(o)}\n`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!code) throw e;
      throw new OutputError(`cannot write the metrics log ${f.log}: ${(e as Error).message}; check --log`, code);
    }
  };
  logLine(null);

  // The options in force, once trainRun has set the run up (on --resume: the saved run's).
  let run: TrainOptions = trainOptions(opts as Partial<TrainOptions>);
  const history: EpochRecord[] = [];
  let bar: cliProgress.SingleBar | null = null;
  let barEpoch = -1;
  let lastPlain = 0;
  let lastLog = 0;
  const onStep = (s: StepInfo): void => {
    const now = Date.now();
    const eta = ((s.segments - s.segment) * (s.tokensPerSec > 0 ? run.batch * run.bptt / s.tokensPerSec : NaN));
    const payload = {
      epoch: `${s.epoch + 1}/${s.epochs}`, loss: s.loss.toFixed(3), ppl: s.perplexity.toFixed(1),
      tps: Math.round(s.tokensPerSec), lr: s.lr.toPrecision(3), etaText: fmtEta(eta),
    };
    if (tty) {
      if (barEpoch !== s.epoch) {
        bar?.stop();
        bar = new cliProgress.SingleBar({
          format: 'epoch {epoch} [{bar}] {value}/{total} | loss {loss} | ppl {ppl} | {tps} tok/s | lr {lr} | ETA {etaText}',
          stream: process.stderr, hideCursor: true, clearOnComplete: false,
        }, cliProgress.Presets.shades_classic);
        bar.start(s.segments, s.segment, payload);
        barEpoch = s.epoch;
      }
      bar?.update(s.segment, payload);
    } else if (now - lastPlain > 10000 || s.segment === s.segments) {
      lastPlain = now;
      err(`epoch ${payload.epoch} batch ${s.segment}/${s.segments} loss ${payload.loss} ppl ${payload.ppl} ${payload.tps} tok/s lr ${payload.lr} eta ${payload.etaText}`);
    }
    if (now - lastLog > 1000 || s.segment === s.segments) {
      lastLog = now;
      logLine({ type: 'step', step: s.step, epoch: s.epoch + 1, batch: s.segment, loss: s.loss, perplexity: s.perplexity, lr: s.lr, tokens_per_s: s.tokensPerSec, grad_norm: s.gradNorm });
    }
  };

  try {
    const r = await trainRun({
      ...(opts as Partial<TrainRunOptions>),
      save: f.save,
      log: f.verbose ? err : () => {},
      detail: f.verbose ? err : () => {},
      onStart: (s) => {
        run = s.options;
      },
      hooks: {
        signal: controller.signal,
        onStep,
        onValidate: () => {
          bar?.stop();
          bar = null;
          barEpoch = -1;
        },
        onEpoch: (rec, improved) => {
          history.push(rec);
          writeFileAtomicSync(`${f.save}.svg`, perplexityPlotSvg(history, `${f.save}: perplexity per epoch`));
          logLine({ type: 'epoch', ...rec, rss_mb: process.memoryUsage().rss / 2 ** 20 });
          const next = nextEpochRate(run, rec.epoch, rec.lr, improved);
          const lrNote = next !== rec.lr ? ` (lr -> ${next.toPrecision(3)})` : '';
          const v = rec.validPerplexity === null ? '' : ` | valid ppl ${rec.validPerplexity.toFixed(2)}${improved ? ' (best, saved)' : ' (no better)'}`;
          info(`epoch ${rec.epoch} | ${rec.seconds.toFixed(1)} s | ${Math.round(rec.tokensPerSec)} tok/s | train ppl ${rec.trainPerplexity.toFixed(2)}${v}${lrNote}`);
        },
      },
    });
    (bar as cliProgress.SingleBar | null)?.stop();
    if (r.interrupted) {
      err(`saved a resumable state to ${statePath(r.save)}; continue with the same command and --resume`);
      process.exitCode = 130;
    }
    if (r.stoppedEarly) info(`stopped early: ${r.options.patience} epoch(s) without improvement`);
    if (r.budgetSpent) info(`time budget of ${Number((r.options.timeBudget / 60).toPrecision(3))} min spent after ${r.epochs} epoch(s)`);
    if (f.verbose) err(`memory: peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MB`);
    const out = {
      tokens_per_s: r.tokensPerSec, seconds: r.seconds, epochs: r.epochs, steps: r.steps,
      train_perplexity: r.trainPerplexity, valid_perplexity: r.validPerplexity, best_valid_perplexity: r.bestValidPerplexity,
      vocab_size: r.vocabSize, train_tokens: r.trainTokens, valid_tokens: r.validTokens, backend: r.backend,
      model: r.save, interrupted: r.interrupted, budget_spent: r.budgetSpent, already_done: r.alreadyDone, history: r.history,
    };
    if (f.json) process.stdout.write(`${JSON.stringify(out)}\n`);
    else if (r.alreadyDone !== null) info(`nothing to do: the run saved at ${statePath(r.save)} is complete: ${r.alreadyDone}; its best model is ${r.save} (valid ppl ${r.bestValidPerplexity?.toFixed(2) ?? 'n/a'})`);
    else if (!r.interrupted) info(`saved ${r.save} (best valid ppl ${r.bestValidPerplexity?.toFixed(2) ?? 'n/a'}); ${Math.round(r.tokensPerSec)} tok/s, ${r.seconds.toFixed(1)} s`);
  } finally {
    (bar as cliProgress.SingleBar | null)?.stop();
    process.off('SIGINT', onSigint);
  }
}
