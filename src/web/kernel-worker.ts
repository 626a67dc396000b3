// Entry of a wasm-backend kernel thread in the browser (a Web Worker started by the training
// Worker, see platform.ts): instantiate the module over the shared memory, say 'ready', then serve
// jobs from the control block until told to quit (workerLoop in src/kernels/wasm/pool.ts).
// The browser twin of src/node/wasm-worker.ts.

import { wasmApi, type WasmExports } from '../kernels/wasm/api.js';
import { workerLoop, type WorkerInit } from '../kernels/wasm/pool.js';

const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };

scope.onmessage = (e: MessageEvent) => {
  scope.onmessage = null;
  const init = e.data as WorkerInit;
  let exports: WasmExports;
  try {
    exports = new wasmApi.Instance(init.module, { env: { memory: init.memory } }).exports as unknown as WasmExports;
  } catch (err) {
    scope.postMessage(`error: ${(err as Error).message}`);
    return;
  }
  scope.postMessage('ready');
  workerLoop(exports, init.memory, init.index, init.ctrlOffset);
};
