// The training Worker's state: the corpus, the current model (made from the settings or loaded
// from a checkpoint) and the run that trains it with the library's own `train()`, whose hooks
// feed the page: a progress message at most every PROGRESS_MS, validation perplexity at each
// epoch's end, a sample every SAMPLE_MS, and the BPTT probe every PROBE_MS. Pausing parks the
// trainer in its yield hook; resetting aborts it. Nothing here touches the DOM.
// Legend: B streams (batch), T bptt steps.

import { builtinText, sourceCrossEntropy } from '../../data/builtin/index.js';
import { batchify, segment, segmentCount, type Batched } from '../../data/batches.js';
import { splitLines, type Vocab } from '../../data/vocab.js';
import { RnnlmError } from '../../errors.js';
import { evaluateIds } from '../../infer/evaluate.js';
import { generateIds, tokenText } from '../../infer/generate.js';
import { decodeModel, encodeModel } from '../../io/checkpoint.js';
import type { Kernels } from '../../kernels/kernels.js';
import { bpttProbe } from '../../nn/bptt-probe.js';
import type { RnnLM } from '../../nn/model.js';
import { newModelForText } from '../../tasks/prepare.js';
import { evaluateText } from '../../tasks/evaluate.js';
import { messageYield, train, trainOptions, type StepInfo, type TrainOptions } from '../../train/trainer.js';
import type { CorpusInfo, FromWorker, ModelInfo, RunState, StepPoint, TextSource } from '../protocol.js';
import type { Settings } from '../settings.js';
import { analyzeText } from './inspect.js';

/** Progress messages at most this often (ms): the page redraws at most this often. */
export const PROGRESS_MS = 100;
/** A sample every this many ms of training. */
export const SAMPLE_MS = 2000;
/** The BPTT probe every this many ms of training. */
export const PROBE_MS = 1000;
/** A validation pass inside a long epoch at most this often (ms); short epochs validate at their end only. */
export const INTERIM_VALID_MS = 15000;
/** Share of a user's text held out for validation (its last lines, or last characters for one line). */
export const VALID_SHARE = 0.1;

type Post = (msg: FromWorker, transfer?: Transferable[]) => void;

interface Corpus {
  name: string;
  train: string;
  valid: string;
  builtin: boolean;
}

interface Prepared {
  model: RnnLM;
  trainIds: Int32Array;
  validIds: Int32Array;
  opts: TrainOptions;
  data: Batched;
  info: CorpusInfo;
}

interface Run {
  abort: AbortController;
  done: Promise<void>;
  paused: boolean;
  wake: (() => void) | null;
}

/** The training and validation texts of a source: a built-in split pair, or a user's text split 90/10. */
export function corpusOf(source: TextSource | undefined): Corpus {
  if (!source || 'builtin' in source) return { name: 'the built-in grammar corpus', train: builtinText('train'), valid: builtinText('valid'), builtin: true };
  const lines = splitLines(source.text);
  if (lines.length >= 10) {
    const cut = lines.length - Math.max(1, Math.round(lines.length * VALID_SHARE));
    return { name: source.name, train: `${lines.slice(0, cut).join('\n')}\n`, valid: `${lines.slice(cut).join('\n')}\n`, builtin: false };
  }
  const cut = Math.floor(source.text.length * (1 - VALID_SHARE));
  return { name: source.name, train: source.text.slice(0, cut), valid: source.text.slice(cut), builtin: false };
}

export function textOf(source: TextSource): { text: string; name: string } {
  return 'builtin' in source ? { text: builtinText(source.builtin), name: `builtin:${source.builtin}` } : source;
}

export class Session {
  private model: RnnLM | null = null;
  private vocab: Vocab | null = null;
  private origin = 'new';
  private run: Run | null = null;
  private sampling = { temperature: 1, topK: 0 };
  private probeSegment: { x: Int32Array; y: Int32Array; T: number; B: number } | null = null;
  private step = 0;
  /** Control messages (start, reset, load) run one after another. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly kernels: Kernels, private readonly post: Post) {}

  /** Run `f` after the control actions before it; errors go to the page. */
  control(f: () => Promise<void> | void, id?: number): void {
    this.chain = this.chain.then(f).catch((err: unknown) => this.fail(err, id));
  }

