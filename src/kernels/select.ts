// Choose a kernel backend by what the runtime offers (as TensorFlow.js's wasm backend picks its
// SIMD / threaded build). The platform says what the host has: Node's (src/node/platform.ts)
// reads .wasm files, starts worker_threads and may load the OpenBLAS addon; the browser's
// (src/web/) fetches the .wasm files and starts Web Workers. 'auto' takes the wasm backend
// (relaxed-simd FMA build when the engine has it), with its GEMMs handed to a native GEMM when the
// platform has one, and falls back to the TypeScript reference.

import { ConfigError } from '../errors.js';
import { LIMITS } from '../defaults.js';
import type { Kernels } from './kernels.js';
import { RefKernels } from './ref.js';
import { createWasmKernels, type NativeGemm, type WasmPlatform } from './wasm/kernels.js';

export type Backend = 'auto' | 'ref' | 'wasm' | 'openblas';

export const BACKENDS: readonly Backend[] = ['auto', 'ref', 'wasm', 'openblas'];

/** What the host offers the kernels. */
export interface KernelPlatform {
  /** e.g. "node" or "browser". */
  readonly name: string;
  /** The wasm backend's host side (loading the module, starting workers); absent: no wasm. */
  readonly wasm?: WasmPlatform;
  /** Threads used when the caller names none (Node: the available cores; a page: 1 unless isolated). */
  defaultThreads(): number;
  /** A native GEMM on the wasm memory (Node's OpenBLAS addon); throws why not (with the fix). */
  loadNativeGemm?(threads: number): NativeGemm;
}

export interface KernelOptions {
  /**
   * 'auto' (default): wasm when the runtime has SIMD and the build is present, with native
   * GEMMs when the platform has them; else ref. 'wasm': wasm GEMMs even if a native GEMM exists.
   * 'openblas': wasm + the native GEMM, or an error saying why not.
   */
  backend?: Backend;
  /** Threads for the wasm backend, the calling thread included (default: the platform's). */
  threads?: number;
  /** wasm only: force the relaxed-simd (true) or plain SIMD (false) build; default: best available. */
  relaxed?: boolean;
  /** 'auto' only: told why the wasm backend could not load when it falls back to ref (a missing native GEMM is not a fallback). */
  onFallback?: (reason: string) => void;
}

/**
 * Create the kernels on a platform (null: the reference only). `name` says what was chosen,
 * e.g. "ref" or "wasm-simd+fma, 2 threads". 'wasm' and 'openblas' throw ConfigError with the
 * reason when they cannot load; 'auto' falls back to ref. Call `dispose()` on the result to stop
 * its worker threads.
 */
export async function createKernels(platform: KernelPlatform | null, opts: KernelOptions = {}): Promise<Kernels> {
  const backend = opts.backend ?? 'auto';
  if (!BACKENDS.includes(backend)) {
    throw new ConfigError(`backend must be one of ${BACKENDS.join(', ')}; got ${String(backend)}`);
  }
  const threads = opts.threads ?? platform?.defaultThreads() ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > LIMITS.threads) {
    throw new ConfigError(`threads must be an integer from 1 to ${LIMITS.threads}, got ${threads}`);
  }
  if (backend === 'ref') return new RefKernels();
  let nativeGemm: NativeGemm | undefined;
  if (backend === 'openblas') {
    if (!platform?.loadNativeGemm) {
      throw new ConfigError(`the OpenBLAS GEMM is a Node addon, and this platform (${platform?.name ?? 'none'}) has none; use --backend wasm`);
    }
    try {
      nativeGemm = platform.loadNativeGemm(threads);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  } else if (backend === 'auto' && platform?.loadNativeGemm) {
    try {
      nativeGemm = platform.loadNativeGemm(threads);
    } catch {
      // not built: the usual case, and not worth a fallback message
    }
  }
  try {
    if (!platform?.wasm) throw new Error(`this platform (${platform?.name ?? 'none'}) has no wasm loader`);
    return await createWasmKernels(platform.wasm, { threads, relaxed: opts.relaxed, nativeGemm });
  } catch (err) {
    if (backend === 'auto') {
      opts.onFallback?.((err as Error).message);
      return new RefKernels();
    }
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${(err as Error).message}; choose --backend ref (the plain TypeScript reference) to run without it`);
  }
}
