// Choose a kernel backend by what the runtime offers (as TensorFlow.js's wasm backend picks its
// SIMD / threaded build): 'auto' takes the WebAssembly SIMD backend (relaxed-simd FMA build when
// the engine has it), with its GEMMs handed to the system OpenBLAS when the optional native addon
// is built (`npm run build:native`), and falls back to the TypeScript reference.

import os from 'node:os';

import type { Kernels } from './kernels.js';
import type { NativeGemm } from './native.js';
import { RefKernels } from './ref.js';

export type Backend = 'auto' | 'ref' | 'wasm' | 'openblas';

export const BACKENDS: readonly Backend[] = ['auto', 'ref', 'wasm', 'openblas'];

export interface KernelOptions {
  /**
   * 'auto' (default): wasm when the runtime has SIMD and the build is present, with OpenBLAS
   * GEMMs when the native addon is built; else ref. 'wasm': wasm GEMMs even if the addon is
   * built. 'openblas': wasm + OpenBLAS GEMMs, or an error saying why not.
   */
  backend?: Backend;
  /** Threads for the wasm backend, main thread included (default: os.availableParallelism()). */
  threads?: number;
  /** wasm only: force the relaxed-simd (true) or plain SIMD (false) build; default: best available. */
  relaxed?: boolean;
  /** 'auto' only: told why the wasm backend could not load when it falls back to ref (an unbuilt native addon is not a fallback). */
  onFallback?: (reason: string) => void;
}

/**
 * Create the kernels. `name` says what was chosen, e.g. "ref" or "wasm-simd+fma, 2 threads".
 * 'wasm' throws (with the reason) when the backend cannot load; 'auto' falls back to ref.
 * Call `dispose()` on the result to stop its worker threads.
 */
export async function createKernels(opts: KernelOptions = {}): Promise<Kernels> {
  const backend = opts.backend ?? 'auto';
  if (!BACKENDS.includes(backend)) {
    throw new RangeError(`backend must be one of ${BACKENDS.join(', ')}; got ${String(backend)}`);
  }
  if (backend === 'ref') return new RefKernels();
  const threads = opts.threads ?? os.availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new RangeError(`threads must be an integer in [1, 64], got ${threads}`);
  }
  let nativeGemm: NativeGemm | undefined;
  if (backend === 'openblas' || backend === 'auto') {
    try {
      nativeGemm = (await import('./native.js')).loadNativeGemm(threads);
    } catch (err) {
      if (backend === 'openblas') throw err;
      // not built: the usual case, and not worth a fallback message
    }
  }
  try {
    // loaded lazily: the reference needs neither the wasm files nor worker_threads
    const [{ createWasmKernels }, { nodePlatform }] = await Promise.all([import('./wasm.js'), import('./loader-node.js')]);
    return await createWasmKernels(nodePlatform, { threads, relaxed: opts.relaxed, nativeGemm });
  } catch (err) {
    if (backend !== 'auto') throw err;
    opts.onFallback?.((err as Error).message);
    return new RefKernels();
  }
}
