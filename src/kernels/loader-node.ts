// Node-specific half of the wasm backend: find and compile the .wasm files that `npm run asbuild`
// writes to dist/wasm/, turn on V8's relaxed-SIMD flag, and start worker_threads. Everything
// else (src/kernels/wasm.ts, wasm-ops.ts) is platform-free; a browser loader would implement the
// same WasmPlatform with fetch() and Web Workers.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';

import type { WasmPlatform, WorkerHandle } from './wasm.js';
import { wasmApi, type WasmModule, type WorkerInit } from './wasm-ops.js';

/** dist/wasm/ relative to this file once compiled (dist/src/kernels/loader-node.js). */
const WASM_DIR = new URL('../../wasm/', import.meta.url);

/** The smallest module that uses a relaxed-SIMD instruction: () -> v128 = f32x4.relaxed_madd(0, 0, 0). */
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x3d, 0x01, 0x3b, 0x00, // code section: one body of 0x3b bytes, no locals
  0xfd, 0x0c, ...new Array<number>(16).fill(0), // v128.const 0
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd (0xfd 0x105)
  0x0b, // end
]);

/** The smallest module that uses SIMD: () -> v128 = v128.const 0. */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x16, 0x01, 0x14, 0x00,
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0x0b,
]);

let relaxedFlagTried = false;

/**
 * Whether this runtime validates relaxed-SIMD modules. On Node 20 the feature is behind
 * --experimental-wasm-relaxed-simd, which NODE_OPTIONS refuses but V8 accepts from inside the
 * process before the first relaxed module is compiled; later Node versions have it on.
 */
export function relaxedSimdSupported(): boolean {
  if (wasmApi.validate(RELAXED_PROBE)) return true;
  if (!relaxedFlagTried) {
    relaxedFlagTried = true;
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      return false;
    }
  }
  return wasmApi.validate(RELAXED_PROBE);
}

/** Whether this runtime validates fixed-width SIMD modules. */
export function simdSupported(): boolean {
  return wasmApi.validate(SIMD_PROBE);
}

/** Compile dist/wasm/rnnlm-{relaxed,simd}.wasm; throws with the fix when it is not built. */
async function compile(relaxed: boolean): Promise<WasmModule> {
  const url = new URL(relaxed ? 'rnnlm-relaxed.wasm' : 'rnnlm-simd.wasm', WASM_DIR);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(url);
  } catch (err) {
    throw new Error(
      `wasm kernels: cannot read ${fileURLToPath(url)} (${(err as Error).message}); build it with \`npm run asbuild\``,
    );
  }
  return wasmApi.compile(bytes);
}

/** Start a worker_threads worker on the same module and memory; it is unref'd. */
function startWorker(init: WorkerInit): Promise<WorkerHandle> {
  const worker = new Worker(new URL('./wasm-worker.js', import.meta.url), { workerData: init });
  worker.unref();
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    worker.once('error', onError);
    worker.once('message', (msg: unknown) => {
      worker.off('error', onError);
      if (msg === 'ready') {
        resolve({ terminate: () => void worker.terminate() });
      } else {
        void worker.terminate();
        reject(new Error(`wasm worker ${init.index} failed to start: ${String(msg)}`));
      }
    });
  });
}

/** The Node implementation of WasmPlatform. */
export const nodePlatform: WasmPlatform = {
  name: 'node',
  simdSupported,
  relaxedSimdSupported,
  compile,
  startWorker,
};
