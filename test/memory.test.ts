// The memory a model needs (src/nn/memory.ts), counted by hand for small models of each cell,
// with classes, dropout and every optimizer: each part, their order and the total; the byte
// formatting; the check against what the kernels have left, at its exact boundary, with the
// parameters already allocated in wasm memory, and its message in full.
// Legend: B batch, T steps, N = B·T rows, L layers, E embed, H hidden, V vocab, C classes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../src/errors.js';
import { LIMITS } from '../src/defaults.js';
import { RefKernels } from '../src/kernels/ref.js';
import { WasmKernels } from '../src/kernels/wasm/kernels.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { makeConfig } from '../src/nn/config.js';
import { EVAL_USE, checkMemory, formatBytes, memoryLeft, memoryNeed } from '../src/nn/memory.js';

/** A stand-in for the wasm kernels whose memory already holds `heap` bytes (memoryLeft reads only that). */
function wasmHolding(heap: number): Kernels {
  const k = Object.create(WasmKernels.prototype) as WasmKernels;
  Object.defineProperty(k, 'heapBytes', { value: heap });
  Object.defineProperty(k, 'name', { value: 'wasm' });
  return k;
}

test('memoryNeed by hand: 2-layer sigmoid with Adam (N = 10 rows)', () => {
  const c = makeConfig({ cell: 'sigmoid', vocabSize: 10, embed: 4, hidden: 3, layers: 2 });
  // P = encoder 10·4 + layer 0 (3·4 + 3·3 + 3 + 3) + layer 1 (3·3 + 3·3 + 3 + 3) + decoder 10·3 + 10 = 131
  // caches per layer: Hs (N + B)·H = 12·3, W_hᵀ 3·3 = 45; embeddings etc: N·E 40 + 2·N·max(E, H) 80 + 2·L·B·H 24 = 144
  const need = memoryNeed(c, { batch: 2, bptt: 5, optimizer: 'adam' });
  assert.deepEqual(need.parts, [
    ['optimizer state (adam)', 4 * 262],
    ['embeddings, gradient buffers, dropout masks and carried state', 4 * 144],
    ['parameters', 4 * 131],
    ['gradients', 4 * 131],
    ['logits [10, 10]', 4 * 100],
    ['layer caches for 10 rows', 4 * 90],
  ]);
  assert.equal(need.bytes, 4 * (262 + 144 + 131 + 131 + 100 + 90));
  // Adagrad keeps one buffer, SGD none (and then no such part)
  assert.deepEqual(memoryNeed(c, { batch: 2, bptt: 5, optimizer: 'adagrad' }).parts.find(([p]) => p.startsWith('optimizer')), ['optimizer state (adagrad)', 4 * 131]);
  assert.ok(!memoryNeed(c, { batch: 2, bptt: 5, optimizer: 'sgd' }).parts.some(([p]) => p.startsWith('optimizer')));
});

test('memoryNeed by hand: LSTM with classes and dropout (N = 6), GRU for evaluation', () => {
  const c = makeConfig({ cell: 'lstm', vocabSize: 12, embed: 5, hidden: 4, classes: 3, dropout: 0.5 });
  // P = encoder 60 + lstm (16·5 + 16·4 + 16 + 16) + decoder 12·4 + 12 + class decoder 3·4 + 3 = 311
  // caches: G 6·16, Hs and Cs (6 + 3)·4 each, tanh(c) 6·4, dG 6·16, dc 3·4, W_hhᵀ 4·16 = 364
  // embeddings etc: N·E 30 + 2·N·max(E, H) 60 + dropout 2·N·(E + L·H) 108 + 2·L·B·2H 48 = 246
  // classes: N·C 18 + 2·N·H 48 + N·V 72 + V·H 48 + V 12 = 198
  const need = memoryNeed(c, { batch: 3, bptt: 2, optimizer: 'sgd' });
  assert.deepEqual(need.parts, [
    ['layer caches for 6 rows', 4 * 364],
    ['parameters', 4 * 311],
    ['gradients', 4 * 311],
    ['embeddings, gradient buffers, dropout masks and carried state', 4 * 246],
    ['class softmax buffers', 4 * 198],
    ['logits [6, 12]', 4 * 72],
  ]);
  assert.equal(need.bytes, 4 * (364 + 311 + 311 + 246 + 198 + 72));
  // GRU, one stream of 3 steps, no optimizer: P = 12 + (6·2 + 6·2 + 6 + 6) + 6·2 + 6 = 66;
  // caches Gi, Gh, dGi, dGh 3·6 each, Hs (3 + 1)·2, W_hhᵀ 6·2 = 92; embeddings etc 6 + 12 + 4 = 22
  const g = makeConfig({ cell: 'gru', vocabSize: 6, embed: 2, hidden: 2 });
  assert.deepEqual(memoryNeed(g, { batch: 1, bptt: 3 }).parts, [
    ['layer caches for 3 rows', 4 * 92],
    ['parameters', 4 * 66],
    ['gradients', 4 * 66],
    ['embeddings, gradient buffers, dropout masks and carried state', 4 * 22],
    ['logits [3, 6]', 4 * 18],
  ]);
  // the default use is evaluation: one stream of 256 steps, no optimizer
  assert.deepEqual(EVAL_USE, { batch: 1, bptt: 256 });
  assert.ok(Object.isFrozen(EVAL_USE));
  assert.deepEqual(memoryNeed(g), memoryNeed(g, { batch: 1, bptt: 256 }));
});

