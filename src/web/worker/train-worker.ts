// The training Worker (a dedicated module Worker started by the page): it loads the kernels —
// the wasm backend on the browser platform, its kernel threads nested Workers of this one — and
// then serves the page's messages (protocol.ts) with a Session. Training never runs on the
// page's main thread: the wasm backend blocks in Atomics.wait, which only a worker may do, and a
// long step would freeze the page.
// Its URL may carry ?threads=N (0 or absent: the platform's default).

import { builtinText } from '../../data/builtin/index.js';
import { createKernels } from '../../kernels/select.js';
import { wasmApi } from '../../kernels/wasm/api.js';
import type { FromWorker, ToWorker } from '../protocol.js';
import { isCrossOriginIsolated, singleThreadReason, webKernelPlatform } from '../platform.js';
import { Session } from './session.js';

interface WorkerScope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
  location: { href: string };
}

const scope = self as unknown as WorkerScope;
const started = performance.now();
const post = (msg: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(msg, transfer);

// Messages that arrive while the kernels load wait for them.
const early: ToWorker[] = [];
let session: Session | null = null;
scope.onmessage = (e: MessageEvent) => {
  const msg = e.data as ToWorker;
  if (session) handle(session, msg);
  else early.push(msg);
};

function handle(s: Session, msg: ToWorker): void {
  try {
    switch (msg.type) {
      case 'start':
        s.control(() => s.start(msg.settings, msg.text));
        break;
      case 'pause':
        s.pause();
        break;
      case 'resume':
        s.resume();
        break;
      case 'reset':
        s.control(() => s.reset());
        break;
      case 'load':
        s.control(() => s.load(msg.id, msg.bytes, msg.name), msg.id);
        break;
      case 'sampling':
        s.setSampling(msg.temperature, msg.topK);
        break;
      case 'analyze':
        s.analyze(msg.id, msg.text);
        break;
      case 'evaluate':
        s.evaluate(msg.id, msg.source);
        break;
      case 'generate':
        s.generate(msg.id, msg);
        break;
      case 'download':
        s.download(msg.id);
        break;
      case 'probe':
        s.probe(msg.id);
        break;
    }
  } catch (err) {
    s.fail(err, 'id' in msg ? msg.id : undefined);
  }
}

async function boot(): Promise<void> {
  const asked = Number(new URL(scope.location.href).searchParams.get('threads')) || 0;
  const notices: string[] = [];
  const single = singleThreadReason();
  if (single) notices.push(single);
  let threads = asked > 0 ? asked : undefined;
  if (threads !== undefined && threads > 1 && !isCrossOriginIsolated()) threads = 1;
  const platform = webKernelPlatform({ wasmBase: new URL('./wasm/', scope.location.href), kernelWorker: new URL('./kernel-worker.js', scope.location.href) });
  const kernels = await createKernels(platform, {
    threads,
    onFallback: (reason) => notices.push(`The WebAssembly kernels could not load (${reason}), so the plain TypeScript reference runs: correct, but many times slower.`),
  });
  if (kernels.name.startsWith('wasm') && !kernels.name.includes('+fma')) {
    notices.push(wasmApi ? 'This browser has no relaxed SIMD (fused multiply-add), so the plain SIMD build runs: a little slower.' : '');
  }
  const threadCount = (kernels as { threadCount?: number }).threadCount ?? 1;
  post({ type: 'ready', backend: kernels.name, threads: threadCount, isolated: isCrossOriginIsolated(), notices: notices.filter((n) => n !== ''), startMs: performance.now() - started });
  session = new Session(kernels, post);
  if (early.length > 0) {
    for (const msg of early.splice(0)) handle(session, msg);
  } else {
    // nothing asked yet: sample the built-in corpus now (it is cached), so that Start need not wait for it
    builtinText('train');
    builtinText('valid');
  }
}

boot().catch((err: unknown) => post({ type: 'error', message: `the training worker could not start: ${(err as Error).message ?? String(err)}` }));
