// The Node platform for the kernels: wasm from dist/wasm/ with worker_threads, all cores by
// default, and the optional OpenBLAS GEMM addon.

import { availableParallelism } from 'node:os';
import { LIMITS } from '../defaults.js';
import { createKernels as createKernelsOn, type KernelOptions, type KernelPlatform } from '../kernels/select.js';
import type { Kernels } from '../kernels/kernels.js';
import { loadNativeGemm } from './native.js';
import { nodeWasmPlatform } from './wasm-platform.js';

export const nodePlatform: KernelPlatform = {
  name: 'node',
  wasm: nodeWasmPlatform,
  defaultThreads: () => Math.min(availableParallelism(), LIMITS.threads),
  loadNativeGemm,
};

/** createKernels on Node: threads default to the available cores; see KernelOptions. */
export function createNodeKernels(opts: KernelOptions = {}): Promise<Kernels> {
  return createKernelsOn(nodePlatform, opts);
}
