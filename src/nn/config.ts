// The model configuration: one frozen object, stored in every checkpoint's metadata.
// CLI flags map onto these fields one to one.

import { ConfigError } from '../errors.js';
import { LIMITS, MODEL_DEFAULTS } from '../defaults.js';
import type { Level } from '../data/vocab.js';
import { validateDirect } from './direct.js';

/** Elman cells (one activation) first, then the gated cells. */
export const ELMAN_CELLS = ['sigmoid', 'tanh', 'relu'] as const;
export const CELLS = [...ELMAN_CELLS, 'lstm', 'gru'] as const;
export type Cell = (typeof CELLS)[number];
export type ElmanCell = (typeof ELMAN_CELLS)[number];

/** Output layers: full softmax, class-factored softmax (classes.ts), hierarchical softmax (hsoftmax.ts). */
export const OUTPUTS = ['softmax', 'classes', 'hs'] as const;
export type Output = (typeof OUTPUTS)[number];

export function isElmanCell(cell: Cell): cell is ElmanCell {
  return (ELMAN_CELLS as readonly string[]).includes(cell);
}

export interface ModelConfig {
  /** Tokenisation: 'word' (whitespace words + <eos> per line) or 'char' (characters). */
  readonly level: Level;
  /**
   * Recurrent cell: the notes' sigmoid Elman network by default; tanh / relu Elman variants;
   * 'lstm' and 'gru' as torch.nn.LSTM / torch.nn.GRU (gate order i,f,g,o and r,z,n).
   */
  readonly cell: Cell;
  /** Number of stacked recurrent layers. */
  readonly layers: number;
  /** Embedding width Emb (rows of E = encoder.weight are e(t)). */
  readonly embed: number;
  /** Hidden width H of every recurrent layer. */
  readonly hidden: number;
  /** Vocabulary size V (output distribution width). */
  readonly vocabSize: number;
  /**
   * Dropout probability P in [0, 1) (Zaremba et al. 2014): applied in training only, to the
   * embeddings' output, between stacked layers and before the output layer, never on the
   * recurrent connections; kept units are scaled by 1/(1-P) (inverted dropout). 0 = off.
   */
  readonly dropout: number;
  /**
   * Weight tying (Press & Wolf 2017; Inan et al. 2017): decoder.weight is encoder.weight (one
   * copy in the arena, both uses' gradients summed). Requires embed = hidden.
   */
  readonly tied: boolean;
  /**
   * Class-factored softmax (Mikolov et al. 2011): 0 = full softmax over V; C ≥ 2 = P(w|h) =
   * P(class(w)|h) · P(w|class(w),h) with C frequency-binned classes (classes.ts). 2 ≤ C ≤ V.
   */
  readonly classes: number;
  /**
   * LSTM only: added to the forget-gate block of bias_ih_l{k} after PyTorch's uniform init
   * (1 is the usual choice, Jozefowicz et al. 2015). 0 (default) = PyTorch's init unchanged.
   * Affects initialisation only; it is stored so that a run can be described and repeated.
   */
  readonly forgetBias: number;
  /**
   * The output layer: 'softmax' (full, over V), 'classes' (class-factored; set by classes ≥ 2)
   * or 'hs' (hierarchical softmax over a Huffman tree of the training counts: P(w|h) is a product
   * of sigmoid decisions along w's path, hs.weight [V-1, H], hs.bias [V-1]; hsoftmax.ts).
   */
  readonly output: Output;
  /**
   * Max-ent direct connections (Mikolov 2011; rnnlm-0.4b -direct): the number of entries S of the
   * hashed n-gram feature table direct.weight [S] whose entries add onto the output scores
   * (direct.ts). 0 = off.
   */
  readonly direct: number;
  /** The n-gram order of the max-ent features: histories of 0 … directOrder-1 words (rnnlm-0.4b's -direct-order). */
  readonly directOrder: number;
  /**
   * Fold the input product into the embedding (Elman cells, embed = hidden): the first layer's
   * pre-activation takes e(t) = encoder.weight[x(t)] directly, W_e = I — the notes' E followed by
   * W_e is one product E·W_eᵀ of the same [V, H] shape, which is how rnnlm-0.4b's input layer
   * works. Saves the three [N, H]×[H, H] input products per batch. The checkpoint stores
   * rnn.weight_ih_l0 = I, so the file loads into torch.nn.RNN unchanged.
   */
  readonly foldInput: boolean;
}

