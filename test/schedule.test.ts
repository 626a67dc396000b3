// The learning-rate schedules and the time budget, checked against values worked out by hand
// and against a fake clock (so the budget's arithmetic is tested, not the machine's speed); and
// through train(): which rate each epoch runs at, early stopping (--patience), and what is
// validated and saved when the budget stops a run mid-epoch.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../src/errors.js';
import { RefKernels } from '../src/kernels/ref.js';
import { builtinText } from '../src/data/builtin/index.js';
import { newModelForText } from '../src/tasks/prepare.js';
import { budgetRate, nextEpochRate } from '../src/train/schedule.js';
import { train, trainOptions, validateTrainOptions, DEFAULT_TRAIN, type StepInfo, type TrainOptions } from '../src/train/trainer.js';
import { makeConfig } from '../src/nn/config.js';
import { RnnLM } from '../src/nn/model.js';
import { Rng } from '../src/rng.js';
import { builtinSlice } from './fixtures.js';

test('plateau divides the rate only after an epoch without improvement; fixed from decay-start on; budget keeps it', () => {
  const o = { lrDecay: 4, decayStart: 2 };
  assert.equal(nextEpochRate({ ...o, schedule: 'plateau' }, 1, 20, true), 20);
  assert.equal(nextEpochRate({ ...o, schedule: 'plateau' }, 1, 20, false), 5);
  assert.equal(nextEpochRate({ ...o, schedule: 'fixed' }, 1, 20, false), 20);
  assert.equal(nextEpochRate({ ...o, schedule: 'fixed' }, 2, 20, true), 5);
  assert.equal(nextEpochRate({ ...o, schedule: 'budget' }, 3, 20, false), 20);
});

test('budget schedule: held for the hold share, then linear to 1% of the rate at the end', () => {
  const o = { lr: 2, hold: 0.25 };
  assert.equal(budgetRate(o, 0), 2);
  assert.equal(budgetRate(o, 0.25), 2);
  assert.ok(Math.abs(budgetRate(o, 0.625) - 1) < 1e-12); // halfway down the linear part: (1 - 0.625) / 0.75 = 0.5
  assert.ok(Math.abs(budgetRate(o, 0.9925) - 0.02) < 1e-12); // (1 - 0.9925) / 0.75 = 0.01
  assert.equal(budgetRate(o, 1), 0.02);
  assert.equal(budgetRate(o, 7), 0.02);
  assert.equal(budgetRate({ lr: 1, hold: 0 }, 0.5), 0.5);
});

test('the budget schedule needs a time budget, and hold is a share below 1', () => {
  assert.throws(() => validateTrainOptions(trainOptions({ schedule: 'budget' })), ConfigError);
  assert.throws(() => validateTrainOptions(trainOptions({ schedule: 'budget', timeBudget: 60, hold: 1 })), ConfigError);
  assert.doesNotThrow(() => validateTrainOptions(trainOptions({ schedule: 'budget', timeBudget: 60 })));
});

test('with a time budget the rate falls with the time spent, and the last validation ends inside the budget', async () => {
  const k = new RefKernels();
  const text = builtinText('train').split('\n').slice(0, 400).join('\n');
  const { model, vocab, trainIds } = newModelForText(text, { embed: 8, hidden: 8, seed: 3 }, k);
  const validIds = vocab.encode(builtinText('valid').split('\n').slice(0, 40).join('\n')).ids;
  let ms = 0;
  const clock = (): number => (ms += 7); // every look at the clock costs 7 ms
  const steps: StepInfo[] = [];
  const budget = 3;
  const r = await train(model, trainIds, validIds, trainOptions({ batch: 4, bptt: 5, epochs: 1000, lr: 1, schedule: 'budget', hold: 0.2, timeBudget: budget }), {
    clock, onStep: (s) => steps.push(s), yieldToEventLoop: async () => {},
  });
  assert.ok(r.budgetSpent, 'the run ended on its budget');
  assert.ok(r.seconds <= budget, `the run, last validation included, took ${r.seconds} s of a ${budget} s budget`);
  assert.ok(steps.length > 20, `${steps.length} steps`);
  assert.equal(steps[0].lr, 1);
  for (let i = 1; i < steps.length; i++) assert.ok(steps[i].lr <= steps[i - 1].lr, `the rate rose at step ${i + 1}`);
  const last = steps[steps.length - 1].lr;
  assert.ok(last < 0.1, `the rate ends near zero (${last})`);
  assert.ok(r.history.length >= 1 && r.history[r.history.length - 1].validPerplexity !== null, 'the last, partial epoch was validated');
});

