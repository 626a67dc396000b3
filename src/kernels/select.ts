// Backend selection (placeholder until the wasm backend lands): always the reference.
import type { Kernels } from './kernels.js';
import { RefKernels } from './ref.js';

export async function createKernels(_opts: { backend?: 'auto' | 'ref' | 'wasm'; threads?: number } = {}): Promise<Kernels> {
  return new RefKernels();
}
