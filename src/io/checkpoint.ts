// Model checkpoints: one .safetensors file with F32 tensors named as PyTorch's
// word_language_model names them (encoder.weight, rnn.weight_ih_l0, …, decoder.bias; LSTM and
// GRU layers with torch.nn.LSTM / GRU's [4H, ·] / [3H, ·] shapes; class_decoder.* for a
// class-factored softmax) and __metadata__ = { format: "rnnlm", config: JSON, vocab: JSON array
// in id order, for a class-factored model classes: JSON array of each word id's class, for a
// hierarchical softmax hs_tree: JSON array of its inner nodes' children (hsoftmax.ts) }; with
// max-ent direct connections the table direct.weight [S].
// A tied model's file holds decoder.weight and encoder.weight with equal values (as a tied
// torch state_dict does); loading checks that they are equal.
// Pure (bytes in, bytes out); file access lives in checkpoint-file.ts.

import { CheckpointError, RnnlmError } from '../errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { Vocab } from '../data/vocab.js';
import { configFromJson, configToJson, type ModelConfig } from '../nn/config.js';
import { RnnLM, checkpointSpecs, type CheckpointSpec } from '../nn/model.js';
import { EVAL_USE, checkMemory } from '../nn/memory.js';
import { validateClasses } from '../data/classes.js';
import { validateHsTree } from '../nn/hsoftmax.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.js';

export const FORMAT = 'rnnlm';

/** Encode a model and its vocabulary; `extra` adds metadata entries (strings). */
export function encodeModel(model: RnnLM, vocab: Vocab, extra: Record<string, string> = {}): Uint8Array {
  if (vocab.size !== model.config.vocabSize) {
    throw new CheckpointError(`vocabulary has ${vocab.size} tokens but the model's vocab_size is ${model.config.vocabSize}`);
  }
  const tensors: Array<[string, Tensor]> = checkpointSpecs(model.config).map((s) => {
    const v = model.tensor(s.storage); // vocabulary order (a class model keeps class order inside)
    return [s.name, { dtype: 'F32', shape: [...s.shape], data: v instanceof Float32Array ? v : Float32Array.from(v) }];
  });
  return encodeSafetensors(tensors, { ...extra, ...headerMetadata(model, vocab) });
}

