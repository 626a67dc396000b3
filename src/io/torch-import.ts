// Importing weights trained by PyTorch: a state_dict of pytorch/examples' word_language_model
// `RNNModel` (RNN_TANH, RNN_RELU, LSTM, GRU; tied or not; any number of layers), saved as
// safetensors (`safetensors.torch.save_file` / `save_model`), becomes an rnnlm model.
//
//   state_dict                        rnnlm
//   encoder.weight [V, E]             encoder.weight, rows permuted into rnnlm's vocabulary order
//   rnn.{weight,bias}_{ih,hh}_l{k}    the same tensors (rnnlm's cells use PyTorch's gate order)
//   decoder.weight [V, H]             decoder.weight, rows permuted (tied: encoder.weight itself)
//   decoder.bias [V]                  decoder.bias, permuted
//
// Vocabulary. The example numbers words by first appearance (data.Corpus: each line's
// `line.split() + ['<eos>']`, over train, then valid, then test); rnnlm numbers them `<eos>` 0,
// `<unk>` 1, then by descending training count, ties by first appearance (Vocab.build); words the
// training text never shows (a dictionary built over valid and test too) come last, in their
// PyTorch order. perm[r] = the PyTorch id of rnnlm id r; row r of every [V, ·] tensor is row
// perm[r] of the PyTorch tensor, so every probability is unchanged.
//
// Refused, with the tensor's name: Transformer weights, bidirectional (`_reverse`) or projected
// (`weight_hr`) LSTMs, missing or unknown tensors, shapes that do not fit, dtypes other than F32
// and F64 (F64 is rounded to F32; F16/BF16 are refused with the fix), non-finite values, a
// vocabulary whose size differs from the embedding's rows, and a vocabulary without `<unk>`:
// rnnlm maps every unseen word to `<unk>` and a model without that row cannot be represented
// without inventing its probability.
//
// Platform-neutral: bytes and token lists in, a model (reference kernels unless given) out; no
// Node module. The command is src/cli/import.ts.
// Legend: V vocab, E embedding width, H hidden, G gate blocks (1 Elman, 3 GRU, 4 LSTM), L layers.

import { CheckpointError, ConfigError, InputError, RnnlmError } from '../errors.js';
import { EOS, UNK, Vocab, lineWords, splitLines, tokenize } from '../data/vocab.js';
import { makeConfig, type Cell, type ModelConfig } from '../nn/config.js';
import { RnnLM } from '../nn/model.js';
import { rnnNames } from '../nn/recurrent.js';
import { RefKernels } from '../kernels/ref.js';
import type { Kernels } from '../kernels/kernels.js';
import { decodeSafetensors, type Tensor } from './safetensors.js';

/** The Elman activations nn.RNN offers (its `nonlinearity`). */
export const TORCH_ELMAN = ['tanh', 'relu'] as const;
export type TorchElman = (typeof TORCH_ELMAN)[number];

/**
 * The example's dictionary (data.Corpus): for each text in order (train, then valid, then test),
 * each line's whitespace-separated words and then `<eos>`, each added at its first appearance.
 * Returns the tokens in PyTorch id order. Lines and words are split as rnnlm splits them
 * (identical to Python's `line.split()` on ASCII whitespace).
 */
export function torchDictionary(texts: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (w: string): void => {
    if (!seen.has(w)) {
      seen.add(w);
      out.push(w);
    }
  };
  for (const text of texts) {
    for (const line of splitLines(text)) {
      for (const w of lineWords(line)) add(w);
      add(EOS);
    }
  }
  return out;
}

/**
 * A vocabulary file: one token per line, in PyTorch id order (a final newline is optional).
 * Refuses empty lines, tokens with whitespace and duplicates, naming the line.
 */
export function parseVocabList(text: string, where = 'vocabulary'): string[] {
  const lines = splitLines(text.replace(/\r\n/g, '\n'));
  const seen = new Map<string, number>();
  lines.forEach((t, i) => {
    if (t === '') throw new InputError(`${where}: line ${i + 1} is empty: give one token per line, in id order`);
    if (/\s/.test(t)) throw new InputError(`${where}: line ${i + 1} holds ${JSON.stringify(t)}, which contains whitespace: give one token per line, in id order`);
    const first = seen.get(t);
    if (first !== undefined) throw new InputError(`${where}: token ${JSON.stringify(t)} is listed twice (lines ${first + 1} and ${i + 1})`);
    seen.set(t, i);
  });
  return lines;
}

