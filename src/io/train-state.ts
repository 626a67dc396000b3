// The resumable training state: a sibling .safetensors file ("MODEL.state") holding the
// current parameters (not the best ones), the optimizer's buffers, the carried recurrent state
// ([L, B, H]; [L, 2, B, H] for LSTM: h, then c), with max-ent connections the table
// (direct.weight [S]), its moments (optimizer.direct.*) and the carried history [B, O-1],
// and as metadata the position in the run, RNG state, learning rate, best validation loss,
// options and history. Together with the training text it continues the run exactly.

import { CheckpointError } from '../errors.js';
import type { Kernels } from '../kernels/kernels.js';
import type { Vocab } from '../data/vocab.js';
import { RnnLM } from '../nn/model.js';
import type { TrainState } from '../train/trainer.js';
import { decodeFile, decodeHeader, headerMetadata } from './checkpoint.js';
import { encodeSafetensors, type Tensor } from './safetensors.js';

export const STATE_FORMAT = 'rnnlm-train-state';

/** Where the state of a run saving to `modelPath` is kept. */
export function statePath(modelPath: string): string {
  return `${modelPath}.state`;
}

const f32 = (a: Float32Array | Float64Array): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));

export function encodeTrainState(model: RnnLM, vocab: Vocab, state: TrainState): Uint8Array {
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
    ...headerMetadata(model, vocab),
    kind: STATE_FORMAT,
    state: JSON.stringify(scalars),
  });
}

export interface DecodedState {
  model: RnnLM;
  vocab: Vocab;
  state: TrainState;
}

export function decodeTrainState(bytes: Uint8Array, kernels: Kernels, where: string): DecodedState {
  const { tensors, metadata } = decodeFile(bytes, where);
  if (metadata.kind !== STATE_FORMAT) throw new CheckpointError(`${where}: not a training state file (kind ${JSON.stringify(metadata.kind ?? null)})`);
  const { config, vocab, wordClasses, hsTree } = decodeHeader(metadata, where);
  let scalars: Omit<TrainState, 'hidden' | 'optimizerState'>;
  try {
    scalars = JSON.parse(metadata.state ?? '');
  } catch {
    throw new CheckpointError(`${where}: metadata "state" is not valid JSON`);
  }
  const model = new RnnLM(config, kernels, { wordClasses, hsTree });
  const need = (name: string, n: number): Float32Array => {
    const t = tensors.get(name);
    if (!t || t.dtype !== 'F32') throw new CheckpointError(`${where}: missing F32 tensor "${name}"`);
    if (t.data.length !== n) throw new CheckpointError(`${where}: tensor "${name}" has ${t.data.length} values, expected ${n}`);
    return t.data as Float32Array;
  };
  model.params.set(need('params', model.params.length));
  const B = scalars.options.batch;
  const recurrent = config.layers * B * model.stateWidth;
  const hidden = new Float32Array(model.stateSize(B));
  hidden.set(need('hidden', recurrent));
  if (model.direct) {
    model.direct.weight.set(need('direct.weight', model.direct.size));
    hidden.set(need('history', B * model.historyWidth), recurrent);
  }
  const optimizerState = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    if (!name.startsWith('optimizer.')) continue;
    const key = name.slice('optimizer.'.length);
    optimizerState.set(key, need(name, key.startsWith('direct.') ? (model.direct?.size ?? 0) : model.params.length));
  }
  return { model, vocab, state: { ...scalars, hidden, optimizerState } };
}
