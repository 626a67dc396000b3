// One model measurement shared by the web benchmark's two sides — the browser Worker
// (bench/browser/bench-worker.ts) and the Node child (bench/web/node-model.ts) — so both time
// the same code: training tokens/s (median step of B×T tokens: forward, loss, backward, clip,
// SGD, as the trainer does) and exact single-stream evaluation tokens/s, on synthetic ids
// (bench/setup.ts). Platform-neutral.

import type { Kernels } from '../../src/kernels/kernels.js';
import { evaluateIds } from '../../src/infer/evaluate.js';
import { clipGradNorm } from '../../src/train/optimizer.js';
import { benchModel } from '../setup.js';

/** The benchmark model: the notes' sigmoid network at PTB scale. */
export const WEB_BENCH = { V: 10000, E: 200, H: 200, B: 20, T: 35, cell: 'sigmoid' } as const;

export interface ModelMeasure {
  backend: string;
  classes: number;
  train_tokens_per_s: number;
  step_ms_median: number;
  eval_tokens_per_s: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function measureModel(k: Kernels, classes: number, steps: number, evalTokens: number): ModelMeasure {
  const { V, E, H, B, T, cell } = WEB_BENCH;
  const { model, rng, N, x, y, opt, state } = benchModel(k, { vocabSize: V, embed: E, hidden: H, cell, classes }, B, T);
  const step = (): void => {
    model.zeroGrad();
    model.forward(x, T, B, state, { train: true, rng }); // as the trainer: a class model skips the full log-probabilities
    model.loss(y, true, 1 / N);
    model.backward();
    clipGradNorm(k, model.grads, 0.25);
    opt.step(k, model.params, model.grads, 1e-3);
  };
  step(); // warm-up: compiles the hot paths, grows the memory
  const ms: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    ms.push(performance.now() - t0);
  }
  const ids = Int32Array.from({ length: evalTokens }, () => rng.int(V));
  evaluateIds(model, ids.subarray(0, Math.min(512, evalTokens)));
  const e0 = performance.now();
  evaluateIds(model, ids);
  const evalSec = (performance.now() - e0) / 1000;
  const stepMs = median(ms);
  return { backend: k.name, classes, train_tokens_per_s: N / (stepMs / 1000), step_ms_median: stepMs, eval_tokens_per_s: evalTokens / evalSec };
}
