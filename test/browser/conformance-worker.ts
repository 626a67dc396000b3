// The conformance subset (test/conformance-subset.ts) inside a browser Worker, on the wasm
// backend of the browser platform (src/web/platform.ts): both builds, 1 and 2 threads (2 only
// where the page is cross-origin isolated). Bundled next to the page by test/web.test.ts;
// posts { backends: [{ label, name?, skip?, results? }] }.

import { createWasmKernels } from '../../src/kernels/wasm/kernels.js';
import { isCrossOriginIsolated, webWasmPlatform } from '../../src/web/platform.js';
import { runConformanceSubset, type CaseResult } from '../conformance-subset.js';

interface BackendReport {
  label: string;
  name?: string;
  skip?: string;
  results?: CaseResult[];
  ms?: number;
}

const scope = self as unknown as { postMessage(m: unknown): void; location: { href: string } };
const platform = webWasmPlatform({ wasmBase: new URL('./wasm/', scope.location.href), kernelWorker: new URL('./kernel-worker.js', scope.location.href) });

async function main(): Promise<BackendReport[]> {
  const out: BackendReport[] = [];
  for (const relaxed of [false, true]) {
    for (const threads of [1, 2]) {
      const label = `browser wasm ${relaxed ? 'simd+relaxed (fma)' : 'simd'}, ${threads} thread${threads > 1 ? 's' : ''}`;
      if (threads > 1 && !isCrossOriginIsolated()) {
        out.push({ label, skip: 'not cross-origin isolated' });
        continue;
      }
      try {
        const k = await createWasmKernels(platform, { threads, relaxed });
        const t0 = performance.now();
        const results = runConformanceSubset(k);
        out.push({ label, name: k.name, results, ms: performance.now() - t0 });
        k.dispose();
      } catch (err) {
        out.push({ label, skip: (err as Error).message });
      }
    }
  }
  return out;
}

main().then(
  (backends) => scope.postMessage({ backends }),
  (err: unknown) => scope.postMessage({ error: String(err) }),
);
