// `rnnlm/node`: the library's Node entry. Everything of the platform-neutral main entry, plus
// what needs Node: files (atomic writes, validated reads, texts and checkpoints by path), the
// worker_threads pool and the optional OpenBLAS GEMM (createNodeKernels), and trainRun, which
// trains from files to files as `rnnlm train` does.

export * from '../index.js';
export { createNodeKernels, nodePlatform } from './platform.js';
export { nodeWasmPlatform } from './wasm-platform.js';
export { loadNativeGemm } from './native.js';
export { writeFileAtomicSync, readFileBytes } from './atomic.js';
export { readText } from './text-file.js';
export { saveModel, loadModel } from './checkpoint-file.js';
export { trainRun, type TrainRunOptions, type TrainRunResult } from './train-run.js';