/**
 * rnnlm's order for the tokens of a PyTorch vocabulary: `<eos>`, `<unk>`, then by descending
 * count in `trainText` (rnnlm's word tokenisation), ties and zero counts by PyTorch id, which is
 * first appearance for a Corpus dictionary. Without a training text every count is zero: PyTorch
 * order with `<eos>` and `<unk>` moved first. Returns the tokens and perm [V]: perm[r] is the
 * PyTorch id of rnnlm id r. Throws when `<eos>` or `<unk>` is missing or a token repeats.
 */
export function rnnlmOrder(torchTokens: readonly string[], trainText: string | null): { tokens: string[]; perm: Int32Array } {
  const index = new Map<string, number>();
  torchTokens.forEach((t, i) => {
    if (index.has(t)) throw new InputError(`the PyTorch vocabulary lists ${JSON.stringify(t)} twice (ids ${index.get(t)} and ${i})`);
    index.set(t, i);
  });
  if (!index.has(UNK)) {
    throw new InputError(
      `the PyTorch vocabulary has no ${UNK}: rnnlm maps every unseen word to ${UNK} (id 1), and a model without that row cannot be ` +
        `represented without inventing its probability; train the PyTorch model on text that contains ${UNK} (as PTB does), or give --vocab with the dictionary it used`,
    );
  }
  if (!index.has(EOS)) throw new InputError(`the PyTorch vocabulary has no ${EOS}: the example appends it to every line; give the dictionary the model was trained with`);
  const counts = new Float64Array(torchTokens.length);
  if (trainText !== null) {
    for (const t of tokenize(trainText, 'word')) {
      const i = index.get(t);
      if (i !== undefined) counts[i]++;
    }
  }
  const rest: number[] = [];
  for (let i = 0; i < torchTokens.length; i++) if (torchTokens[i] !== EOS && torchTokens[i] !== UNK) rest.push(i);
  rest.sort((a, b) => counts[b] - counts[a] || a - b);
  const perm = Int32Array.from([index.get(EOS)!, index.get(UNK)!, ...rest]);
  return { tokens: Array.from(perm, (i) => torchTokens[i]!), perm };
}

export interface TorchImportOptions {
  /** Activation of nn.RNN weights (one gate block): tanh (nn.RNN's default) or relu. Not for LSTM / GRU weights. */
  elman?: TorchElman;
  /** The file's name, for messages. */
  where?: string;
  /** Kernels for the returned model (default: the reference; only the parameters matter for saving). */
  kernels?: Kernels;
}

export interface TorchImport {
  model: RnnLM;
  vocab: Vocab;
  config: ModelConfig;
  /** perm [V]: the PyTorch id of each rnnlm id. */
  perm: Int32Array;
  /** How the tied weight arrived: both tensors (equal), one of them only, or null (untied). */
  tiedFrom: 'both' | 'encoder.weight' | 'decoder.weight' | null;
}

const RNN_KEY = /^rnn\.(weight|bias)_(ih|hh)_l(\d+)$/;
const PREFIX = 'module.'; // DistributedDataParallel's wrapper prefixes every name with it

/**
 * Dtypes from the header, before decoding: F16 / BF16 (and anything else rnnlm's decoder does not
 * read) are refused by tensor name with the fix, rather than as an invalid file. A header that
 * does not parse is left to decodeSafetensors, whose messages say what is wrong.
 */
function refuseDtypes(bytes: Uint8Array, where: string): void {
  if (bytes.length < 8) return;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) return;
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + Number(n))));
  } catch {
    return;
  }
  if (typeof header !== 'object' || header === null) return;
  for (const [name, e] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__' || typeof e !== 'object' || e === null) continue;
    const dtype = (e as Record<string, unknown>).dtype;
    if (dtype !== 'F32' && dtype !== 'F64') {
      throw new CheckpointError(
        `${where}: tensor ${name} is ${JSON.stringify(dtype)}: rnnlm imports F32 (and F64, rounded to F32); ` +
          'save a float32 copy: save_file({k: v.float().contiguous() for k, v in model.state_dict().items()}, path)',
      );
    }
  }
}

