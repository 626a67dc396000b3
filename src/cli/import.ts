// `rnnlm import STATE.safetensors --train TRAIN.txt --save OUT.safetensors`: a PyTorch
// word_language_model state_dict into an rnnlm checkpoint (src/io/torch-import.ts does the
// conversion). The PyTorch vocabulary is rebuilt from the texts as the example's data.Corpus
// builds it (train, then --valid, then --test), or read from --vocab (one token per line, in id
// order). An existing --save is never overwritten without --force.

import { existsSync } from 'node:fs';
import { ConfigError, InputError } from '../errors.js';
import { readFileBytes, writeFileAtomicSync } from '../node/atomic.js';
import { encodeModel } from '../io/checkpoint.js';
import { readText } from '../node/text-file.js';
import { importTorchStateDict, parseVocabList, torchDictionary, type TorchElman } from '../io/torch-import.js';

export { TORCH_ELMAN } from '../io/torch-import.js';

interface ImportFlags {
  train?: string;
  valid?: string;
  test?: string;
  vocab?: string;
  cell?: TorchElman;
  save: string;
  force?: boolean;
  json?: boolean;
}

export async function importCommand(state: string, f: ImportFlags): Promise<void> {
  if (!f.train && !f.vocab) {
    throw new ConfigError('give --train TRAIN.txt (the text the PyTorch dictionary was built from) or --vocab FILE (its tokens, one per line, in id order)');
  }
  if (f.vocab && (f.valid || f.test)) {
    throw new ConfigError('--valid and --test rebuild the PyTorch dictionary from the texts; with --vocab the dictionary is the file: give one or the other');
  }
  if (existsSync(f.save) && !f.force) throw new InputError(`${f.save} already exists: pass --force to overwrite it, or choose another --save`);
  const bytes = readFileBytes(state);
  const trainText = f.train ? readText(f.train) : null;
  const torchTokens = f.vocab
    ? parseVocabList(readText(f.vocab), f.vocab)
    : torchDictionary([trainText!, ...(f.valid ? [readText(f.valid)] : []), ...(f.test ? [readText(f.test)] : [])]);
  const r = importTorchStateDict(bytes, torchTokens, trainText, { elman: f.cell, where: state });
  writeFileAtomicSync(f.save, encodeModel(r.model, r.vocab));
  const c = r.config;
  if (f.json) {
    process.stdout.write(`${JSON.stringify({
      model: f.save, cell: c.cell, layers: c.layers, embed: c.embed, hidden: c.hidden, vocab_size: c.vocabSize, tied: c.tied,
      tied_from: r.tiedFrom, permuted: r.perm.some((p, i) => p !== i),
    })}\n`);
    return;
  }
  const tied = r.tiedFrom === null ? '' : `, tied (${r.tiedFrom === 'both' ? 'encoder.weight = decoder.weight' : `from ${r.tiedFrom} alone`})`;
  process.stdout.write(`imported ${c.cell} ${c.layers}×${c.hidden} (embed ${c.embed}${tied}), vocabulary ${c.vocabSize} → ${f.save}\n`);
}
