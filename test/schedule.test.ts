// The learning-rate schedules and the time budget, checked against values worked out by hand
// and against a fake clock (so the budget's arithmetic is tested, not the machine's speed).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../src/errors.js';
import { RefKernels } from '../src/kernels/ref.js';
import { builtinText } from '../src/data/builtin/index.js';
import { newModelForText } from '../src/tasks/prepare.js';
import { budgetRate, nextEpochRate } from '../src/train/schedule.js';
import { train, trainOptions, validateTrainOptions, type StepInfo } from '../src/train/trainer.js';

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
