// The resumable training state: a sibling .safetensors file ("MODEL.state") holding the
// current parameters (not the best ones), the optimizer's buffers, the carried recurrent state
// ([L, B, H]; [L, 2, B, H] for LSTM: h, then c), with max-ent connections the table
// (direct.weight [S]), its moments (optimizer.direct.*) and the carried history [B, O-1],
// and as metadata the position in the run, RNG state, learning rate, best validation loss,
// options and history. Together with the training text it continues the run exactly.

import { CheckpointError, RnnlmError } from '../errors.js';
import type { Kernels } from '../kernels/kernels.js';
import type { Vocab } from '../data/vocab.js';
import { Layout } from '../nn/arena.js';
import { checkMemory } from '../nn/memory.js';
import { RnnLM, modelSpecs, stateWidth } from '../nn/model.js';
import { trainOptions, validateTrainOptions, type TrainOptions, type TrainState } from '../train/trainer.js';
import { decodeFile, decodeHeader, headerMetadata } from './checkpoint.js';
import { encodeSafetensors, type Tensor } from './safetensors.js';

export const STATE_FORMAT = 'rnnlm-train-state';

/** Where the state of a run saving to `modelPath` is kept. */
export function statePath(modelPath: string): string {
  return `${modelPath}.state`;
}

const f32 = (a: Float32Array | Float64Array): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));

/** Encode a training state; `extra` adds metadata entries (strings), as encodeModel's. */
export function encodeTrainState(model: RnnLM, vocab: Vocab, state: TrainState, extra: Record<string, string> = {}): Uint8Array {
  const B = state.options.batch;
  const recurrent = model.config.layers * B * model.stateWidth;
  const tensors: Array<[string, Tensor]> = [
    ['params', { dtype: 'F32', shape: [model.params.length], data: f32(model.params) }],
    ['hidden', { dtype: 'F32', shape: model.stateShape(B), data: f32(state.hidden.subarray(0, recurrent)) }],
  ];
  if (model.direct) {
    tensors.push(['direct.weight', { dtype: 'F32', shape: [model.direct.size], data: f32(model.direct.weight) }]);
    tensors.push(['history', { dtype: 'F32', shape: [B, model.historyWidth], data: f32(state.hidden.subarray(recurrent, model.stateSize(B))) }]);
  }
  for (const [name, buf] of state.optimizerState) tensors.push([`optimizer.${name}`, { dtype: 'F32', shape: [buf.length], data: f32(buf) }]);
  const { hidden: _h, optimizerState: _o, ...scalars } = state;
  return encodeSafetensors(tensors, {
    ...extra,
    ...headerMetadata(model, vocab),
    kind: STATE_FORMAT,
    state: JSON.stringify(scalars),
  });
}

export interface DecodedState {
  model: RnnLM;
  vocab: Vocab;
  state: TrainState;
  /** The file's metadata entries (extra entries included). */
  metadata: Record<string, string>;
}

/**
 * Decode and validate a training state: its header as decodeModel's, the position, schedule and
 * options (types and ranges), and every tensor's length against the config, all before the model
 * is allocated.
 */
