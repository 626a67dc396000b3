// TensorFlow.js on its wasm backend, in a browser Worker, training the benchmark's model:
// embedding (V → E), SimpleRNN (H units, sigmoid: the notes' recurrence), a dense softmax over V
// at every step, sparse categorical cross-entropy, plain SGD — on the same synthetic ids, B×T
// tokens per step. Its URL carries ?threads=N&steps=S; posts { train_tokens_per_s, step_ms_median,
// threads, backend } (or { error }). The tfjs .wasm files are served from ./tfjs/.
// tfjs-backend-wasm 4.22 has no UnsortedSegmentSum, the kernel of the embedding's gradient, so
// one is registered here in plain JavaScript: B·T·E additions per step, a trifle next to the rest.

import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, setWasmPaths, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { WEB_BENCH } from '../web/measure.js';

const scope = self as unknown as { postMessage(m: unknown): void; location: { href: string } };
const q = new URL(scope.location.href).searchParams;

/** out[segmentIds[i], :] += x[i, :] over the rows of x. */
function registerUnsortedSegmentSum(): void {
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as BackendWasm;
      const x = inputs.x as tf.TensorInfo;
      const ids = b.readSync(inputs.segmentIds!.dataId) as Int32Array;
      const xv = b.readSync(x.dataId) as Float32Array;
      const numSegments = (attrs as { numSegments: number }).numSegments;
      const inner = x.shape.slice(1).reduce((a, d) => a * d, 1);
      const out = b.makeOutput([numSegments, ...x.shape.slice(1)], 'float32');
      const ov = b.typedArrayFromHeap(out) as Float32Array;
      ov.fill(0);
      for (let i = 0; i < ids.length; i++) {
        const o = ids[i] * inner;
        for (let j = 0; j < inner; j++) ov[o + j] += xv[i * inner + j];
      }
      return out;
    },
  });
}

async function main(): Promise<unknown> {
  const threads = Number(q.get('threads') ?? 1);
  const steps = Number(q.get('steps') ?? 3);
  setWasmPaths(new URL('./tfjs/', scope.location.href).href);
  setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialise');
  await tf.ready();
  registerUnsortedSegmentSum();
  const { V, E, H, B, T } = WEB_BENCH;
  const model = tf.sequential();
  model.add(tf.layers.embedding({ inputDim: V, outputDim: E, inputLength: T }));
  model.add(tf.layers.simpleRNN({ units: H, returnSequences: true, activation: 'sigmoid' }));
  model.add(tf.layers.dense({ units: V, activation: 'softmax' }));
  model.compile({ optimizer: tf.train.sgd(1e-3), loss: 'sparseCategoricalCrossentropy' });
  let seed = 2;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const x = tf.tensor2d(Array.from({ length: B * T }, () => Math.floor(rand() * V)), [B, T], 'int32');
  const y = tf.tensor3d(Array.from({ length: B * T }, () => Math.floor(rand() * V)), [B, T, 1], 'float32'); // sparse labels as floats, as tfjs's loss wants
  await model.trainOnBatch(x, y); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await model.trainOnBatch(x, y);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const stepMs = ms[Math.floor(ms.length / 2)];
  return { backend: `tfjs ${tf.version.tfjs} ${tf.getBackend()}`, threads, train_tokens_per_s: (B * T) / (stepMs / 1000), step_ms_median: stepMs };
}

main().then(
  (m) => scope.postMessage(m),
  (err: unknown) => scope.postMessage({ error: String((err as Error).stack ?? err) }),
);