// ---- through train() ------------------------------------------------------------------------

const ref = new RefKernels();
const data = builtinSlice(100, 300);

function tiny(): RnnLM {
  const m = new RnnLM(makeConfig({ vocabSize: data.vocab.size, embed: 4, hidden: 4 }), ref);
  m.init(new Rng(2));
  return m;
}

const opts = (o: Partial<TrainOptions>): TrainOptions => ({ ...DEFAULT_TRAIN, batch: 4, bptt: 10, epochs: 4, lr: 1, ...o });

test('fixed schedule through train(): epochs run at lr, lr, lr/2, lr/4 (decay-start 2)', async () => {
  const r = await train(tiny(), data.ids, data.valid, opts({ schedule: 'fixed', decayStart: 2, lrDecay: 2, lr: 0.8 }));
  assert.deepEqual(r.history.map((e) => e.lr), [0.8, 0.8, 0.4, 0.2]);
});

test('plateau and --patience: a run that stops improving decays its rate each time and stops after `patience` epochs', async () => {
  // At lr 1e-30 no weight moves (each update is below float32's resolution), so validation never
  // improves after the first epoch: the rate is divided after each, and patience 2 stops the run
  // after epoch 3 of 6.
  const saved: number[] = [];
  const r = await train(tiny(), data.ids, data.valid, opts({ lr: 1e-30, lrDecay: 4, patience: 2, epochs: 6 }), {
    saveBest: () => void saved.push(saved.length),
  });
  assert.equal(r.stoppedEarly, true);
  assert.equal(r.epochs, 3);
  assert.deepEqual(r.history.map((e) => e.lr), [1e-30, 1e-30, 1e-30 / 4]);
  assert.equal(saved.length, 1, 'only the first epoch was an improvement');
  assert.equal(r.history[1].validPerplexity, r.history[0].validPerplexity);
  // without patience the same run goes on to the end
  const all = await train(tiny(), data.ids, data.valid, opts({ lr: 1e-30, epochs: 4 }));
  assert.equal(all.stoppedEarly, false);
  assert.equal(all.epochs, 4);
});

test('time budget: the run stops mid-epoch once it is spent; that epoch is validated, saved and recorded', async () => {
  const busy = (ms: number): void => {
    const end = performance.now() + ms;
    while (performance.now() < end) { /* a slow step */ }
  };
  let steps = 0;
  let best = 0;
  let states = 0;
  const r = await train(tiny(), data.ids, data.valid, opts({ timeBudget: 1, epochs: 3 }), {
    onStep: () => {
      steps++;
      busy(60);
    },
    saveBest: () => void best++,
    saveState: () => void states++,
  });
  const segments = Math.ceil((Math.floor(data.ids.length / 4) - 1) / 10);
  assert.equal(r.budgetSpent, true);
  assert.equal(r.epochs, 1, 'one (partial) epoch recorded');
  assert.ok(steps >= 3 && steps < segments, `${steps} steps of ${segments}: stopped inside epoch 1`);
  assert.ok(r.history[0].validPerplexity !== null, 'the partial epoch is validated');
  assert.equal(best, 1);
  assert.equal(states, 1);
});
