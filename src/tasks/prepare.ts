// A new model for a training text, as `rnnlm train` makes one: the vocabulary from the text,
// the config, each word's class (class-factored softmax) or the Huffman tree (hierarchical
// softmax), and seeded initial weights.
// Platform-neutral: text in, model out (the Node CLI reads the files; a page passes strings).

import { TRAIN_DEFAULTS, VOCAB_DEFAULTS } from '../defaults.js';
import { assignClasses, unigramCounts } from '../data/classes.js';
import { Vocab, type Level, type VocabOptions } from '../data/vocab.js';
import type { Kernels } from '../kernels/kernels.js';
import { makeConfig, type ModelConfig } from '../nn/config.js';
import { buildHuffmanTree } from '../nn/hsoftmax.js';
import { RnnLM } from '../nn/model.js';
import { checkMemory, type MemoryUse } from '../nn/memory.js';
import { Rng } from '../rng.js';

/** The model's shape (any field not given takes its default) and the vocabulary's limits. */
export interface NewModelOptions extends Partial<Omit<ModelConfig, 'vocabSize'>>, VocabOptions {
  level?: Level;
  /** Seed of the initial weights (default: the training seed's default). */
  seed?: number;
}

export interface NewModel {
  model: RnnLM;
  vocab: Vocab;
  /** The training text as token ids of that vocabulary. */
  trainIds: Int32Array;
}

export function newModelForText(trainText: string, o: NewModelOptions, kernels: Kernels): NewModel {
  const vocab = Vocab.build(trainText, o.level ?? 'word', { maxVocab: o.maxVocab ?? VOCAB_DEFAULTS.maxVocab, minCount: o.minCount ?? VOCAB_DEFAULTS.minCount });
  const trainIds = vocab.encode(trainText).ids;
  return { model: newModelForVocab(vocab, trainIds, o, kernels), vocab, trainIds };
}

/** The config of a new model of `o`'s shape over `vocab`. */
export function newModelConfig(vocab: Vocab, o: NewModelOptions): ModelConfig {
  return makeConfig({
    level: vocab.level, cell: o.cell, layers: o.layers, embed: o.embed, hidden: o.hidden, vocabSize: vocab.size,
    dropout: o.dropout, tied: o.tied, classes: o.classes, forgetBias: o.forgetBias,
    output: o.output, direct: o.direct, directOrder: o.directOrder, foldInput: o.foldInput,
  });
}

/**
 * A new, seeded model over a vocabulary already built (e.g. from a file read in pieces), whose
 * training ids give the class-factored or hierarchical softmax its word counts. Its memory is
 * checked first (nn/memory.ts), for training as `use` says (default: evaluation).
 */
export function newModelForVocab(vocab: Vocab, trainIds: Int32Array, o: NewModelOptions, kernels: Kernels, use?: MemoryUse): RnnLM {
  const config = newModelConfig(vocab, o);
  checkMemory(config, kernels, use);
  // A class-factored softmax bins words by their training counts (Mikolov's equal-mass classes);
  // a hierarchical softmax builds Huffman's tree over them.
  const counts = config.output === 'softmax' ? null : unigramCounts(trainIds, vocab.size);
  const wordClasses = config.output === 'classes' ? assignClasses(counts!, config.classes) : undefined;
  const hsTree = config.output === 'hs' ? buildHuffmanTree(counts!) : undefined;
  const model = new RnnLM(config, kernels, { wordClasses, hsTree });
  model.init(new Rng(o.seed ?? TRAIN_DEFAULTS.seed));
  return model;
}