  fail(err: unknown, id?: number): void {
    const message = err instanceof RnnlmError ? err.message : `${(err as Error).name ?? 'Error'}: ${(err as Error).message ?? String(err)}`;
    this.post({ type: 'error', id, message });
  }

  setSampling(temperature: number, topK: number): void {
    this.sampling = { temperature, topK };
  }

  private state(state: RunState, message?: string): void {
    this.post({ type: 'state', state, message });
  }

  private modelInfo(): ModelInfo {
    const m = this.model!;
    const c = m.config;
    return {
      origin: this.origin, level: c.level, cell: c.cell, layers: c.layers, embed: c.embed, hidden: c.hidden, vocabSize: c.vocabSize,
      classes: c.classes, dropout: c.dropout, params: m.params.length,
    };
  }

  /** Start a run: a fresh model from the settings, or further training of a loaded one. */
  async start(settings: Settings, source?: TextSource): Promise<void> {
    if (this.run) return;
    this.state('preparing');
    await messageYield(); // let the page draw "preparing" before the corpus is sampled
    try {
      this.launch(this.prepare(settings, source), settings);
    } catch (err) {
      this.state('idle'); // a bad setting (say, more classes than words): back to where it was
      throw err;
    }
  }

  /** The run's texts as ids, the model (new from the settings, or the loaded one), options and batches. */
  private prepare(settings: Settings, source?: TextSource): Prepared {
    const corpus = corpusOf(source);
    if (!this.model || this.origin === 'new') {
      const made = newModelForText(corpus.train, {
        level: settings.level, cell: settings.cell, embed: settings.embed, hidden: settings.hidden, layers: settings.layers,
        classes: settings.classes, dropout: settings.dropout, seed: settings.seed,
      }, this.kernels);
      this.model = made.model;
      this.vocab = made.vocab;
      this.origin = 'new';
    }
    const vocab = this.vocab!;
    const trainIds = vocab.encode(corpus.train).ids;
    const validIds = vocab.encode(corpus.valid).ids;
    const opts = trainOptions({
      batch: settings.batch, bptt: settings.bptt, epochs: settings.epochs, lr: settings.lr, optimizer: settings.optimizer, clip: settings.clip, seed: settings.seed,
    });
    const data = batchify(trainIds, opts.batch);
    const segments = segmentCount(data, opts.bptt);
    if (segments > 0) {
      const s0 = segment(data, opts.bptt, 0);
      this.probeSegment = { x: s0.x.slice(), y: s0.y.slice(), T: s0.len, B: opts.batch };
    }
    const info: CorpusInfo = {
      name: corpus.name, trainTokens: trainIds.length, validTokens: validIds.length, uniformPerplexity: vocab.size,
      floorPerplexity: corpus.builtin && vocab.level === 'word' ? sourceCrossEntropy(corpus.valid).perplexity : null,
      segments, epochs: opts.epochs,
    };
    return { model: this.model, trainIds, validIds, opts, data, info };
  }

