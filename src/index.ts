// The rnnlm library's main entry, platform-neutral: it runs in Node and in a browser Worker
// alike (no `node:` module, no Node global). Files, worker_threads, the OpenBLAS addon and the
// CLI are behind the separate entry `rnnlm/node` (src/node/index.ts); a host gives the kernels
// what it has through a KernelPlatform (createKernels).

export * from './errors.js';
export { MODEL_DEFAULTS, TRAIN_DEFAULTS, VOCAB_DEFAULTS, GENERATE_DEFAULTS, OPTIMIZER_HYPER, LIMITS } from './defaults.js';
export { Rng } from './rng.js';
export type {
  Arr, Activation, Kernels, RowsOp, ClassPlan, HsTree, HsBatch, DirectArgs, SparseGrad, SparseStep,
} from './kernels/kernels.js';
export { RefKernels, gemmRef, softmaxXentRef } from './kernels/ref.js';
export { hsBatchPlan, dropThreshold, fmix32, ABSENT } from './kernels/ref-fused.js';
export { createKernels, BACKENDS, type Backend, type KernelOptions, type KernelPlatform } from './kernels/select.js';
export { createWasmKernels, WasmKernels, type WasmPlatform, type WasmKernelsOptions, type NativeGemm } from './kernels/wasm/kernels.js';
export { workerLoop, type WorkerInit, type WorkerHandle } from './kernels/wasm/pool.js';
export { wasmApi, simdSupported, relaxedSimdValidates, sharedMemorySupported, type WasmExports, type WasmModule, type WasmMemory } from './kernels/wasm/api.js';
export { Vocab, EOS, UNK, tokenize, splitLines, lineWords, type Level, type VocabOptions } from './data/vocab.js';
export { batchify, segment, segmentCount, type Batched } from './data/batches.js';
export { assignClasses, unigramCounts, validateClasses } from './data/classes.js';
export {
  builtinText, builtinLineLogProb, sourceCrossEntropy, isBuiltinName, parseBuiltinName, BUILTIN_PREFIX, type BuiltinSplit,
} from './data/builtin/index.js';
export {
  makeConfig, configFromJson, configToJson, CELLS, ELMAN_CELLS, OUTPUTS, isElmanCell, type Cell, type ElmanCell, type ModelConfig, type Output,
} from './nn/config.js';
export { Layout, type ParamSpec, type Precision } from './nn/arena.js';
export {
  RnnLM, modelSpecs, checkpointSpecs, stateWidth, makeLayer, type ModelOptions, type ForwardOptions, type BackwardOptions, type CheckpointSpec,
  type GradRegions,
} from './nn/model.js';
export { rnnNames, type RecurrentLayer, type UnboundLayer, type GradHObserver } from './nn/recurrent.js';
export { bpttProbe, type BpttProbeOptions, type BpttProbeResult } from './nn/bptt-probe.js';
export { ElmanLayer } from './nn/elman.js';
export { LstmLayer } from './nn/lstm.js';
export { GruLayer } from './nn/gru.js';
export { dropoutMask, dropoutForward, dropoutBackward } from './nn/dropout.js';
export { ClassOutput, type ClassDirect } from './nn/classes.js';
export { HsOutput, buildHuffmanTree, validateHsTree, treePaths, MAX_DEPTH } from './nn/hsoftmax.js';
export {
  contextHashes, directKey, advanceHistory, newDirectTable, validateDirect, MAX_DIRECT, MAX_DIRECT_ORDER, type DirectTable,
} from './nn/direct.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult, type TensorCheck } from './nn/gradcheck.js';
export { Optimizer, OPTIMIZERS, clipGradNorm, clipGradNorms, type OptimizerName } from './train/optimizer.js';
export { nextEpochRate } from './train/schedule.js';
export {
  train, DEFAULT_TRAIN, trainOptions, validateTrainOptions, messageYield, type TrainOptions, type TrainHooks, type TrainResult,
  type TrainState, type StepInfo, type EpochRecord,
} from './train/trainer.js';
export { evaluateIds, summarize, type EvalResult, type EvalOptions } from './infer/evaluate.js';
export { sample, samplingDistribution } from './infer/sample.js';
export { generateIds, primeTokens, tokenText, type GenerateOptions } from './infer/generate.js';
export { scoreLine, type LineScore } from './infer/score.js';
export { encodeSafetensors, decodeSafetensors, type Tensor } from './io/safetensors.js';
export { encodeModel, decodeModel, type DecodedModel } from './io/checkpoint.js';
export { importTorchStateDict, torchDictionary, rnnlmOrder, parseVocabList, TORCH_ELMAN, type TorchImport, type TorchImportOptions, type TorchElman } from './io/torch-import.js';
export { encodeTrainState, decodeTrainState, statePath } from './io/train-state.js';
export { newModelForText, type NewModelOptions, type NewModel } from './tasks/prepare.js';
export { evaluateText, type TextEvalResult } from './tasks/evaluate.js';
export { PRESETS, presetOptions, type Preset } from './tasks/presets.js';
export { perplexityPlotSvg } from './report/plot.js';
