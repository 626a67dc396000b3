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
