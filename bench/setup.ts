// What the model benchmarks share: a seeded model on synthetic token ids (speed does not depend
// on the text), one B×T segment of inputs and targets, an SGD optimizer and the carried state.

import type { Kernels } from '../src/kernels/kernels.js';
import { makeConfig, type ModelConfig } from '../src/nn/config.js';
import { RnnLM } from '../src/nn/model.js';
import { Rng } from '../src/rng.js';
import { Optimizer } from '../src/train/optimizer.js';

export function benchModel(k: Kernels, c: Partial<ModelConfig> & { vocabSize: number }, B: number, T: number) {
  const V = c.vocabSize;
  const C = c.classes ?? 0;
  // a class-factored output needs each word's class; equal-size bins are enough for timing
  const wordClasses = C ? Int32Array.from({ length: V }, (_, i) => Math.floor((i * C) / V)) : undefined;
  const model = new RnnLM(makeConfig(c), k, { wordClasses });
  model.init(new Rng(1));
  const rng = new Rng(2);
  const N = B * T;
  return {
    model, rng, N,
    x: Int32Array.from({ length: N }, () => rng.int(V)),
    y: Int32Array.from({ length: N }, () => rng.int(V)),
    opt: new Optimizer('sgd', (n) => model.alloc(n), model.params.length),
    state: model.newState(B),
  };
}
