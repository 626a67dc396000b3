// Training-step speed on real PTB text (class-factored models with Mikolov's frequency classes:
// the class sizes and the target distribution matter, a few one-word classes take most tokens,
// the last classes hold thousands of rare words; hierarchical softmax over Huffman's tree).
// Median of --steps steps after 10 warm-up steps, with the phase split, and the process's CPU
// time per step (on a shared machine, 1-thread CPU time is steadier than wall time).
// Usage: node dist/bench/ptb-step.js [--threads 1] [--output classes|hs|softmax] [--classes 100]
//   [--dropout 0.25] [--optimizer adam] [--steps 60] [--hidden 200] [--batch 20] [--bptt 35]
//   [--fold] [--direct ENTRIES] [--lr 0.001] [--train PATH] [--backend wasm|openblas]
//   [--zipf V]: instead of a text, 10^6 seeded tokens from a Zipf law over V words (the class
//   sizes and path lengths of a large vocabulary, e.g. WikiText-2's 33,278, without the corpus)
// Run alone; prints one JSON line.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { assignClasses, unigramCounts } from '../src/data/classes.js';
import { batchify, segment, segmentCount } from '../src/data/batches.js';
import { Vocab } from '../src/data/vocab.js';
import type { Backend } from '../src/kernels/select.js';
import { makeConfig, type Output } from '../src/nn/config.js';
import { buildHuffmanTree } from '../src/nn/hsoftmax.js';
import { RnnLM } from '../src/nn/model.js';
import { createNodeKernels } from '../src/node/platform.js';
import { Rng } from '../src/rng.js';
import { Optimizer, clipGradNorms, type OptimizerName } from '../src/train/optimizer.js';

const { values: a } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' }, output: { type: 'string', default: 'classes' }, classes: { type: 'string', default: '100' },
    dropout: { type: 'string', default: '0.25' }, optimizer: { type: 'string', default: 'adam' }, steps: { type: 'string', default: '60' },
    hidden: { type: 'string', default: '200' }, batch: { type: 'string', default: '20' }, bptt: { type: 'string', default: '35' },
    fold: { type: 'boolean', default: false }, direct: { type: 'string', default: '0' }, lr: { type: 'string', default: '0.001' },
    train: { type: 'string', default: '../shared/data/ptb/train.txt' }, backend: { type: 'string', default: 'wasm' },
    zipf: { type: 'string', default: '0' },
  },
});

/** n tokens from P(w) ∝ 1/(w+1) over V words (seeded). */
function zipfIds(V: number, n: number): Int32Array {
  const cdf = new Float64Array(V);
  let s = 0;
  for (let w = 0; w < V; w++) cdf[w] = s += 1 / (w + 1);
  const rng = new Rng(7);
  return Int32Array.from({ length: n }, () => {
    const u = rng.next() * s;
    let lo = 0;
    let hi = V - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
}

const zipfV = Number(a.zipf);
const text = zipfV ? '' : readFileSync(a.train!, 'utf8');
const vocab = zipfV ? { size: zipfV } : Vocab.build(text, 'word');
const ids = zipfV ? zipfIds(zipfV, 1_000_000) : (vocab as Vocab).encode(text).ids;
const output = a.output as Output;
const C = output === 'classes' ? Number(a.classes) : 0;
const H = Number(a.hidden);
const k = await createNodeKernels({ backend: a.backend as Backend, threads: Number(a.threads) });
const config = makeConfig({
  vocabSize: vocab.size, embed: H, hidden: H, output, classes: C, dropout: Number(a.dropout), foldInput: a.fold, direct: Number(a.direct),
});
const counts = unigramCounts(ids, vocab.size);
const model = new RnnLM(config, k, { wordClasses: C ? assignClasses(counts, C) : undefined, hsTree: output === 'hs' ? buildHuffmanTree(counts) : undefined });
model.init(new Rng(1));
const B = Number(a.batch);
const T = Number(a.bptt);
const data = batchify(ids, B);
const segs = segmentCount(data, T);
const opt = new Optimizer(a.optimizer as OptimizerName, (n) => model.alloc(n), model.params.length);
if (model.direct) opt.attachSparse((n) => model.alloc(n), model.direct.size);
const state = model.newState(B);
const rng = new Rng(3);
const lr = Number(a.lr);
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
  const regions = model.gradRegions();
  const sgd = opt.name === 'sgd';
  const { gs } = clipGradNorms(k, model.grads, model.direct?.grad ?? null, 1, regions, sgd);
  opt.step(k, model.params, model.grads, sgd ? lr * gs : lr, model.direct ? { table: model.direct.weight, grad: model.direct.grad, gs: sgd ? 1 : gs } : undefined, regions);
  const t4 = performance.now();
  part.forward.push(t1 - t0);
  part.loss.push(t2 - t1);
  part.backward.push(t3 - t2);
  part.update.push(t4 - t3);
  part.step.push(t4 - t0);
};
for (let i = 0; i < 10; i++) step();
for (const p of Object.values(part)) p.length = 0;
const steps = Number(a.steps);
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
for (let i = 0; i < steps; i++) step();
const cpu = process.cpuUsage(cpu0);
const wall = performance.now() - wall0;
const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[xs.length >> 1];
const ms = (xs: number[]): number => Number(median(xs).toFixed(2));
const cpuMs = (cpu.user + cpu.system) / 1000 / steps;
console.log(JSON.stringify({
  backend: k.name, vocab: vocab.size, output, classes: C, fold: a.fold, dropout: Number(a.dropout), optimizer: a.optimizer, B, T, direct: Number(a.direct),
  step_ms: ms(part.step), train_tokens_per_s: Math.round((B * T) / (median(part.step) / 1000)),
  mean_tokens_per_s: Math.round((B * T * steps) / (wall / 1000)),
  cpu_ms_per_step: Number(cpuMs.toFixed(2)), cpu_tokens_per_s: Math.round((B * T) / (cpuMs / 1000)),
  forward_ms: ms(part.forward), loss_ms: ms(part.loss), backward_ms: ms(part.backward), update_ms: ms(part.update),
}));
k.dispose();