  /** Start the library's trainer with hooks that feed the page, pause and stop. */
  private launch(p: Prepared, settings: Settings): void {
    const { model, trainIds, validIds, opts, data, info } = p;
    const segments = info.segments;
    // (no validation pass before the first step: an untrained model scores about |V|, the uniform line)
    this.post({ type: 'model', model: this.modelInfo(), corpus: info });
    this.setSampling(settings.temperature, settings.topK);
    this.probe();

    const run: Run = { abort: new AbortController(), done: Promise.resolve(), paused: false, wake: null };
    this.run = run;
    this.step = 0;
    const tracker = new StepTracker(data, opts.bptt, opts.epochs * segments);
    let lastValid = performance.now();
    let lastSample = performance.now();
    let lastProbe = performance.now();
    const onStep = (s: StepInfo): void => {
      this.step = s.step;
      tracker.add(s);
      const now = performance.now();
      if (now - tracker.lastFlush >= PROGRESS_MS) this.post(tracker.flush(now, s));
      if (now - lastProbe >= PROBE_MS) {
        this.probe();
        lastProbe = performance.now();
      }
      if (now - lastSample >= SAMPLE_MS) {
        this.sample();
        lastSample = performance.now();
      }
      if (now - lastValid >= INTERIM_VALID_MS && s.segment < s.segments && validIds.length > 0) {
        this.post({ type: 'valid', step: s.step, epoch: s.epoch + s.segment / s.segments, perplexity: evaluateIds(model, validIds).perplexity, final: false });
        lastValid = performance.now();
      }
    };
    this.state('running');
    run.done = train(model, trainIds, validIds.length > 0 ? validIds : null, opts, {
      signal: run.abort.signal,
      onStep,
      onEpoch: (rec) => {
        lastValid = performance.now();
        if (rec.validPerplexity !== null) this.post({ type: 'valid', step: this.step, epoch: rec.epoch, perplexity: rec.validPerplexity, final: true });
      },
      yieldToEventLoop: async () => {
        await messageYield();
        if (run.paused && !run.abort.signal.aborted) {
          tracker.pause(performance.now());
          this.post(tracker.flush(performance.now(), null));
          this.probe();
          this.sample();
          this.state('paused');
          while (run.paused && !run.abort.signal.aborted) await new Promise<void>((resolve) => (run.wake = resolve));
          tracker.resume(performance.now());
          if (!run.abort.signal.aborted) this.state('running');
        }
      },
    }).then(
      (r) => {
        this.post(tracker.flush(performance.now(), null));
        if (r.interrupted) return;
        this.probe();
        this.sample();
        this.state('done');
      },
      (err: unknown) => {
        this.state('error', err instanceof Error ? err.message : String(err));
      },
    ).finally(() => {
      if (this.run === run) this.run = null;
    });
  }

  pause(): void {
    if (this.run) this.run.paused = true;
  }

  resume(): void {
    const run = this.run;
    if (!run) return;
    run.paused = false;
    run.wake?.();
    run.wake = null;
  }

  /** Stop the run (if any) and wait for it to end. */
  private async stop(): Promise<void> {
    const run = this.run;
    if (!run) return;
    run.abort.abort();
    run.paused = false;
    run.wake?.();
    await run.done;
  }

  /** Stop and forget the model. */
  async reset(): Promise<void> {
    await this.stop();
    this.model = null;
    this.vocab = null;
    this.origin = 'new';
    this.probeSegment = null;
    this.state('idle');
  }

  async load(id: number, bytes: Uint8Array, name: string): Promise<void> {
    await this.stop();
    const { model, vocab } = decodeModel(bytes, this.kernels, name);
    this.model = model;
    this.vocab = vocab;
    this.origin = name;
    this.probeSegment = null;
    this.post({ type: 'loaded', id, model: this.modelInfo() });
    this.post({ type: 'model', model: this.modelInfo(), corpus: null });
    this.state('idle');
  }

  private need(): { model: RnnLM; vocab: Vocab } {
    if (!this.model || !this.vocab) throw new RnnlmError('there is no model yet: start training, or load a .safetensors file in Models');
    return { model: this.model, vocab: this.vocab };
  }

  /** The BPTT probe on the training stream's first segment (h(0) = 0, as at an epoch's start). */
  probe(id?: number): void {
    const seg = this.probeSegment;
    if (!this.model || !seg) {
      if (id !== undefined) this.post({ type: 'error', id, message: 'the BPTT view needs a training run: press Start' });
      return;
    }
    const r = bpttProbe(this.model, seg.x, seg.y, seg.T, seg.B);
    const c = this.model.config;
    this.post({ type: 'bptt', step: this.step, cell: c.cell, layers: c.layers, T: r.T, B: r.B, norms: r.norms.map((n) => Array.from(n)), loss: r.loss });
  }

