// Training-step and single-stream evaluation speed of one model configuration (default: the
// 2×200 LSTM of the quality runs, 100 classes, B=20, T=20), median step of 40 after 3 warm-up
// steps, with the forward / loss / backward / update split. Synthetic token ids.
// Usage: node dist/bench/cell-step.js [CELL=lstm] [THREADS=2] [CLASSES=100] [T=20] [LAYERS=2] [BACKEND=wasm]
// Run alone; prints one JSON line.

import { createNodeKernels as createKernels } from '../src/node/platform.js';
import type { Backend } from '../src/kernels/select.js';
import type { Cell } from '../src/nn/config.js';
import { clipGradNorm } from '../src/train/optimizer.js';
import { evaluateIds } from '../src/infer/evaluate.js';
import { benchModel } from './setup.js';

const [cell = 'lstm', threadsArg = '2', classesArg = '100', tArg = '20', layersArg = '2', backend = 'wasm'] = process.argv.slice(2);
const V = 10000;
const B = 20;
const T = Number(tArg);
const C = Number(classesArg);
const k = await createKernels({ backend: backend as Backend, threads: Number(threadsArg) });
const { model, rng, N, x, y, opt, state } = benchModel(k, { vocabSize: V, embed: 200, hidden: 200, cell: cell as Cell, layers: Number(layersArg), classes: C }, B, T);
const part = { forward: [] as number[], loss: [] as number[], backward: [] as number[], update: [] as number[], step: [] as number[] };
const step = (): void => {
  const t0 = performance.now();
  model.zeroGrad();
  model.forward(x, T, B, state, { train: true });
  const t1 = performance.now();
  model.loss(y, true, 1 / N);
  const t2 = performance.now();
  model.backward();
  const t3 = performance.now();
  clipGradNorm(k, model.grads, 0.25);
  opt.step(k, model.params, model.grads, 1e-3);
  const t4 = performance.now();
  part.forward.push(t1 - t0);
  part.loss.push(t2 - t1);
  part.backward.push(t3 - t2);
  part.update.push(t4 - t3);
  part.step.push(t4 - t0);
};
for (let i = 0; i < 3; i++) step();
for (const p of Object.values(part)) p.length = 0;
for (let i = 0; i < 40; i++) step();
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ids = Int32Array.from({ length: 7000 }, () => rng.int(V));
evaluateIds(model, ids.subarray(0, 500));
const evalSec: number[] = [];
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  evaluateIds(model, ids);
  evalSec.push((performance.now() - t0) / 1000);
}
const ms = (xs: number[]): number => Number(median(xs).toFixed(1));
console.log(JSON.stringify({
  backend: k.name, cell, layers: Number(layersArg), classes: C, T, B,
  step_ms: ms(part.step), train_tokens_per_s: Math.round(N / (median(part.step) / 1000)),
  forward_ms: ms(part.forward), loss_ms: ms(part.loss), backward_ms: ms(part.backward), update_ms: ms(part.update),
  eval_tokens_per_s: Math.round(ids.length / median(evalSec)),
}));
k.dispose();
