// One benchmark measurement in its own process (so peak RSS is this configuration's alone):
// training tokens/s (truncated BPTT steps, B×T per step, full softmax, SGD + clipping) and exact
// single-stream evaluation tokens/s, on synthetic token ids (speed does not depend on the text).
// Prints one JSON line. Usage: node dist/bench/model-bench.js BACKEND CELL THREADS TRAIN_STEPS EVAL_TOKENS

import { createNodeKernels as createKernels } from '../src/node/platform.js';
import type { Backend } from '../src/kernels/select.js';
import type { Cell } from '../src/nn/config.js';
import { clipGradNorm } from '../src/train/optimizer.js';
import { evaluateIds } from '../src/infer/evaluate.js';
import { benchModel } from './setup.js';

export const BENCH_CONFIG = { V: 10000, E: 200, H: 200, B: 20, T: 35 } as const;

async function main(): Promise<void> {
  const [backend = 'wasm', cell = 'tanh', threadsArg = '0', stepsArg = '20', evalArg = '20000'] = process.argv.slice(2);
  const { V, E, H, B, T } = BENCH_CONFIG;
  const threads = Number(threadsArg) || undefined;
  const k = await createKernels({ backend: backend as Backend, threads });
  const { model, rng, N, x, y, opt, state } = benchModel(k, { vocabSize: V, embed: E, hidden: H, cell: cell as Cell }, B, T);
  const step = (): void => {
    model.zeroGrad();
    model.forward(x, T, B, state);
    model.loss(y, true, 1 / N);
    model.backward();
    clipGradNorm(k, model.grads, 0.25);
    opt.step(k, model.params, model.grads, 1e-3);
  };
  const steps = Number(stepsArg);
  step(); // warm-up: compiles the hot paths
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    stepMs.push(performance.now() - t0);
  }
  stepMs.sort((a, b) => a - b);
  const medianStep = stepMs[Math.floor(stepMs.length / 2)];
  const evalTokens = Number(evalArg);
  const ids = Int32Array.from({ length: evalTokens }, () => rng.int(V));
  evaluateIds(model, ids.subarray(0, Math.min(512, evalTokens)));
  const e0 = performance.now();
  evaluateIds(model, ids);
  const evalSec = (performance.now() - e0) / 1000;
  process.stdout.write(`${JSON.stringify({
    backend: k.name, cell, train_tokens_per_s: N / (medianStep / 1000), step_ms_median: medianStep, steps,
    eval_tokens_per_s: evalTokens / evalSec, eval_tokens: evalTokens, max_rss_mb: process.resourceUsage().maxRSS / 1024,
  })}\n`);
  (k as { dispose?: () => void }).dispose?.();
}

await main();
