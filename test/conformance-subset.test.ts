// The browser's conformance subset (test/conformance-subset.ts) on Node's wasm backend: it must
// pass wherever the full suite does, and it must catch a kernel that is slightly wrong.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import { RefKernels } from '../src/kernels/ref.js';
import { createWasmKernels } from '../src/kernels/wasm/kernels.js';
import { nodeWasmPlatform } from '../src/node/wasm-platform.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { CASES, runConformanceSubset } from './conformance-subset.js';

const loaded: Kernels[] = [];
after(() => {
  for (const k of loaded) k.dispose();
});

for (const relaxed of [false, true]) {
  test(`conformance subset passes on Node's wasm ${relaxed ? 'simd+relaxed (fma)' : 'simd'}, 2 threads`, async (t) => {
    let k: Kernels;
    try {
      k = await createWasmKernels(nodeWasmPlatform, { threads: 2, relaxed });
    } catch (err) {
      t.skip(`the wasm backend cannot load: ${(err as Error).message}`);
      return;
    }
    loaded.push(k);
    const results = runConformanceSubset(k);
    assert.equal(results.length, Object.keys(CASES).length);
    for (const r of results) {
      assert.equal(r.failure, null, `${r.name}: ${r.failure}`);
      assert.ok(r.checks > 100, `${r.name}: only ${r.checks} checks`);
    }
  });
}

test('conformance subset catches a GEMM off by 1e-4 and a wrong LSTM derivative', () => {
  const good = new RefKernels();
  const bad = Object.create(good) as RefKernels;
  bad.gemm = (C, A, B, M, N, K, ta, tb, beta) => {
    good.gemm(C, A, B, M, N, K, ta, tb, beta);
    for (let i = 0; i < M * N; i++) C[i] *= 1 + 1e-4;
  };
  bad.lstmBackward = (dG, G, cPrev, tc, dh, dc, B, H) => {
    good.lstmBackward(dG, G, cPrev, tc, dh, dc, B, H);
    dG[0] *= 1.001;
  };
  const results = runConformanceSubset(bad);
  const failed = results.filter((r) => r.failure !== null).map((r) => r.name);
  assert.deepEqual(failed, [Object.keys(CASES)[0], 'lstmForward / lstmBackward']);
  assert.match(results[0].failure!, /largest violation/);
});
