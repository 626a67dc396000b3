// Setup that several test files share: a temp dir with a seeded training and validation text
// (removed after the file's tests), the tiny trainRun options the library tests use, and slices
// of the built-in corpus for the "every cell learns" checks.

import { after, before } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinText } from '../src/data/builtin/index.js';
import { Vocab } from '../src/data/vocab.js';
import type { TrainRunOptions } from '../src/node/train-run.js';
import { makeText, rmTemp, tempDir } from './helpers.js';

export interface TextDir {
  /** The directory (valid inside the tests of the file that called useTextDir). */
  readonly dir: string;
  /** Its train.txt and valid.txt. */
  readonly train: string;
  readonly valid: string;
  /** A path inside it. */
  path(name: string): string;
  /**
   * Tiny trainRun options on these texts (reference backend, 2 epochs of an embed-6 hidden-5 model
   * with Adam), `extra` on top: what the cells, classes and dropout tests train with.
   */
  run(save: string, extra?: Partial<TrainRunOptions>): TrainRunOptions;
}

/**
 * Register before/after hooks that make a temp dir holding makeText(seed, lines) as train.txt and
 * makeText(seed + 1, validLines) as valid.txt, and remove it at the end.
 */
export function useTextDir(prefix: string, seed: number, lines = 300, validLines = 40): TextDir {
  let dir = '';
  before(() => {
    dir = tempDir(prefix);
    writeFileSync(join(dir, 'train.txt'), makeText(seed, lines));
    writeFileSync(join(dir, 'valid.txt'), makeText(seed + 1, validLines));
  });
  after(() => rmTemp(dir));
  const td: TextDir = {
    get dir() {
      return dir;
    },
    get train() {
      return join(dir, 'train.txt');
    },
    get valid() {
      return join(dir, 'valid.txt');
    },
    path: (name) => join(dir, name),
    run: (save, extra = {}) => ({
      train: td.train, valid: td.valid, save, embed: 6, hidden: 5, batch: 4, bptt: 6, epochs: 2,
      lr: 0.01, optimizer: 'adam', seed: 1, backend: 'ref', ...extra,
    }),
  };
  return td;
}

export interface BuiltinSlice {
  vocab: Vocab;
  /** The first `lines` lines of builtin:train, as ids. */
  ids: Int32Array;
  /** The first `validTokens` tokens of builtin:valid. */
  valid: Int32Array;
}

/** The first `lines` lines of the built-in training text and `validTokens` tokens of its validation text. */
export function builtinSlice(lines: number, validTokens: number): BuiltinSlice {
  const trainText = builtinText('train').split('\n').slice(0, lines).join('\n') + '\n';
  const vocab = Vocab.build(trainText, 'word');
  return { vocab, ids: vocab.encode(trainText).ids, valid: vocab.encode(builtinText('valid')).ids.subarray(0, validTokens) };
}
