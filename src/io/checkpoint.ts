// Model checkpoints: one .safetensors file with F32 tensors named as PyTorch's
// word_language_model names them (encoder.weight, rnn.weight_ih_l0, …, decoder.bias) and
// __metadata__ = { format: "rnnlm", config: JSON, vocab: JSON array in id order }.
// Pure (bytes in, bytes out); file access lives in checkpoint-file.ts.

import { CheckpointError, RnnlmError } from '../errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { Vocab } from '../data/vocab.js';
import { configFromJson, configToJson, type ModelConfig } from '../nn/config.js';
import { RnnLM, modelSpecs } from '../nn/model.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.js';

export const FORMAT = 'rnnlm';

/** Encode a model and its vocabulary; `extra` adds metadata entries (strings). */
export function encodeModel(model: RnnLM, vocab: Vocab, extra: Record<string, string> = {}): Uint8Array {
  if (vocab.size !== model.config.vocabSize) {
    throw new CheckpointError(`vocabulary has ${vocab.size} tokens but the model's vocab_size is ${model.config.vocabSize}`);
  }
  const tensors: Array<[string, Tensor]> = model.layout.specs.map((s) => {
    const v = model.param(s.name);
    return [s.name, { dtype: 'F32', shape: [...s.shape], data: v instanceof Float32Array ? v : Float32Array.from(v) }];
  });
  return encodeSafetensors(tensors, {
    ...extra,
    format: FORMAT,
    config: JSON.stringify(configToJson(model.config)),
    vocab: JSON.stringify(vocab.tokens),
  });
}

function parseJson(text: string, what: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${where}: metadata "${what}" is not valid JSON (${(e as Error).message})`);
  }
}

export interface DecodedModel {
  model: RnnLM;
  vocab: Vocab;
  metadata: Record<string, string>;
}

/** Read config and vocabulary from checkpoint metadata, validating both. */
export function decodeHeader(metadata: Record<string, string>, where: string): { config: ModelConfig; vocab: Vocab } {
  if (metadata.format !== FORMAT) {
    throw new CheckpointError(`${where}: not an rnnlm checkpoint (metadata "format" is ${JSON.stringify(metadata.format ?? null)}, expected "${FORMAT}")`);
  }
  for (const k of ['config', 'vocab']) {
    if (typeof metadata[k] !== 'string') throw new CheckpointError(`${where}: metadata lacks "${k}"`);
  }
  let config: ModelConfig;
  let vocab: Vocab;
  try {
    config = configFromJson(parseJson(metadata.config, 'config', where));
    const tokens = parseJson(metadata.vocab, 'vocab', where);
    if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string')) {
      throw new CheckpointError(`${where}: metadata "vocab" must be a JSON array of strings`);
    }
    vocab = new Vocab(tokens as string[], config.level);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    if (e instanceof RnnlmError) throw new CheckpointError(`${where}: ${e.message}`);
    throw e;
  }
  if (vocab.size !== config.vocabSize) {
    throw new CheckpointError(`${where}: vocabulary lists ${vocab.size} tokens but config says vocab_size ${config.vocabSize}`);
  }
  return { config, vocab };
}

/** Decode and validate a checkpoint into a model on the given kernels. */
export function decodeModel(bytes: Uint8Array, kernels: Kernels, where = 'checkpoint'): DecodedModel {
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof CheckpointError) throw new CheckpointError(`${where}: ${e.message}`);
    throw e;
  }
  const { tensors, metadata } = decoded;
  const { config, vocab } = decodeHeader(metadata, where);
  const specs = modelSpecs(config);
  const expected = new Set(specs.map((s) => s.name));
  const unexpected = [...tensors.keys()].filter((n) => !expected.has(n));
  if (unexpected.length > 0) throw new CheckpointError(`${where}: unexpected tensors for this config: ${unexpected.join(', ')}`);
  const model = new RnnLM(config, kernels);
  for (const s of specs) {
    const t = tensors.get(s.name);
    if (!t) throw new CheckpointError(`${where}: missing tensor ${s.name} [${s.shape.join(', ')}]`);
    if (t.dtype !== 'F32') throw new CheckpointError(`${where}: tensor ${s.name} has dtype ${t.dtype}, expected F32`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new CheckpointError(`${where}: tensor ${s.name} has shape [${t.shape.join(', ')}], config needs [${s.shape.join(', ')}]`);
    }
    const data = t.data as Float32Array;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) throw new CheckpointError(`${where}: tensor ${s.name} holds a non-finite value at index ${i}`);
    }
    model.param(s.name).set(data);
  }
  return { model, vocab, metadata };
}
