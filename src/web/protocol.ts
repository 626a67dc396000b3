// The messages between the page (main thread) and the training Worker. The Worker owns the
// kernels, the corpus and the model; the page only draws. Requests that expect one answer carry
// an `id` that the answer repeats.

import type { Cell } from '../nn/config.js';
import type { Settings } from './settings.js';

/** A text for training or evaluation: a built-in split, or text the user gave. */
export type TextSource = { builtin: 'train' | 'valid' | 'test' } | { text: string; name: string };

export type ToWorker =
  | { type: 'start'; settings: Settings; text?: TextSource }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'reset' }
  | { type: 'sampling'; temperature: number; topK: number }
  | { type: 'analyze'; id: number; text: string }
  | { type: 'load'; id: number; bytes: Uint8Array; name: string }
  | { type: 'evaluate'; id: number; source: TextSource }
  | { type: 'generate'; id: number; prime: string; length: number; temperature: number; topK: number; seed: number }
  | { type: 'download'; id: number }
  | { type: 'probe'; id: number };

export type RunState = 'idle' | 'preparing' | 'running' | 'paused' | 'done' | 'error';

export interface ModelInfo {
  /** 'new' (made by the page from the settings) or the file it was loaded from. */
  origin: string;
  level: 'word' | 'char';
  cell: Cell;
  layers: number;
  embed: number;
  hidden: number;
  vocabSize: number;
  classes: number;
  dropout: number;
  params: number;
}

export interface CorpusInfo {
  name: string;
  trainTokens: number;
  validTokens: number;
  /** Perplexity of the uniform distribution over the vocabulary: |V|. */
  uniformPerplexity: number;
  /** Built-in corpus, word level: the grammar's own perplexity on the validation text (the floor). */
  floorPerplexity: number | null;
  /** Steps of one epoch (segments of B streams × T steps). */
  segments: number;
  epochs: number;
}

/** One training step, as the curves plot it. */
export interface StepPoint {
  step: number;
  epoch: number;
  /** Perplexity of this step's segment alone, and the mean of the epoch so far. */
  stepPerplexity: number;
  epochPerplexity: number;
}

export interface TokenAnalysis {
  /** The token as read ("<eos>" for the end of a line at word level). */
  token: string;
  /** −log₂ p(token | the tokens before it). */
  surprisal: number;
  /** The five most likely tokens after this one, with their probabilities. */
  next: { token: string; p: number }[];
  /** Not in the vocabulary: the model read it as <unk>. */
  unknown: boolean;
}

export interface BpttMessage {
  type: 'bptt';
  step: number;
  cell: Cell;
  layers: number;
  T: number;
  B: number;
  /** norms[l][k] = mean over streams of ‖∂J(T)/∂h(T−k)‖ for layer l. */
  norms: number[][];
  loss: number;
}

export type FromWorker =
  | { type: 'ready'; backend: string; threads: number; isolated: boolean; notices: string[]; startMs: number }
  | { type: 'state'; state: RunState; message?: string }
  | { type: 'model'; model: ModelInfo; corpus: CorpusInfo | null }
  | { type: 'progress'; points: StepPoint[]; tokensPerSec: number; etaSeconds: number; epoch: number; segment: number; segments: number; lr: number; tokens: number }
  | { type: 'valid'; step: number; epoch: number; perplexity: number; final: boolean }
  | { type: 'sample'; step: number; text: string }
  | BpttMessage
  | { type: 'analysis'; id: number; tokens: TokenAnalysis[]; inputs: string[]; hidden: Float32Array; H: number; perplexity: number }
  | { type: 'evaluation'; id: number; name: string; perplexity: number; crossEntropy: number; bitsPerToken: number; tokens: number; unkRate: number; sourcePerplexity: number | null }
  | { type: 'generated'; id: number; text: string }
  | { type: 'loaded'; id: number; model: ModelInfo }
  | { type: 'checkpoint'; id: number; bytes: Uint8Array }
  | { type: 'error'; id?: number; message: string };