/** The metadata entries that describe a model: format, config, vocab (and classes, or hs_tree). */
export function headerMetadata(model: RnnLM, vocab: Vocab): Record<string, string> {
  const meta: Record<string, string> = {
    format: FORMAT,
    config: JSON.stringify(configToJson(model.config)),
    vocab: JSON.stringify(vocab.tokens),
  };
  if (model.wordClasses) meta.classes = JSON.stringify(Array.from(model.wordClasses));
  if (model.hsTree) meta.hs_tree = JSON.stringify(Array.from(model.hsTree));
  return meta;
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

/**
 * Read config and vocabulary (and, for a class-factored model, each word's class) from
 * checkpoint metadata, validating them.
 */
export function decodeHeader(metadata: Record<string, string>, where: string): { config: ModelConfig; vocab: Vocab; wordClasses?: Int32Array; hsTree?: Int32Array } {
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
  const hsTree = decodeHsTree(metadata, config, where);
  if (config.classes === 0) {
    if (metadata.classes !== undefined) throw new CheckpointError(`${where}: metadata has "classes" but the config has no class-factored softmax (classes 0)`);
    return { config, vocab, hsTree };
  }
  if (typeof metadata.classes !== 'string') throw new CheckpointError(`${where}: config has classes ${config.classes} but metadata lacks "classes" (each word id's class)`);
  const cls = parseJson(metadata.classes, 'classes', where);
  if (!Array.isArray(cls)) throw new CheckpointError(`${where}: metadata "classes" must be a JSON array of ${config.vocabSize} class ids`);
  try {
    validateClasses(cls as number[], config.classes, config.vocabSize, `${where}: metadata "classes"`);
  } catch (e) {
    if (e instanceof RnnlmError) throw new CheckpointError(e.message);
    throw e;
  }
  return { config, vocab, wordClasses: Int32Array.from(cls as number[]) };
}

/** The hierarchical softmax's tree from metadata "hs_tree" (output hs), validated: a proper binary tree over exactly V leaves. */
function decodeHsTree(metadata: Record<string, string>, config: ModelConfig, where: string): Int32Array | undefined {
  if (config.output !== 'hs') {
    if (metadata.hs_tree !== undefined) throw new CheckpointError(`${where}: metadata has "hs_tree" but the config's output is ${config.output}, not hs`);
    return undefined;
  }
  if (typeof metadata.hs_tree !== 'string') throw new CheckpointError(`${where}: config has output hs but metadata lacks "hs_tree" (the tree's children)`);
  const tree = parseJson(metadata.hs_tree, 'hs_tree', where);
  if (!Array.isArray(tree)) throw new CheckpointError(`${where}: metadata "hs_tree" must be a JSON array of ${2 * (config.vocabSize - 1)} child indices`);
  try {
    validateHsTree(tree as number[], config.vocabSize, `${where}: metadata "hs_tree"`);
  } catch (e) {
    if (e instanceof RnnlmError) throw new CheckpointError(e.message);
    throw e;
  }
  return Int32Array.from(tree as number[]);
}

/** decodeSafetensors, with the file's name in front of any error. */
export function decodeFile(bytes: Uint8Array, where: string): ReturnType<typeof decodeSafetensors> {
  try {
    return decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof CheckpointError) throw new CheckpointError(`${where}: ${e.message}`);
    throw e;
  }
}

/**
 * Decode and validate a checkpoint into a model on the given kernels. Every tensor is checked
 * against the config (names, dtypes, shapes, finite values, tied copies) and the model's memory
 * against what the kernels have left before the model is allocated, so a forged header (say
 * hidden 65536 over 8×8 tensors) is a CheckpointError, not an allocation failure.
 */
export function decodeModel(bytes: Uint8Array, kernels: Kernels, where = 'checkpoint'): DecodedModel {
  const { tensors, metadata } = decodeFile(bytes, where);
  const { config, vocab, wordClasses, hsTree } = decodeHeader(metadata, where);
  const specs = checkpointSpecs(config);
  const expected = new Set(specs.map((s) => s.name));
  const unexpected = [...tensors.keys()].filter((n) => !expected.has(n));
  if (unexpected.length > 0) throw new CheckpointError(`${where}: unexpected tensors for this config: ${unexpected.join(', ')}`);
  const values = new Map<string, Float32Array>();
  for (const s of specs) values.set(s.name, checkedTensor(tensors, s, where));
  for (const s of specs) {
    if (s.storage === s.name) continue;
    // A tied copy: it must hold exactly the values of the tensor it is tied to.
    const data = values.get(s.name)!;
    const owner = values.get(s.storage)!;
    const i = data.findIndex((v, j) => !Object.is(v, owner[j]));
    if (i >= 0) throw new CheckpointError(`${where}: config says tied, but ${s.name} differs from ${s.storage} at index ${i} (${data[i]} vs ${owner[i]})`);
  }
  checkMemory(config, kernels, EVAL_USE, where);
  const model = new RnnLM(config, kernels, { wordClasses, hsTree });
  for (const s of specs) {
    if (s.storage !== s.name) continue;
    try {
      model.setTensor(s.name, values.get(s.name)!);
    } catch (e) {
      if (e instanceof RnnlmError) throw new CheckpointError(`${where}: ${e.message}`);
      throw e;
    }
  }
  return { model, vocab, metadata };
}

/** The values of tensor `s` of a checkpoint: present, F32, of the config's shape, finite. */
function checkedTensor(tensors: Map<string, Tensor>, s: CheckpointSpec, where: string): Float32Array {
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
  return data;
}
