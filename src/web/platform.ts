// The browser's half of the kernels, mirroring src/node/wasm-platform.ts: fetch and compile the
// .wasm builds (copied next to the page by the web build), start Web Workers (kernel-worker.ts)
// that instantiate the module over the shared memory and run workerLoop. Runs inside a dedicated
// Worker: the wasm backend's calling thread blocks in Atomics.wait, which a page's main thread
// may not do.
//
// The thread rule: several threads need a SharedArrayBuffer, which a browser offers only to a
// cross-origin isolated page (served with Cross-Origin-Opener-Policy: same-origin and
// Cross-Origin-Embedder-Policy: require-corp). Then the default is navigator.hardwareConcurrency,
// capped; otherwise one thread, on a memory of fixed size (wasm/memory.ts).

import { relaxedSimdValidates, sharedMemorySupported, simdSupported, wasmApi, type WasmModule } from '../kernels/wasm/api.js';
import type { WasmPlatform } from '../kernels/wasm/kernels.js';
import type { WorkerHandle, WorkerInit } from '../kernels/wasm/pool.js';
import type { KernelPlatform } from '../kernels/select.js';
import { unshareMemoryImport } from './wasm-binary.js';

/** Default cap on the threads taken from navigator.hardwareConcurrency. */
export const MAX_DEFAULT_THREADS = 8;

export interface WebPlatformOptions {
  /** URL of the folder that holds rnnlm-simd.wasm and rnnlm-relaxed.wasm (ending in "/"). */
  wasmBase: string | URL;
  /** URL of the bundled kernel worker (src/web/kernel-worker.ts). */
  kernelWorker: string | URL;
  /** Cap on the default thread count (default MAX_DEFAULT_THREADS). */
  maxThreads?: number;
}

interface BrowserGlobals {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
}

const g = globalThis as unknown as BrowserGlobals;

/** Whether this context may share memory with workers (and so run several kernel threads). */
export function isCrossOriginIsolated(): boolean {
  return g.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
}

/** The default thread count: the cores (capped) when cross-origin isolated, else 1. */
export function defaultWebThreads(max = MAX_DEFAULT_THREADS): number {
  if (!isCrossOriginIsolated()) return 1;
  return Math.max(1, Math.min(g.navigator?.hardwareConcurrency ?? 1, max));
}

/** Why a page runs one thread, in a sentence for the page; null when it may run more. */
export function singleThreadReason(): string | null {
  if (isCrossOriginIsolated()) return null;
  return 'One thread: this page is not cross-origin isolated, so the browser offers no SharedArrayBuffer to share the model with worker threads. Serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (`npm run web` does) to train on every core.';
}

/**
 * Fetch and compile a build. Without shared memory (not cross-origin isolated) the module's
 * memory import is rewritten to a memory that is not shared (wasm-binary.ts), as the backend then
 * makes one (wasm/memory.ts).
 */
async function compileFrom(url: URL): Promise<WasmModule> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`wasm kernels: fetching ${url.href} gave HTTP ${res.status}; build the page with \`npm run build:web\``);
  if (!sharedMemorySupported()) return wasmApi.compile(unshareMemoryImport(new Uint8Array(await res.arrayBuffer())));
  const api = wasmApi as unknown as { compileStreaming?: (r: Response) => Promise<WasmModule> };
  if (typeof api.compileStreaming === 'function' && res.headers.get('content-type')?.startsWith('application/wasm')) {
    return api.compileStreaming(res);
  }
  return wasmApi.compile(new Uint8Array(await res.arrayBuffer()));
}

function startWorker(url: URL, init: WorkerInit): Promise<WorkerHandle> {
  const worker = new Worker(url, { type: 'module', name: `rnnlm kernels ${init.index}` });
  return new Promise((resolve, reject) => {
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(`wasm worker ${init.index} failed to start: ${e.message || 'script error'} (${url.href})`));
    };
    worker.onmessage = (e: MessageEvent) => {
      worker.onmessage = null;
      worker.onerror = null;
      if (e.data === 'ready') {
        resolve({ terminate: () => worker.terminate() });
      } else {
        worker.terminate();
        reject(new Error(`wasm worker ${init.index} failed to start: ${String(e.data)}`));
      }
    };
    worker.postMessage(init);
  });
}

/** The browser implementation of WasmPlatform. */
export function webWasmPlatform(o: WebPlatformOptions): WasmPlatform {
  const here = (globalThis as unknown as { location?: { href: string } }).location?.href;
  const base = new URL(o.wasmBase, here);
  const workerUrl = new URL(o.kernelWorker, base);
  return {
    name: 'browser',
    simdSupported,
    // Browsers have relaxed SIMD on where they have it (Chrome 114+); there is no flag to switch.
    relaxedSimdSupported: relaxedSimdValidates,
    compile: (relaxed) => compileFrom(new URL(relaxed ? 'rnnlm-relaxed.wasm' : 'rnnlm-simd.wasm', base)),
    startWorker: (init) => startWorker(workerUrl, init),
  };
}

/** The browser's KernelPlatform (pass it to createKernels). */
export function webKernelPlatform(o: WebPlatformOptions): KernelPlatform {
  return {
    name: 'browser',
    wasm: webWasmPlatform(o),
    defaultThreads: () => defaultWebThreads(o.maxThreads),
  };
}
