// The model configuration: one frozen object, stored in every checkpoint's metadata.
// CLI flags map onto these fields one to one.

import { ConfigError } from '../errors.js';
import type { Level } from '../data/vocab.js';

export const CELLS = ['sigmoid', 'tanh', 'relu'] as const;
export type Cell = (typeof CELLS)[number];

export interface ModelConfig {
  /** Tokenisation: 'word' (whitespace words + <eos> per line) or 'char' (characters). */
  readonly level: Level;
  /** Recurrent cell: the notes' sigmoid Elman network by default; tanh / relu Elman variants. */
  readonly cell: Cell;
  /** Number of stacked recurrent layers. */
  readonly layers: number;
  /** Embedding width Emb (rows of E = encoder.weight are e(t)). */
  readonly embed: number;
  /** Hidden width H of every recurrent layer. */
  readonly hidden: number;
  /** Vocabulary size V (output distribution width). */
  readonly vocabSize: number;
}

function positiveInt(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new ConfigError(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Validate and freeze a config (also used on configs read from checkpoints). */
export function makeConfig(c: Partial<ModelConfig> & { vocabSize: number }): ModelConfig {
  const level = c.level ?? 'word';
  if (level !== 'word' && level !== 'char') throw new ConfigError(`level must be word or char, got ${JSON.stringify(level)}`);
  const cell = c.cell ?? 'sigmoid';
  if (!(CELLS as readonly string[]).includes(cell)) {
    throw new ConfigError(`cell must be one of ${CELLS.join(', ')}, got ${JSON.stringify(cell)}`);
  }
  return Object.freeze({
    level,
    cell,
    layers: positiveInt('layers', c.layers ?? 1, 16),
    embed: positiveInt('embed', c.embed ?? 200, 65536),
    hidden: positiveInt('hidden', c.hidden ?? 200, 65536),
    vocabSize: positiveInt('vocab_size', c.vocabSize, 1 << 24),
  });
}

/** The JSON form stored in checkpoints (snake_case keys). */
export function configToJson(c: ModelConfig): Record<string, unknown> {
  return { level: c.level, cell: c.cell, layers: c.layers, embed: c.embed, hidden: c.hidden, vocab_size: c.vocabSize };
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
  });
}