test('formatBytes: GiB from 2^30, MiB from 2^20, KiB below', () => {
  assert.equal(formatBytes(2 ** 32), '4.00 GiB');
  assert.equal(formatBytes(2 ** 30), '1.00 GiB');
  assert.equal(formatBytes(2 ** 30 - 2 ** 19), '1023.5 MiB');
  assert.equal(formatBytes(2 ** 20), '1.0 MiB');
  assert.equal(formatBytes(2 ** 20 - 512), '1023.5 KiB');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(0), '0.0 KiB');
});

test('memoryLeft and checkMemory: the 4 GiB less what wasm memory holds; refused one byte past it; parameters already allocated count once', () => {
  const ref = new RefKernels();
  assert.equal(LIMITS.memoryBytes, 2 ** 32);
  assert.equal(memoryLeft(ref), 2 ** 32);
  assert.equal(memoryLeft(wasmHolding(1000)), 2 ** 32 - 1000);
  const c = makeConfig({ cell: 'sigmoid', vocabSize: 10, embed: 4, hidden: 3, layers: 2 });
  const use = { batch: 2, bptt: 5, optimizer: 'adam' as const };
  const need = memoryNeed(c, use).bytes; // 3432
  const own = 2 * 4 * 131; // parameters and gradients
  assert.doesNotThrow(() => checkMemory(c, wasmHolding(2 ** 32 - need), use));
  assert.throws(() => checkMemory(c, wasmHolding(2 ** 32 - need + 1), use), ConfigError);
  // already allocated in wasm memory: counted there, not twice
  assert.doesNotThrow(() => checkMemory(c, wasmHolding(2 ** 32 - need + own), use, 'm', true));
  assert.throws(() => checkMemory(c, wasmHolding(2 ** 32 - need + own + 1), use, 'm', true), ConfigError);
  assert.throws(() => checkMemory(c, wasmHolding(2 ** 32 - need + own), use, 'm', false), ConfigError);
  // the reference backend holds nothing: allocated changes nothing there
  const big = makeConfig({ vocabSize: 10000, embed: 200, hidden: 200 });
  const bigUse = { batch: 2000, bptt: 100, optimizer: 'sgd' as const };
  assert.throws(() => checkMemory(big, ref, bigUse, 'x', true), ConfigError);
  // the message in full: which model, its shape and rows, the size and its three largest parts, the limit, the fixes.
  // N = 200000: logits 4·N·V = 8e9 B; embeddings etc 4·(N·E + 2·N·H + 2·B·H) = 483.2e6 B = 460.8 MiB; caches
  // 4·((N + B)·H + H²) = 161.76e6 B = 154.3 MiB; parameters and gradients 2·4·4090400 B: 8.08 GiB in all
  assert.throws(() => checkMemory(big, ref, bigUse, 'big.safetensors'), (e: Error) => {
    assert.equal(e.message,
      'big.safetensors (1×200 sigmoid, embed 200, vocabulary 10000) with --batch 2000 × --bptt 100 rows needs 8.08 GiB of memory ' +
      '(logits [200000, 10000] 7.45 GiB, embeddings, gradient buffers, dropout masks and carried state 460.8 MiB, layer caches for 200000 rows 154.3 MiB), ' +
      'but the ref kernels have 4.00 GiB left of their 4.00 GiB limit; use a smaller --hidden / --embed / --layers, ' +
      'a smaller vocabulary (--max-vocab), fewer rows (--batch, --bptt), or --classes');
    return e instanceof ConfigError;
  });
  // evaluation (no optimizer): no rows in the message; the default name
  const huge = makeConfig({ vocabSize: 100, embed: 8, hidden: 40000 });
  assert.throws(() => checkMemory(huge, ref), (e: Error) => e instanceof ConfigError && e.message.startsWith('the model (1×40000 sigmoid, embed 8, vocabulary 100) needs '));
});
