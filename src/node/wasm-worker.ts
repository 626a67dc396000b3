// Entry of a wasm-backend worker thread (Node worker_threads): instantiate the module over the
// shared memory the main thread owns, say 'ready', then serve jobs from the control block until
// told to quit (workerLoop in src/kernels/wasm/pool.ts).

import { parentPort, workerData } from 'node:worker_threads';

import { wasmApi, type WasmExports } from '../kernels/wasm/api.js';
import { workerLoop, type WorkerInit } from '../kernels/wasm/pool.js';

const init = workerData as WorkerInit;
try {
  const instance = new wasmApi.Instance(init.module, { env: { memory: init.memory } });
  parentPort!.postMessage('ready');
  workerLoop(instance.exports as unknown as WasmExports, init.memory, init.index, init.ctrlOffset);
} catch (err) {
  parentPort!.postMessage(`error: ${(err as Error).message}`);
}
