// Training-step speed on real PTB text with Mikolov's frequency classes (the class sizes and the
// target distribution matter: a few one-word classes take most tokens, the last classes hold
// thousands of rare words). Median of STEPS steps after warm-up, with the phase split.
// Usage: node dist/bench/ptb-step.js [THREADS=1] [CLASSES=100] [DROPOUT=0.25] [OPT=adam] [STEPS=60]
// Run alone; prints one JSON line.

import { readFileSync } from 'node:fs';
import { Vocab } from '../src/data/vocab.js';
import { batchify, segment, segmentCount } from '../src/data/batches.js';
import { createNodeKernels } from '../src/node/platform.js';
import { assignClasses, unigramCounts } from '../src/data/classes.js';
import { makeConfig } from '../src/nn/config.js';
import { RnnLM } from '../src/nn/model.js';
import { Rng } from '../src/rng.js';
import { Optimizer, clipGradNorm, type OptimizerName } from '../src/train/optimizer.js';

const [threadsArg = '1', classesArg = '100', dropArg = '0.25', optArg = 'adam', stepsArg = '60', hiddenArg = '200', trainPath = '/work/shared/data/ptb/train.txt'] = process.argv.slice(2);
const text = readFileSync(trainPath, 'utf8');
const vocab = Vocab.build(text, 'word');
const ids = vocab.encode(text).ids;
const C = Number(classesArg);
const H = Number(hiddenArg);
const k = await createNodeKernels({ backend: 'wasm', threads: Number(threadsArg) });
const config = makeConfig({ vocabSize: vocab.size, embed: H, hidden: H, classes: C, dropout: Number(dropArg) });
const model = new RnnLM(config, k, { wordClasses: C ? assignClasses(unigramCounts(ids, vocab.size), C) : undefined });
model.init(new Rng(1));
const B = 20;
const T = 35;
const data = batchify(ids, B);
const segs = segmentCount(data, T);
const opt = new Optimizer(optArg as OptimizerName, (n) => model.alloc(n), model.params.length);
const state = model.newState(B);
const rng = new Rng(3);
const part = { forward: [] as number[], loss: [] as number[], backward: [] as number[], update: [] as number[], step: [] as number[] };
let s = 0;
const step = (): void => {
  const { x, y, len } = segment(data, T, s++ % segs);
  const N = len * B;
  const t0 = performance.now();
  model.zeroGrad();
  model.forward(x, len, B, state, { train: true, rng });
  const t1 = performance.now();
  model.loss(y, true, 1 / N);
  const t2 = performance.now();
  model.backward();
  const t3 = performance.now();
  clipGradNorm(k, model.grads, 1);
  opt.step(k, model.params, model.grads, 1e-3);
  const t4 = performance.now();
  part.forward.push(t1 - t0);
  part.loss.push(t2 - t1);
  part.backward.push(t3 - t2);
  part.update.push(t4 - t3);
  part.step.push(t4 - t0);
};
for (let i = 0; i < 10; i++) step();
for (const p of Object.values(part)) p.length = 0;
const steps = Number(stepsArg);
for (let i = 0; i < steps; i++) step();
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ms = (xs: number[]): number => Number(median(xs).toFixed(2));
console.log(JSON.stringify({
  backend: k.name, classes: C, dropout: Number(dropArg), optimizer: optArg,
  step_ms: ms(part.step), train_tokens_per_s: Math.round((B * T) / (median(part.step) / 1000)),
  forward_ms: ms(part.forward), loss_ms: ms(part.loss), backward_ms: ms(part.backward), update_ms: ms(part.update),
}));
k.dispose();
