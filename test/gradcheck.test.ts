// Every layer's backward pass against central finite differences in float64: embeddings, every
// cell (the Elman activations, LSTM, GRU), stacked layers, BPTT over several steps with a
// carried-in state, and the fused softmax + cross-entropy output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../src/nn/gradcheck.js';
import { CELLS } from '../src/nn/config.js';
import { RefKernels } from '../src/kernels/ref.js';

const TOL = 1e-6;

for (const cell of CELLS) {
  for (const layers of [1, 2]) {
    for (const T of [1, 6]) {
      test(`gradcheck ${cell}, ${layers} layer(s), T=${T}`, () => {
        const r = gradcheck({ cell, layers, T, B: 3, seed: 11 + layers + T });
        assert.equal(r.tensors.length, 3 + 4 * layers);
        for (const t of r.tensors) {
          assert.ok(t.maxGrad > 0, `${t.name}: gradient is all zeros, the check would be empty`);
          assert.ok(t.maxRelError <= TOL, `${t.name}: max relative error ${t.maxRelError.toExponential(3)} > ${TOL}`);
        }
      });
    }
  }
}

test('gradcheck catches a wrong derivative (the check can fail)', () => {
  // The reference kernels with the recurrence's backward (dJ/da through sigmoid') off by 1%: the check must report it.
  const k = new RefKernels();
  const wrong = Object.create(k) as RefKernels;
  wrong.elmanSeqBackward = (dA, Hs, Wh, T, B, H, act) => {
    k.elmanSeqBackward(dA, Hs, Wh, T, B, H, act);
    for (let i = 0; i < T * B * H; i++) dA[i] *= 1.01;
  };
  const r = gradcheck({ cell: 'sigmoid', layers: 1, T: 3, kernels: wrong });
  assert.ok(r.maxRelError > 1e-3, `expected a large error, got ${r.maxRelError}`);
  const dec = r.tensors.find((t) => t.name === 'decoder.weight')!;
  assert.ok(dec.maxRelError <= TOL, 'the output layer does not use the activation derivative and still passes');
});

test('gradcheck reports what it checked: the options in force, every tensor with its size, largest gradient and errors, and the mean loss', () => {
  const opts = { cell: 'gru', layers: 2, T: 3, B: 2, seed: 5, embed: 4, hidden: 5, classes: 3, dropout: 0.2, direct: 13, directOrder: 2 } as const;
  const r = gradcheck(opts);
  const { tensors, loss, maxRelError, ...said } = r;
  assert.deepEqual(said, { cell: 'gru', layers: 2, T: 3, B: 2, dropout: 0.2, tied: false, classes: 3, output: 'classes', direct: 13, foldInput: false });
  const V = 11; // the class and hs default
  assert.deepEqual(tensors.map((t) => [t.name, t.size]), [
    ['encoder.weight', V * 4],
    ['rnn.weight_ih_l0', 15 * 4], ['rnn.weight_hh_l0', 15 * 5], ['rnn.bias_ih_l0', 15], ['rnn.bias_hh_l0', 15],
    ['rnn.weight_ih_l1', 15 * 5], ['rnn.weight_hh_l1', 15 * 5], ['rnn.bias_ih_l1', 15], ['rnn.bias_hh_l1', 15],
    ['decoder.weight', V * 5], ['decoder.bias', V], ['class_decoder.weight', 3 * 5], ['class_decoder.bias', 3],
    ['direct.weight', 13],
  ]);
  for (const t of tensors) {
    assert.ok(t.maxGrad > 0 && t.maxAbsError > 0 && t.maxAbsError < 1e-9 && t.maxRelError <= TOL, `${t.name}: ${JSON.stringify(t)}`);
  }
  assert.equal(maxRelError, Math.max(...tensors.map((t) => t.maxRelError)));
  assert.ok(loss > 0.5 && loss < 3 * Math.log(V), `the mean loss per token: ${loss}`);
  // the seed, the dropout masks and the options reach the model
  assert.equal(gradcheck(opts).loss, loss, 'a seed is a fixed check');
  assert.notEqual(gradcheck({ ...opts, seed: 6 }).loss, loss);
  assert.notEqual(gradcheck({ ...opts, dropout: 0 }).loss, loss, 'dropout masks applied');
  assert.notEqual(gradcheck({ ...opts, directOrder: 3 }).loss, loss, 'the max-ent order applied');
  const tied = gradcheck({ cell: 'tanh', layers: 1, T: 2, tied: true, hidden: 6, embed: 3 });
  assert.equal(tied.tied, true);
  assert.deepEqual(tied.tensors.map((t) => [t.name, t.size]).filter(([n]) => n === 'encoder.weight' || n === 'decoder.weight'), [['encoder.weight', 7 * 6]], 'tied: one matrix, embed = hidden');
  const hs = gradcheck({ cell: 'relu', layers: 1, T: 2, output: 'hs' });
  assert.equal(hs.output, 'hs');
  assert.ok(hs.tensors.some((t) => t.name === 'hs.weight' && t.size === (V - 1) * 5) && hs.maxRelError <= TOL);
});

test('gradcheck catches a wrong max-ent gradient (the table is checked entry by entry)', () => {
  const k = new RefKernels();
  const wrong = Object.create(k) as RefKernels;
  wrong.directGrad = (sg, dZ, ld, keys, O, R, n) => {
    k.directGrad(sg, dZ, ld, keys, O, R, n);
    for (let i = 0; i < sg.g.length; i++) sg.g[i] *= 1.01;
  };
  const r = gradcheck({ cell: 'tanh', layers: 1, T: 3, direct: 17, kernels: wrong });
  const table = r.tensors.find((t) => t.name === 'direct.weight')!;
  // analytic = 1.01 · numeric wherever the table has a gradient: |a - n| / max(|a|, |n|) = 0.01 / 1.01
  assert.ok(Math.abs(table.maxRelError - 0.01 / 1.01) < 1e-5, `expected ${0.01 / 1.01}, got ${table.maxRelError}`);
  assert.ok(Math.abs(table.maxAbsError - (0.01 / 1.01) * table.maxGrad) < 1e-6 * table.maxGrad + 1e-12, 'the largest error is at the largest gradient');
  for (const t of r.tensors) if (t !== table) assert.ok(t.maxRelError <= TOL, `${t.name} does not depend on the table's gradient`);
});
