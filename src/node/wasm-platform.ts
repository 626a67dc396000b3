// Node's half of the wasm backend: read and compile the .wasm files that `npm run asbuild`
// writes to dist/wasm/, turn on V8's relaxed-SIMD flag, and start worker_threads workers.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';

import { relaxedSimdValidates, simdSupported, wasmApi, type WasmModule } from '../kernels/wasm/api.js';
import type { WasmPlatform } from '../kernels/wasm/kernels.js';
import type { WorkerHandle, WorkerInit } from '../kernels/wasm/pool.js';

/** dist/wasm/ relative to this file once compiled (dist/src/node/wasm-platform.js). */
const WASM_DIR = new URL('../../wasm/', import.meta.url);

let relaxedFlagTried = false;

/**
 * Whether this runtime validates relaxed-SIMD modules. On Node 20 the feature is behind
 * --experimental-wasm-relaxed-simd, which NODE_OPTIONS refuses but V8 accepts from inside the
 * process before the first relaxed module is compiled; later Node versions have it on.
 */
function relaxedSimdSupported(): boolean {
  if (relaxedSimdValidates()) return true;
  if (!relaxedFlagTried) {
    relaxedFlagTried = true;
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      return false;
    }
  }
  return relaxedSimdValidates();
}

/** Compile dist/wasm/rnnlm-{relaxed,simd}.wasm; throws with the fix when it is not built. */
async function compile(relaxed: boolean): Promise<WasmModule> {
  const url = new URL(relaxed ? 'rnnlm-relaxed.wasm' : 'rnnlm-simd.wasm', WASM_DIR);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(url);
  } catch (err) {
    throw new Error(`wasm kernels: cannot read ${fileURLToPath(url)} (${(err as Error).message}); build it with \`npm run asbuild\``);
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
export const nodeWasmPlatform: WasmPlatform = {
  name: 'node',
  simdSupported,
  relaxedSimdSupported,
  compile,
  startWorker,
};