/** The F32 values of a tensor (F64 rounded), refusing non-finite values by name and index. */
function f32Of(name: string, t: Tensor, where: string): Float32Array {
  const data = t.dtype === 'F32' ? (t.data as Float32Array) : Float32Array.from(t.data as Float64Array);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const was = t.dtype === 'F64' && Number.isFinite((t.data as Float64Array)[i]) ? ` (${(t.data as Float64Array)[i]} overflows F32)` : '';
      throw new CheckpointError(`${where}: tensor ${name} holds a non-finite value at index ${i}${was}; rnnlm cannot represent it`);
    }
  }
  return data;
}

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** Names every tensor must have, and the refusals for the ones an RNNModel never has. */
function classifyNames(names: readonly string[], where: string): number {
  // First the marks of the example's TransformerModel (nn.Transformer's encoder.layers.*, encoder.norm.*,
  // its pos_encoder and input_emb), so that such a file is named for what it is.
  const transformer = names.find((n) => /^(transformer_encoder|transformer_decoder|pos_encoder|input_emb)\.|^(encoder|decoder)\.(layers|norm)\./.test(n));
  if (transformer !== undefined) {
    throw new CheckpointError(`${where}: tensor ${transformer} belongs to a Transformer (pytorch/examples' TransformerModel); rnnlm imports RNNModel weights only (RNN_TANH, RNN_RELU, LSTM, GRU)`);
  }
  let layers = 0;
  for (const name of names) {
    if (/^rnn\.\w+_reverse$/.test(name)) {
      throw new CheckpointError(`${where}: tensor ${name} is the backward direction of a bidirectional RNN; a language model of rnnlm reads left to right only`);
    }
    if (/^rnn\.weight_hr_l\d+$/.test(name)) {
      throw new CheckpointError(`${where}: tensor ${name} is an LSTM projection (proj_size > 0), which rnnlm's LSTM does not have`);
    }
    const m = RNN_KEY.exec(name);
    if (m) {
      layers = Math.max(layers, Number(m[3]) + 1);
      continue;
    }
    if (name !== 'encoder.weight' && name !== 'decoder.weight' && name !== 'decoder.bias') {
      throw new CheckpointError(
        `${where}: unexpected tensor ${name}: a word_language_model RNNModel holds encoder.weight, rnn.{weight,bias}_{ih,hh}_l{k}, decoder.weight and decoder.bias only`,
      );
    }
  }
  if (layers === 0) throw new CheckpointError(`${where}: missing tensor rnn.weight_ih_l0: no recurrent layer in this state_dict`);
  return layers;
}

/**
 * Convert a PyTorch word_language_model state_dict (safetensors bytes) into an rnnlm model.
 * `torchTokens` is the vocabulary in PyTorch id order (torchDictionary or parseVocabList);
 * `trainText` gives the counts that order rnnlm's vocabulary (null: PyTorch order). Throws
 * CheckpointError / InputError / ConfigError naming the offending tensor or token.
 */
