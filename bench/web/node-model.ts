// The web benchmark's Node side: one measurement (bench/web/measure.ts) on Node's wasm backend
// (no OpenBLAS: the same kernels the browser runs), in its own process. Prints one JSON line.
// Usage: node dist/bench/web/node-model.js CLASSES THREADS STEPS EVAL_TOKENS

import { createNodeKernels } from '../../src/node/platform.js';
import { measureModel } from './measure.js';

const [classes = '0', threads = '1', steps = '10', evalTokens = '10000'] = process.argv.slice(2);
const k = await createNodeKernels({ backend: 'wasm', threads: Number(threads) });
process.stdout.write(`${JSON.stringify({ ...measureModel(k, Number(classes), Number(steps), Number(evalTokens)), threads: Number(threads) })}\n`);
k.dispose();
