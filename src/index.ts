// The rnnlm library: everything the CLI does, as typed functions and classes.
// Node-only pieces (file access, worker threads) are in io/*-file.ts, io/atomic.ts, io/text.ts,
// tasks/train.ts and the wasm loader; the model, kernels and algorithms are platform-neutral.

export * from './errors.js';
export { Rng } from './rng.js';
export type { Arr, Activation, Kernels } from './kernels/kernels.js';
export { RefKernels, gemmRef, softmaxXentRef } from './kernels/ref.js';
export { createKernels } from './kernels/select.js';
export { Vocab, EOS, UNK, tokenize, splitLines, lineWords, type Level, type VocabOptions } from './data/vocab.js';
export { batchify, segment, segmentCount, type Batched } from './data/batches.js';
export { builtinText, builtinLineLogProb, sourceCrossEntropy, isBuiltinName, type BuiltinSplit } from './data/builtin.js';
export { makeConfig, configFromJson, configToJson, CELLS, ELMAN_CELLS, isElmanCell, type Cell, type ElmanCell, type ModelConfig } from './nn/config.js';
export { Layout, type ParamSpec, type DType } from './nn/arena.js';
export { RnnLM, modelSpecs, checkpointSpecs, stateWidth, makeLayer, type ModelOptions, type ForwardOptions, type CheckpointSpec } from './nn/model.js';
export { rnnNames, type RecurrentLayer, type UnboundLayer } from './nn/recurrent.js';
export { ElmanLayer } from './nn/elman.js';
export { LstmLayer } from './nn/lstm.js';
export { GruLayer } from './nn/gru.js';
export { dropoutMask, dropoutForward, dropoutBackward } from './nn/dropout.js';
export { assignClasses, unigramCounts, validateClasses, ClassOutput } from './nn/classes.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult, type TensorCheck } from './nn/gradcheck.js';
export { Optimizer, OPTIMIZERS, clipGradNorm, type OptimizerName } from './train/optimizer.js';
export { evaluateIds, summarize, type EvalResult, type EvalOptions } from './train/evaluate.js';
export {
  train, DEFAULT_TRAIN, validateTrainOptions, type TrainOptions, type TrainHooks, type TrainResult, type TrainState,
  type StepInfo, type EpochRecord,
} from './train/trainer.js';
export { sample, samplingDistribution } from './infer/sample.js';
export { generateIds, primeTokens, tokenText, type GenerateOptions } from './infer/generate.js';
export { scoreLine, type LineScore } from './infer/score.js';
export { encodeSafetensors, decodeSafetensors, type Tensor } from './io/safetensors.js';
export { encodeModel, decodeModel, type DecodedModel } from './io/checkpoint.js';
export { importTorchStateDict, torchDictionary, rnnlmOrder, parseVocabList, TORCH_ELMAN, type TorchImport, type TorchImportOptions, type TorchElman } from './io/torch-import.js';
export { saveModel, loadModel } from './io/checkpoint-file.js';
export { encodeTrainState, decodeTrainState, statePath } from './io/train-state.js';
export { readText } from './io/text.js';
export { trainRun, type TrainRunOptions, type TrainRunResult } from './tasks/train.js';
export { evaluateText, type TextEvalResult } from './tasks/evaluate.js';
