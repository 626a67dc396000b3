// The optional native GEMM: cblas_sgemm from the system OpenBLAS through a small Node addon
// (native/blas.cc, built by `npm run build:native` where libopenblas-dev is installed). It works
// on the wasm backend's shared memory in place, so the wasm backend keeps every other kernel and
// hands it the GEMMs (the training and evaluation hot spot: the output layer's three products).
// Node only; the browser and a machine without the addon use the wasm GEMM.

import { createRequire } from 'node:module';
import type { NativeGemm } from '../kernels/wasm/kernels.js';

/** The addon's exports (native/blas.cc); offsets are bytes into the bound memory. */
interface Addon {
  setMemory(sab: SharedArrayBuffer): void;
  sgemm: NativeGemm['sgemm'];
  setThreads(n: number): void;
  info(): string;
}

/** Where `npm run build:native` leaves the addon, relative to this file (dist/src/node/). */
const ADDON_PATH = '../../../native/build/Release/rnnlm_blas.node';

/**
 * Load the addon (from `path`, by default where the build leaves it) and give OpenBLAS `threads`
 * threads. Throws with the reason and the fix when it is not built or cannot load (e.g.
 * libopenblas missing at run time).
 */
export function loadNativeGemm(threads: number, path = ADDON_PATH): NativeGemm {
  // OpenBLAS's idle threads busy-wait for 2^28 cycles by default, stealing the cores that the
  // wasm worker threads need between GEMMs; 2^8 makes them sleep almost at once (measured with
  // bench/model-bench.js, tanh, 2 threads, three alternating runs: training 9.5k vs 8.3k tokens/s,
  // evaluation 21.9k vs 19.3k, medians). Read when the library loads, so it is set first (unless
  // the user set it).
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '8';
  const require = createRequire(import.meta.url);
  let addon: Addon;
  try {
    addon = require(path) as Addon;
  } catch (err) {
    throw new Error(
      'the OpenBLAS GEMM addon is not built: install OpenBLAS\'s headers (Debian: apt-get install libopenblas-dev), ' +
      `then run \`npm run build:native\`; or use --backend wasm (${(err as Error).message.split('\n')[0]})`,
    );
  }
  addon.setThreads(threads);
  return { info: addon.info(), bind: (sab) => addon.setMemory(sab), sgemm: addon.sgemm };
}