function positiveInt(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new ConfigError(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Validate and freeze a config (also used on configs read from checkpoints). */
export function makeConfig(c: Partial<ModelConfig> & { vocabSize: number }): ModelConfig {
  const level = c.level ?? MODEL_DEFAULTS.level;
  if (level !== 'word' && level !== 'char') throw new ConfigError(`level must be word or char, got ${JSON.stringify(level)}`);
  const cell = c.cell ?? MODEL_DEFAULTS.cell;
  if (!(CELLS as readonly string[]).includes(cell)) {
    throw new ConfigError(`cell must be one of ${CELLS.join(', ')}, got ${JSON.stringify(cell)}`);
  }
  const layers = positiveInt('layers', c.layers ?? MODEL_DEFAULTS.layers, LIMITS.layers);
  const embed = positiveInt('embed', c.embed ?? MODEL_DEFAULTS.embed, LIMITS.width);
  const hidden = positiveInt('hidden', c.hidden ?? MODEL_DEFAULTS.hidden, LIMITS.width);
  const vocabSize = positiveInt('vocab_size', c.vocabSize, LIMITS.vocab);
  const dropout = c.dropout ?? MODEL_DEFAULTS.dropout;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw new ConfigError(`dropout must be a probability from 0 (off) to below 1, got ${JSON.stringify(dropout)}`);
  }
  const tied = c.tied ?? MODEL_DEFAULTS.tied;
  if (typeof tied !== 'boolean') throw new ConfigError(`tied must be true or false, got ${JSON.stringify(tied)}`);
  if (tied && embed !== hidden) {
    throw new ConfigError(`tied weights need embed = hidden (decoder.weight [V, H] is encoder.weight [V, Emb]), got embed ${embed} and hidden ${hidden}`);
  }
  const classes = c.classes ?? MODEL_DEFAULTS.classes;
  if (typeof classes !== 'number' || !Number.isInteger(classes) || classes < 0 || classes === 1 || classes > vocabSize) {
    throw new ConfigError(`classes must be 0 (full softmax) or an integer from 2 to the vocabulary size ${vocabSize}, got ${JSON.stringify(classes)}`);
  }
  const forgetBias = c.forgetBias ?? MODEL_DEFAULTS.forgetBias;
  if (typeof forgetBias !== 'number' || !Number.isFinite(forgetBias)) {
    throw new ConfigError(`forget bias must be a finite number, got ${JSON.stringify(forgetBias)}`);
  }
  if (forgetBias !== 0 && cell !== 'lstm') {
    throw new ConfigError(`forget bias applies to the lstm cell only (cell is ${cell}); leave it at 0 or use --cell lstm`);
  }
  const output = c.output ?? (classes > 0 ? 'classes' : MODEL_DEFAULTS.output);
  if (!(OUTPUTS as readonly string[]).includes(output)) {
    throw new ConfigError(`output must be one of ${OUTPUTS.join(', ')}, got ${JSON.stringify(output)}`);
  }
  if (output === 'classes' && classes === 0) throw new ConfigError('output classes needs the number of classes (classes from 2 to the vocabulary size)');
  if (output !== 'classes' && classes > 0) throw new ConfigError(`classes ${classes} is a class-factored output, but output is ${output}: leave classes at 0 or use output classes`);
  if (output === 'hs' && vocabSize < 2) throw new ConfigError(`a hierarchical softmax needs a vocabulary of at least 2 tokens, got ${vocabSize}`);
  if (output === 'hs' && tied) throw new ConfigError('tied weights need decoder.weight, which a hierarchical softmax does not have (its node vectors are hs.weight): drop tied or use output softmax or classes');
  const direct = c.direct ?? MODEL_DEFAULTS.direct;
  const directOrder = c.directOrder ?? MODEL_DEFAULTS.directOrder;
  validateDirect(direct, directOrder);
  const foldInput = c.foldInput ?? MODEL_DEFAULTS.foldInput;
  if (typeof foldInput !== 'boolean') throw new ConfigError(`fold input must be true or false, got ${JSON.stringify(foldInput)}`);
  if (foldInput && !isElmanCell(cell)) throw new ConfigError(`fold input applies to the Elman cells (sigmoid, tanh, relu), not ${cell}: the folded table enters h(t) = act(e(t) + W_h h(t-1) + b) directly`);
  if (foldInput && embed !== hidden) throw new ConfigError(`fold input needs embed = hidden (encoder.weight [V, H] is E·W_eᵀ), got embed ${embed} and hidden ${hidden}`);
  return Object.freeze({ level, cell, layers, embed, hidden, vocabSize, dropout, tied, classes, forgetBias, output, direct, directOrder, foldInput });
}

/**
 * The JSON form stored in checkpoints (snake_case keys). Fields at their defaults (dropout 0,
 * tied false, classes 0, forget_bias 0, no direct connections) are left out, so older
 * checkpoints read unchanged; output is written only for 'hs' (classes > 0 means 'classes').
 */
export function configToJson(c: ModelConfig): Record<string, unknown> {
  const j: Record<string, unknown> = { level: c.level, cell: c.cell, layers: c.layers, embed: c.embed, hidden: c.hidden, vocab_size: c.vocabSize };
  if (c.dropout !== 0) j.dropout = c.dropout;
  if (c.tied) j.tied = true;
  if (c.classes !== 0) j.classes = c.classes;
  if (c.forgetBias !== 0) j.forget_bias = c.forgetBias;
  if (c.output === 'hs') j.output = 'hs';
  if (c.direct !== 0) {
    j.direct = c.direct;
    j.direct_order = c.directOrder;
  }
  if (c.foldInput) j.fold_input = true;
  return j;
}

export function configFromJson(j: unknown): ModelConfig {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new ConfigError('config must be a JSON object');
  const o = j as Record<string, unknown>;
  for (const k of ['level', 'cell', 'layers', 'embed', 'hidden', 'vocab_size']) {
    if (!(k in o)) throw new ConfigError(`config lacks the field "${k}"`);
  }
  return makeConfig({
    level: o.level as Level,
    cell: o.cell as Cell,
    layers: o.layers as number,
    embed: o.embed as number,
    hidden: o.hidden as number,
    vocabSize: o.vocab_size as number,
    dropout: o.dropout as number | undefined,
    tied: o.tied as boolean | undefined,
    classes: o.classes as number | undefined,
    forgetBias: o.forget_bias as number | undefined,
    output: o.output as Output | undefined,
    direct: o.direct as number | undefined,
    directOrder: o.direct_order as number | undefined,
    foldInput: o.fold_input as boolean | undefined,
  });
}