export function decodeTrainState(bytes: Uint8Array, kernels: Kernels, where: string): DecodedState {
  const { tensors, metadata } = decodeFile(bytes, where);
  if (metadata.kind !== STATE_FORMAT) throw new CheckpointError(`${where}: not a training state file (kind ${JSON.stringify(metadata.kind ?? null)})`);
  const { config, vocab, wordClasses, hsTree } = decodeHeader(metadata, where);
  const scalars = stateScalars(metadata.state, where);
  const P = new Layout(modelSpecs(config)).size;
  const need = (name: string, n: number): Float32Array => {
    const t = tensors.get(name);
    if (!t || t.dtype !== 'F32') throw new CheckpointError(`${where}: missing F32 tensor "${name}"`);
    if (t.data.length !== n) throw new CheckpointError(`${where}: tensor "${name}" has ${t.data.length} values, expected ${n}`);
    return t.data as Float32Array;
  };
  // Everything sized by the config is checked before the model is allocated; the max-ent
  // direct weights (sized by the model) right after.
  const params = need('params', P);
  const B = scalars.options.batch;
  const recurrent = config.layers * B * stateWidth(config);
  const hiddenSaved = need('hidden', recurrent);
  for (const name of tensors.keys()) {
    if (name.startsWith('optimizer.') && !name.startsWith('optimizer.direct.')) need(name, P);
  }
  checkMemory(config, kernels, { batch: B, bptt: scalars.options.bptt, optimizer: scalars.options.optimizer }, where);
  const model = new RnnLM(config, kernels, { wordClasses, hsTree });
  model.params.set(params);
  const hidden = new Float32Array(model.stateSize(B));
  hidden.set(hiddenSaved);
  if (model.direct) {
    model.direct.weight.set(need('direct.weight', model.direct.size));
    hidden.set(need('history', B * model.historyWidth), recurrent);
  }
  const optimizerState = new Map<string, Float32Array>();
  for (const [name] of tensors) {
    if (!name.startsWith('optimizer.')) continue;
    const key = name.slice('optimizer.'.length);
    optimizerState.set(key, need(name, key.startsWith('direct.') ? (model.direct?.size ?? 0) : model.params.length));
  }
  return { model, vocab, state: { ...scalars, hidden, optimizerState }, metadata };
}

type StateScalars = Omit<TrainState, 'hidden' | 'optimizerState'>;

/** The "state" metadata: position, schedule, RNG, history and options, each checked. */
function stateScalars(text: string | undefined, where: string): StateScalars {
  let raw: unknown;
  try {
    raw = JSON.parse(text ?? '');
  } catch {
    throw new CheckpointError(`${where}: metadata "state" is not valid JSON`);
  }
  const bad = (field: string, want: string, got: unknown): never => {
    throw new CheckpointError(`${where}: state field "${field}" must be ${want}, got ${(JSON.stringify(got) ?? 'nothing').slice(0, 80)}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('state', 'a JSON object', raw);
  const o = raw as Record<string, unknown>;
  const count = (f: string): void => {
    if (!Number.isSafeInteger(o[f]) || (o[f] as number) < 0) bad(f, 'an integer ≥ 0', o[f]);
  };
  const nonNegative = (f: string): void => {
    if (typeof o[f] !== 'number' || !Number.isFinite(o[f]) || (o[f] as number) < 0) bad(f, 'a finite number ≥ 0', o[f]);
  };
  for (const f of ['epoch', 'segment', 'step', 'epochTokens', 'tokens', 'optimizerT']) count(f);
  if (o.sinceBest !== undefined) count('sinceBest'); // absent in states written before early stopping
  for (const f of ['epochNll', 'seconds']) nonNegative(f);
  if (typeof o.lr !== 'number' || !(o.lr > 0) || !Number.isFinite(o.lr)) bad('lr', 'a positive number', o.lr);
  if (o.bestValid !== null && (typeof o.bestValid !== 'number' || !Number.isFinite(o.bestValid))) bad('bestValid', 'null or a finite number', o.bestValid);
  if (!Array.isArray(o.rng) || o.rng.length !== 4 || o.rng.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff)) {
    bad('rng', 'four unsigned 32-bit integers', o.rng);
  }
  if (typeof o.dataHash !== 'string') bad('dataHash', 'a string', o.dataHash);
  if (!Array.isArray(o.history) || o.history.some((e) => !isEpochRecord(e))) bad('history', 'an array of epoch records', o.history);
  if (typeof o.options !== 'object' || o.options === null || Array.isArray(o.options)) bad('options', 'a JSON object', o.options);
  try {
    validateTrainOptions(trainOptions(o.options as Partial<TrainOptions>));
  } catch (e) {
    if (e instanceof RnnlmError) throw new CheckpointError(`${where}: state options: ${e.message}`);
    throw e;
  }
  return { sinceBest: 0, ...o, options: trainOptions(o.options as Partial<TrainOptions>) } as StateScalars;
}

function isEpochRecord(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const r = e as Record<string, unknown>;
  const num = (x: unknown): boolean => typeof x === 'number';
  return num(r.epoch) && num(r.trainPerplexity) && (r.validPerplexity === null || num(r.validPerplexity)) && num(r.lr) && num(r.seconds) && num(r.tokensPerSec);
}
