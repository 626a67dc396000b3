// The web benchmark's browser side: one measurement (bench/web/measure.ts) on the wasm backend of
// the browser platform, in a dedicated Worker as the page trains. Its URL carries
// ?classes=C&threads=N&steps=S&eval=E; posts the ModelMeasure (or { error }).

import { createKernels } from '../../src/kernels/select.js';
import { webKernelPlatform } from '../../src/web/platform.js';
import { measureModel } from '../web/measure.js';

const scope = self as unknown as { postMessage(m: unknown): void; location: { href: string } };
const q = new URL(scope.location.href).searchParams;
const num = (name: string, d: number): number => Number(q.get(name) ?? d);

async function main(): Promise<unknown> {
  const platform = webKernelPlatform({ wasmBase: new URL('./wasm/', scope.location.href), kernelWorker: new URL('./kernel-worker.js', scope.location.href) });
  const threads = num('threads', 1);
  const k = await createKernels(platform, { backend: 'wasm', threads });
  const m = measureModel(k, num('classes', 0), num('steps', 10), num('eval', 10000));
  k.dispose();
  return { ...m, threads };
}

main().then(
  (m) => scope.postMessage(m),
  (err: unknown) => scope.postMessage({ error: String(err) }),
);
