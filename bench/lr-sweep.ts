// How the default learning rates (src/defaults.ts, LEARNING_RATES) were chosen: a 32-unit model of
// each cell, trained with each optimizer over a grid of rates with every other option at its
// default (B 20, T 35, clip 0.25, plateau schedule), on a PTB slice (the first 3,000 lines of
// train.txt, validated on valid.txt) and on the built-in corpus. Prints one JSON line per run:
// the best validation perplexity, or the step at which the run diverged.
// Usage: node dist/bench/lr-sweep.js [ptb|builtin] [EPOCHS] [CELLS] [OPTIMIZERS] [RATES]
//   e.g. node dist/bench/lr-sweep.js ptb 6 tanh,relu sgd 2,5,10 (RATES: default, the grid below)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeKernels } from '../src/node/platform.js';
import { builtinText } from '../src/data/builtin/index.js';
import { Vocab } from '../src/data/vocab.js';
import { makeConfig, CELLS, type Cell } from '../src/nn/config.js';
import { RnnLM } from '../src/nn/model.js';
import { Rng } from '../src/rng.js';
import { DivergenceError } from '../src/errors.js';
import { train, DEFAULT_TRAIN } from '../src/train/trainer.js';
import type { OptimizerName } from '../src/train/optimizer.js';

const GRID: Record<OptimizerName, number[]> = {
  sgd: [0.5, 1, 2, 5, 10, 20],
  adam: [0.0005, 0.001, 0.002, 0.005, 0.01],
  adagrad: [0.01, 0.03, 0.1, 0.3, 1],
};

async function main(): Promise<void> {
  const [corpus = 'ptb', epochsArg = '6', cellsArg = CELLS.join(','), optsArg = 'sgd,adam,adagrad', ratesArg] = process.argv.slice(2);
  const data = process.env.RNNLM_DATA ?? join(process.cwd(), '..', 'shared', 'data');
  const trainText = corpus === 'ptb'
    ? readFileSync(join(data, 'ptb', 'train.txt'), 'utf8').split('\n').slice(0, 3000).join('\n') + '\n'
    : builtinText('train');
  const validText = corpus === 'ptb' ? readFileSync(join(data, 'ptb', 'valid.txt'), 'utf8') : builtinText('valid');
  const vocab = Vocab.build(trainText, 'word');
  const ids = vocab.encode(trainText).ids;
  const valid = vocab.encode(validText).ids;
  const k = await createNodeKernels({ backend: 'wasm', threads: 1 });
  for (const optimizer of optsArg.split(',') as OptimizerName[]) {
    for (const cell of cellsArg.split(',') as Cell[]) {
      for (const lr of ratesArg ? ratesArg.split(',').map(Number) : GRID[optimizer]) {
        const m = new RnnLM(makeConfig({ vocabSize: vocab.size, embed: 32, hidden: 32, cell }), k);
        m.init(new Rng(1));
        const t0 = performance.now();
        let out: Record<string, unknown>;
        try {
          const r = await train(m, ids, valid, { ...DEFAULT_TRAIN, epochs: Number(epochsArg), lr, optimizer });
          out = { best: Number(r.bestValidPerplexity?.toFixed(2)), last: Number(r.validPerplexity?.toFixed(2)) };
        } catch (e) {
          if (!(e instanceof DivergenceError)) throw e;
          out = { diverged: e.step };
        }
        console.log(JSON.stringify({ corpus, cell, optimizer, lr, epochs: Number(epochsArg), ...out, seconds: Math.round((performance.now() - t0) / 1000) }));
      }
    }
  }
  k.dispose();
}

await main();
