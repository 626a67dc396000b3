// Entry point of the wasm kernels, built twice by `npm run asbuild` (assembly/asconfig.json):
// SIMD, and SIMD + relaxed-simd (fused multiply-add in the GEMM micro-kernel). Everything
// exported here is called from src/kernels/wasm*.ts with byte offsets into the shared memory
// that TypeScript owns; no export allocates.
export { gemmF32, gemvF32, gemmScratchBytes, gemmMR } from './gemm';
export { expF32 } from './vmath';
export { softmaxXentF32 } from './softmax';
export { transposeF32, lstmForwardF32, lstmBackwardF32, gruForwardF32, gruBackwardF32 } from './cells';
export {
  actForwardF32, actBackwardF32, addBiasF32, sumRowsF32, gatherRowsF32, scatterAddRowsF32,
  sumSquaresF32, zeroF32, scaleF32, sgdF32, adagradF32, adamF32,
} from './elementwise';
export { dropoutMaskF32, mulF32 } from './dropout';
export { elmanSeqForwardF32, elmanSeqBackwardF32 } from './recurrent';
export { dotsF32, classWordsLossF32, classWordsBackwardF32 } from './classes';
export { hsLossF32, hsBackwardRowsF32, hsBackwardNodesF32 } from './hsoftmax';
export {
  directAddF32, directGradF32, directGradClassWordsF32, directGradHsF32, sparseSumSquaresF32, sparseUpdateF32,
} from './direct';
export { sumSquaresRowsF32, rowsOpF32 } from './rows';
import { SUMSQ_CHUNK } from './elementwise';

/** Elements per sumSquares partial (see sumSquaresF32). */
export function sumSquaresChunk(): i32 {
  return SUMSQ_CHUNK;
}

/** First byte after the module's static data: TypeScript's allocator starts above it. */
export function heapBase(): usize {
  return __heap_base;
}