export function importTorchStateDict(
  bytes: Uint8Array, torchTokens: readonly string[], trainText: string | null, opts: TorchImportOptions = {},
): TorchImport {
  const where = opts.where ?? 'state_dict';
  refuseDtypes(bytes, where);
  let decoded: Map<string, Tensor>;
  try {
    decoded = decodeSafetensors(bytes).tensors;
  } catch (e) {
    if (e instanceof CheckpointError) throw new CheckpointError(`${where}: ${e.message}`);
    throw e;
  }
  // A DistributedDataParallel model's state_dict names every tensor module.<name>.
  const all = [...decoded.keys()];
  const strip = all.length > 0 && all.every((n) => n.startsWith(PREFIX));
  const tensors = new Map<string, Tensor>();
  for (const [n, t] of decoded) tensors.set(strip ? n.slice(PREFIX.length) : n, t);

  const L = classifyNames([...tensors.keys()], where);
  const get = (name: string): { t: Tensor; data: Float32Array } => {
    const t = tensors.get(name);
    if (!t) {
      const why = /bias/.test(name) ? ' (rnnlm needs both biases of every layer; a model built with bias=False cannot be represented)' : '';
      throw new CheckpointError(`${where}: missing tensor ${name}${why}`);
    }
    return { t, data: f32Of(name, t, where) };
  };
  const expectShape = (name: string, t: Tensor, shape: number[]): void => {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(`${where}: tensor ${name} has shape ${fmt(t.shape)}, expected ${fmt(shape)}`);
    }
  };

  // --- the recurrent layers: H from weight_hh_l0, G gate blocks from its rows ---------------------
  const hh0 = get(rnnNames(0).W_hh);
  if (hh0.t.shape.length !== 2 || hh0.t.shape[1]! < 1) {
    throw new CheckpointError(`${where}: tensor rnn.weight_hh_l0 has shape ${fmt(hh0.t.shape)}, expected [G·H, H]`);
  }
  const H = hh0.t.shape[1]!;
  const G = hh0.t.shape[0]! / H;
  let cell: Cell;
  if (G === 4) cell = 'lstm';
  else if (G === 3) cell = 'gru';
  else if (G === 1) cell = opts.elman ?? 'tanh';
  else {
    throw new CheckpointError(
      `${where}: tensor rnn.weight_hh_l0 has shape ${fmt(hh0.t.shape)}: ${hh0.t.shape[0]} rows are neither H (nn.RNN), 3H (nn.GRU) nor 4H (nn.LSTM) for H = ${H}`,
    );
  }
  if (opts.elman !== undefined && G !== 1) {
    throw new ConfigError(`--cell ${opts.elman} applies to nn.RNN weights (one gate block); these weights are ${cell.toUpperCase()} (rnn.weight_hh_l0 has ${G}·H rows): leave --cell out`);
  }
  const ih0 = get(rnnNames(0).W_ih);
  if (ih0.t.shape.length !== 2 || ih0.t.shape[0] !== G * H) {
    throw new CheckpointError(`${where}: tensor rnn.weight_ih_l0 has shape ${fmt(ih0.t.shape)}, expected [${G * H}, E]`);
  }
  const E = ih0.t.shape[1]!;
  const rnn = new Map<string, Float32Array>();
  for (let l = 0; l < L; l++) {
    const n = rnnNames(l);
    const shapes: Array<[string, number[]]> = [[n.W_ih, [G * H, l === 0 ? E : H]], [n.W_hh, [G * H, H]], [n.b_ih, [G * H]], [n.b_hh, [G * H]]];
    for (const [name, shape] of shapes) {
      const { t, data } = get(name);
      expectShape(name, t, shape);
      rnn.set(name, data);
    }
  }

  // --- embedding and output: tied when both are present and equal, or when one was dropped -----
  const bias = get('decoder.bias');
  if (bias.t.shape.length !== 1) throw new CheckpointError(`${where}: tensor decoder.bias has shape ${fmt(bias.t.shape)}, expected [V]`);
  const V = bias.t.shape[0]!;
  const hasEnc = tensors.has('encoder.weight');
  const hasDec = tensors.has('decoder.weight');
  let enc: Float32Array;
  let dec: Float32Array;
  let tiedFrom: TorchImport['tiedFrom'];
  if (hasEnc && hasDec) {
    const e = get('encoder.weight');
    expectShape('encoder.weight', e.t, [V, E]);
    const d = get('decoder.weight');
    expectShape('decoder.weight', d.t, [V, H]);
    enc = e.data;
    dec = d.data;
    tiedFrom = E === H && enc.every((v, i) => Object.is(v, dec[i])) ? 'both' : null;
  } else if (hasEnc || hasDec) {
    // safetensors' save_model keeps one name of a shared tensor (decoder.weight, the first sorted).
    const present = hasEnc ? 'encoder.weight' : 'decoder.weight';
    const absent = hasEnc ? 'decoder.weight' : 'encoder.weight';
    const p = get(present);
    if (E !== H) {
      throw new CheckpointError(`${where}: missing tensor ${absent}; ${present} cannot stand in for it (a tied model needs embedding width ${E} = hidden ${H})`);
    }
    expectShape(present, p.t, [V, H]);
    enc = dec = p.data;
    tiedFrom = present;
  } else {
    throw new CheckpointError(`${where}: missing tensor encoder.weight (and decoder.weight)`);
  }
  const tied = tiedFrom !== null;

  // --- vocabulary -----------------------------------------------------------------------------
  if (torchTokens.length !== V) {
    throw new InputError(
      `${where}: encoder.weight has ${V} rows but the vocabulary has ${torchTokens.length} tokens; ` +
        'the example builds its dictionary over train, valid and test: pass the same files (--valid, --test), or --vocab with the dictionary it used',
    );
  }
  const { tokens, perm } = rnnlmOrder(torchTokens, trainText);
  let config: ModelConfig;
  let vocab: Vocab;
  try {
    config = makeConfig({ level: 'word', cell, layers: L, embed: E, hidden: H, vocabSize: V, tied });
    vocab = new Vocab(tokens, 'word');
  } catch (e) {
    if (e instanceof RnnlmError) throw new CheckpointError(`${where}: ${e.message}`);
    throw e;
  }

  // --- the model: rows of the [V, ·] tensors permuted, the rest copied --------------------------
  const model = new RnnLM(config, opts.kernels ?? new RefKernels());
  const permuteRows = (out: Float32Array | Float64Array, src: Float32Array, width: number): void => {
    for (let r = 0; r < V; r++) out.set(src.subarray(perm[r]! * width, (perm[r]! + 1) * width), r * width);
  };
  permuteRows(model.param('encoder.weight'), enc, E);
  if (!tied) permuteRows(model.param('decoder.weight'), dec, H);
  permuteRows(model.param('decoder.bias'), bias.data, 1);
  for (const [name, data] of rnn) model.param(name).set(data);
  return { model, vocab, config, perm, tiedFrom };
}
