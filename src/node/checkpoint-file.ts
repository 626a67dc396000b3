// Checkpoint files on disk (Node): atomic writes, validated reads.

import type { Kernels } from '../kernels/kernels.js';
import type { Vocab } from '../data/vocab.js';
import type { RnnLM } from '../nn/model.js';
import { readFileBytes, writeFileAtomicSync } from './atomic.js';
import { decodeModel, encodeModel, type DecodedModel } from '../io/checkpoint.js';

export function saveModel(path: string, model: RnnLM, vocab: Vocab, extra: Record<string, string> = {}): void {
  writeFileAtomicSync(path, encodeModel(model, vocab, extra));
}

export function loadModel(path: string, kernels: Kernels): DecodedModel {
  return decodeModel(readFileBytes(path), kernels, path);
}
