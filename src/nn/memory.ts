// The memory a model needs, counted before anything is allocated, so that a model too large for
// the kernels' memory is refused up front with its size and the limit (instead of failing in the
// allocator halfway through: the wasm backend's WasmOutOfMemoryError stays the last line of
// defence, and the reference backend would die with "Invalid typed array length").
// Counted in float32 values: parameters, gradients, optimizer state, and the workspace of a
// forward + backward over N = B·T rows (layer caches, embeddings, dropout masks, the logits
// [N, V], the gradient ping-pong pair, the class softmax's buffers) and the carried state.
// Legend: B batch, T steps, N = B·T rows, L layers, Emb embed, H hidden, V vocab, C classes.

import { ConfigError } from '../errors.js';
import { LIMITS } from '../defaults.js';
import type { Kernels } from '../kernels/kernels.js';
import { WasmKernels } from '../kernels/wasm/kernels.js';
import type { OptimizerName } from '../train/optimizer.js';
import { Layout } from './arena.js';
import type { ModelConfig } from './config.js';
import { makeLayer, modelSpecs, stateWidth } from './model.js';

/** How the model is used: training (B streams of T steps, an optimizer) or evaluation (one stream, `chunk` steps). */
export interface MemoryUse {
  batch: number;
  bptt: number;
  /** Absent: no optimizer state (evaluation). */
  optimizer?: OptimizerName;
}

/** Evaluation and generation: one stream, chunks of 256 steps (infer/evaluate.ts). */
export const EVAL_USE: MemoryUse = Object.freeze({ batch: 1, bptt: 256 });

export interface MemoryNeed {
  /** Bytes in all. */
  bytes: number;
  /** The parts, largest first: [what, bytes]. */
  parts: Array<[string, number]>;
}

const OPTIMIZER_BUFFERS: Record<OptimizerName, number> = { sgd: 0, adagrad: 1, adam: 2 };

/** The bytes `config` needs for `use` (float32 values; ids and float64 scratch are small beside them). */
export function memoryNeed(config: ModelConfig, use: MemoryUse = EVAL_USE): MemoryNeed {
  const { embed: Emb, hidden: H, vocabSize: V, layers: L, classes: C } = config;
  const B = use.batch;
  const N = use.batch * use.bptt;
  const P = new Layout(modelSpecs(config)).size;
  let caches = 0;
  for (let l = 0; l < L; l++) {
    // Count what the layer's cache allocates, without allocating it.
    makeLayer(config.cell, l, l === 0 ? Emb : H, H).newCache((n) => {
      caches += n;
      return new Float32Array(0);
    }, N, B);
  }
  const dropout = config.dropout > 0 ? 2 * N * (Emb + L * H) : 0;
  // A class softmax keeps Zc [N, C], Hp and dHp [N, H], the within-class logits (at most N rows
  // of the largest class, counted as V) and one class's gathered decoder rows.
  const classes = C > 0 ? N * C + 2 * N * H + N * V + V * H + V : 0;
  const floats: Array<[string, number]> = [
    ['parameters', P],
    ['gradients', P],
    [`optimizer state (${use.optimizer ?? 'none'})`, OPTIMIZER_BUFFERS[use.optimizer ?? 'sgd'] * P],
    [`logits [${N}, ${V}]`, N * V],
    [`layer caches for ${N} rows`, caches],
    ['embeddings, gradient buffers, dropout masks and carried state', N * Emb + 2 * N * Math.max(Emb, H) + dropout + 2 * L * B * stateWidth(config)],
    ['class softmax buffers', classes],
  ];
  const parts = floats.filter(([, n]) => n > 0).map(([what, n]): [string, number] => [what, 4 * n]).sort((a, b) => b[1] - a[1]);
  return { bytes: parts.reduce((s, [, b]) => s + b, 0), parts };
}

/** Bytes as "1.50 GiB" / "12.0 MiB". */
export function formatBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(2)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  return `${(b / 1024).toFixed(1)} KiB`;
}

/**
 * Bytes the kernels can still hand out: the wasm memory's 4 GiB less what it already holds; the
 * reference backend is held to the same 4 GiB (a typed array, and the time to fill it, stop
 * being practical well before that).
 */
export function memoryLeft(kernels: Kernels): number {
  return LIMITS.memoryBytes - (kernels instanceof WasmKernels ? kernels.heapBytes : 0);
}

/**
 * Throw a ConfigError naming the size, its largest parts and the limit when `config` used as
 * `use` does not fit in what `kernels` have left. `what` says which model (e.g. a file name);
 * `allocated`: its parameters and gradients already exist (the trainer checks the rest).
 */
export function checkMemory(config: ModelConfig, kernels: Kernels, use: MemoryUse = EVAL_USE, what = 'the model', allocated = false): void {
  const need = memoryNeed(config, use);
  const left = memoryLeft(kernels);
  // A model already allocated in the wasm memory is counted in what is used there.
  const own = allocated && kernels instanceof WasmKernels ? need.parts.filter(([p]) => p === 'parameters' || p === 'gradients').reduce((s, [, b]) => s + b, 0) : 0;
  if (need.bytes - own <= left) return;
  const parts = need.parts.slice(0, 3).map(([p, b]) => `${p} ${formatBytes(b)}`).join(', ');
  const shape = `${config.layers}×${config.hidden} ${config.cell}, embed ${config.embed}, vocabulary ${config.vocabSize}`;
  const rows = use.optimizer ? ` with --batch ${use.batch} × --bptt ${use.bptt} rows` : '';
  throw new ConfigError(
    `${what} (${shape})${rows} needs ${formatBytes(need.bytes)} of memory (${parts}), but the ${kernels.name} kernels have ` +
    `${formatBytes(left)} left of their ${formatBytes(LIMITS.memoryBytes)} limit; use a smaller --hidden / --embed / --layers, ` +
    `a smaller vocabulary (--max-vocab), fewer rows (--batch, --bptt), or --classes`,
  );
}