  private sample(): void {
    if (!this.model || !this.vocab) return;
    const vocab = this.vocab;
    const length = vocab.level === 'word' ? 40 : 240;
    let text = '';
    for (const id of generateIds(this.model, vocab, { length, temperature: this.sampling.temperature, topK: this.sampling.topK, seed: this.step + 1 })) {
      text += tokenText(vocab, id);
    }
    this.post({ type: 'sample', step: this.step, text });
  }

  analyze(id: number, text: string): void {
    const { model, vocab } = this.need();
    const a = analyzeText(model, vocab, text);
    this.post({ type: 'analysis', id, ...a }, [a.hidden.buffer]);
  }

  evaluate(id: number, source: TextSource): void {
    const { model, vocab } = this.need();
    const { text, name } = textOf(source);
    const r = evaluateText(model, vocab, text, name);
    this.post({
      type: 'evaluation', id, name, perplexity: r.perplexity, crossEntropy: r.crossEntropy, bitsPerToken: r.bitsPerToken, tokens: r.tokens,
      unkRate: r.unkRate, sourcePerplexity: r.sourcePerplexity ?? null,
    });
  }

  generate(id: number, o: { prime: string; length: number; temperature: number; topK: number; seed: number }): void {
    const { model, vocab } = this.need();
    let text = o.prime === '' ? '' : `${o.prime}${vocab.level === 'word' ? ' ' : ''}`;
    for (const t of generateIds(model, vocab, o)) text += tokenText(vocab, t);
    this.post({ type: 'generated', id, text });
  }

  download(id: number): void {
    const { model, vocab } = this.need();
    const bytes = encodeModel(model, vocab);
    this.post({ type: 'checkpoint', id, bytes }, [bytes.buffer]);
  }
}

/**
 * Turns the trainer's per-step reports into the curves' points: each step's own perplexity
 * (from the epoch's running mean and the segment's token count), batched between progress
 * messages, with tokens/s (the trainer's) and the ETA (from the wall time per step so far, pauses excluded).
 */
class StepTracker {
  private points: StepPoint[] = [];
  private epochTokens = 0;
  private epochNll = 0;
  private tokens = 0;
  private readonly t0 = performance.now();
  private pausedMs = 0;
  private pausedAt = 0;
  lastFlush = 0;
  private last: StepInfo | null = null;

  constructor(private readonly data: Batched, private readonly T: number, private readonly totalSteps: number) {}

  add(s: StepInfo): void {
    if (s.segment === 1) {
      this.epochTokens = 0;
      this.epochNll = 0;
    }
    const n = segment(this.data, this.T, s.segment - 1).len * this.data.B;
    this.epochTokens += n;
    this.tokens += n;
    const nll = s.loss * this.epochTokens;
    const stepNll = nll - this.epochNll;
    this.epochNll = nll;
    this.points.push({ step: s.step, epoch: s.epoch + s.segment / s.segments, stepPerplexity: Math.exp(stepNll / n), epochPerplexity: s.perplexity });
    this.last = s;
  }

  pause(now: number): void {
    this.pausedAt = now;
  }

  resume(now: number): void {
    this.pausedMs += now - this.pausedAt;
  }

  flush(now: number, s: StepInfo | null): FromWorker {
    const info = s ?? this.last;
    this.lastFlush = now;
    const points = this.points;
    this.points = [];
    const step = info?.step ?? 0;
    const wallPerStep = step > 0 ? (now - this.t0 - this.pausedMs) / 1000 / step : 0;
    return {
      type: 'progress', points, tokensPerSec: info?.tokensPerSec ?? 0, etaSeconds: Math.max(0, this.totalSteps - step) * wallPerStep,
      epoch: info?.epoch ?? 0, segment: info?.segment ?? 0, segments: info?.segments ?? 0, lr: info?.lr ?? 0, tokens: this.tokens,
    };
  }
}
