// The browser's rewrite of the .wasm builds for a page that is not cross-origin isolated
// (src/web/wasm-binary.ts): the memory import is no longer shared, nothing else changes, and the
// kernels run on a memory that is not shared exactly as on a shared one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { unshareMemoryImport } from '../src/web/wasm-binary.js';
import { createWasmKernels } from '../src/kernels/wasm/kernels.js';
import { nodeWasmPlatform } from '../src/node/wasm-platform.js';
import { wasmApi, type WasmModule } from '../src/kernels/wasm/api.js';

const builds = ['rnnlm-simd.wasm', 'rnnlm-relaxed.wasm'];
const bytesOf = (name: string): Uint8Array => readFileSync(new URL(`../wasm/${name}`, import.meta.url));

test('unshareMemoryImport: one flag byte changes; the module then takes a memory that is not shared', async () => {
  for (const name of builds) {
    const shared = bytesOf(name);
    const plain = unshareMemoryImport(shared);
    assert.equal(plain.length, shared.length);
    const changed = [...plain.keys()].filter((i) => plain[i] !== shared[i]);
    assert.equal(changed.length, 1, `${name}: bytes changed at ${changed.join(', ')}`);
    assert.equal(shared[changed[0]], 0x03);
    assert.equal(plain[changed[0]], 0x01);
    assert.deepEqual(unshareMemoryImport(plain), plain, 'idempotent');
    nodeWasmPlatform.relaxedSimdSupported(); // Node 20: switch the relaxed-SIMD flag on before compiling that build
    const module = await wasmApi.compile(plain);
    const memory = new wasmApi.Memory({ initial: 256, maximum: 256 });
    await wasmApi.instantiate(module, { env: { memory } });
    await assert.rejects(wasmApi.instantiate(await wasmApi.compile(shared), { env: { memory } }), /shared/);
  }
  assert.throws(() => unshareMemoryImport(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), /bad magic/);
});

test('the kernels on a memory that is not shared give the same bits as on a shared one', async () => {
  const g = globalThis as { SharedArrayBuffer?: unknown };
  const run = async (shared: boolean): Promise<Float32Array> => {
    const platform = {
      ...nodeWasmPlatform,
      compile: async (relaxed: boolean): Promise<WasmModule> => {
        const bytes = bytesOf(relaxed ? 'rnnlm-relaxed.wasm' : 'rnnlm-simd.wasm');
        return wasmApi.compile(shared ? bytes : unshareMemoryImport(bytes));
      },
    };
    // as in a page without cross-origin isolation: no SharedArrayBuffer while the backend starts
    const saved = g.SharedArrayBuffer;
    if (!shared) delete g.SharedArrayBuffer;
    let k;
    try {
      k = await createWasmKernels(platform, { threads: 1 });
    } finally {
      g.SharedArrayBuffer = saved;
    }
    const M = 37;
    const N = 53;
    const K = 41;
    const A = k.alloc(M * K).map((_, i) => Math.sin(i));
    const B = k.alloc(K * N).map((_, i) => Math.cos(i));
    const C = k.alloc(M * N);
    k.gemm(C, A, B, M, N, K, false, true, 0);
    const z = k.alloc(3 * 7).map((_, i) => i / 5);
    k.softmaxXent(z, Int32Array.from([1, 2, 3]), 3, 7, true, 1 / 3);
    const out = Float32Array.from([...C, ...z]);
    assert.equal(k.name.endsWith('1 thread'), true);
    k.dispose();
    return out;
  };
  assert.deepEqual(await run(false), await run(true));
});
