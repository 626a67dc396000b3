#!/usr/bin/env node
// The `rnnlm` command: a thin layer over the library. It parses and validates flags, prints
// progress and results, and turns library errors into messages and exit codes:
//   0 ok · 1 invalid usage · 2 bad input (file, checkpoint, vocabulary) · 3 training diverged ·
//   4 gradient check failed · 5 a file could not be written (the previous one is intact) ·
//   130 interrupted (a resumable state was saved).

import { Command, InvalidArgumentError, Option } from 'commander';
import { RnnlmError } from '../errors.js';
import { gradcheckCommand } from './gradcheck.js';
import { evalCommand, generateCommand, scoreCommand } from './use.js';
import { trainCommand } from './train.js';
import { importCommand, TORCH_ELMAN } from './import.js';
import { CELLS, OUTPUTS } from '../nn/config.js';
import { MAX_DIRECT, MAX_DIRECT_ORDER } from '../nn/direct.js';
import { OPTIMIZERS } from '../train/optimizer.js';
import { SCHEDULES } from '../train/options.js';
import { PRESETS } from '../tasks/presets.js';
import { BACKENDS } from '../kernels/select.js';
import { GENERATE_DEFAULTS, GRADCHECK_DEFAULTS, LEARNING_RATES, LIMITS, MODEL_DEFAULTS as M, TRAIN_DEFAULTS as T, VOCAB_DEFAULTS } from '../defaults.js';
import { RESUME_OVERRIDES, flagOf } from '../node/train-run.js';

/** "sgd: sigmoid 20, tanh 5, …; adam 0.002 (relu 0.001); …" from the one table: each optimizer's usual rate and the cells that differ. */
function lrDefaultsText(): string {
  return Object.entries(LEARNING_RATES).map(([opt, byCell]) => {
    const rates = Object.values(byCell);
    const usual = rates.find((r) => rates.filter((x) => x === r).length > rates.length / 2);
    const cells = Object.entries(byCell);
    if (usual === undefined) return `${opt}: ${cells.map(([c, v]) => `${c} ${v}`).join(', ')}`;
    const others = cells.filter(([, v]) => v !== usual).map(([c, v]) => `${c} ${v}`);
    return `${opt} ${usual}${others.length > 0 ? ` (${others.join(', ')})` : ''}`;
  }).join('; ');
}

export function int(lo: number, hi = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < lo || n > hi) {
      throw new InvalidArgumentError(`expected an integer from ${lo} to ${hi}, got "${v}".`);
    }
    return n;
  };
}

export function num(lo: number, loInclusive: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (loInclusive ? n < lo : n <= lo)) {
      throw new InvalidArgumentError(`expected a number ${loInclusive ? '≥' : '>'} ${lo}, got "${v}".`);
    }
    return n;
  };
}

/** A number of millions of entries (rnnlm-0.4b's unit for -direct), as a whole number of entries ≤ MAX_DIRECT. */
export function millions() {
  return (v: string): number => {
    const n = Number(v);
    const entries = Math.round(n * 1e6);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || entries > MAX_DIRECT) {
      throw new InvalidArgumentError(`expected a number of millions of entries from 0 (off) to ${MAX_DIRECT / 1e6}, got "${v}".`);
    }
    return entries;
  };
}

/** A probability in [0, 1). */
export function prob() {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`expected a probability from 0 to below 1, got "${v}".`);
    return n;
  };
}

export function finite() {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${v}".`);
    return n;
  };
}

const backendOption = (): Option =>
  new Option('--backend <name>', 'numeric backend: auto (fastest available), wasm, openblas (wasm with the system OpenBLAS GEMM; needs `npm run build:native`), or ref (plain TypeScript reference)')
    .choices(BACKENDS)
    .default('auto');
const threadsOption = (): Option => new Option('--threads <n>', 'threads for the wasm backend and OpenBLAS (default: available cores)').argParser(int(1, LIMITS.threads));

export function buildProgram(): Command {
  const program = new Command('rnnlm')
    .description('Recurrent neural network language models: train, evaluate, generate, score, gradient-check.')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)');

  program
    .command('train')
    .description('train a model; keeps the best checkpoint (by validation perplexity) at --save and a resumable state at --save.state')
    .option('--train <file>', 'training text (a path, or builtin:train)', 'builtin:train')
    .option('--valid <file>', 'validation text (default: builtin:valid when training on builtin:train)')
    .requiredOption('--save <model>', 'where to write the best model (.safetensors)')
    .addOption(new Option('--level <level>', 'tokens: words (+ <eos> per line) or characters').choices(['word', 'char']).default(M.level))
    .addOption(new Option('--cell <cell>', 'recurrent cell: sigmoid (the notes), tanh or relu Elman, lstm or gru (as torch.nn.LSTM / GRU)').choices([...CELLS]).default(M.cell))
    .option('--layers <n>', 'stacked recurrent layers', int(1, LIMITS.layers), M.layers)
    .option('--embed <n>', 'embedding width', int(1, LIMITS.width), M.embed)
    .option('--hidden <n>', 'hidden width', int(1, LIMITS.width), M.hidden)
    .option('--dropout <p>', 'dropout probability on embeddings, between layers and before the output (Zaremba et al.; 0 = off)', prob(), M.dropout)
    .option('--tied', 'tie decoder.weight to encoder.weight (needs --embed equal to --hidden)')
    .option('--classes <c>', 'class-factored softmax with c frequency classes (Mikolov; 0 = full softmax)', int(0, LIMITS.vocab), M.classes)
    .addOption(new Option('--output <layer>', 'output layer: softmax (full), classes (needs --classes), or hs (hierarchical softmax over a Huffman tree of the training counts, as faster-rnnlm)').choices([...OUTPUTS]))
    .option('--direct <millions>', `max-ent direct connections (RNNME; rnnlm-0.4b -direct): a hashed n-gram feature table of this many million entries, e.g. 2 or 0.5 (0 = off; at most ${MAX_DIRECT / 1e6})`, millions(), M.direct)
    .option('--direct-order <n>', 'n-gram order of the max-ent features: histories of 0 … n-1 words (rnnlm-0.4b -direct-order)', int(1, MAX_DIRECT_ORDER), M.directOrder)
    .option('--fold-input', 'Elman cells, embed = hidden: fold W_e into the embedding (e(t) enters h(t) directly, as rnnlm-0.4b\'s input layer; the file stores rnn.weight_ih_l0 = I)')
    .option('--forget-bias <x>', 'lstm: added to the forget-gate bias at initialisation (0 = PyTorch init)', finite(), M.forgetBias)
    .option('--batch <n>', 'parallel streams B', int(1, 100000), T.batch)
    .option('--bptt <n>', 'truncated BPTT length T', int(1, 100000), T.bptt)
    .option('--epochs <n>', 'epochs', int(1, 1000000), T.epochs)
    .option('--lr <x>', `initial learning rate (default by --optimizer and --cell: ${lrDefaultsText()})`, num(0, false))
    .option('--lr-decay <x>', 'divide the learning rate by this at each decay', num(1, true), T.lrDecay)
    .addOption(new Option('--schedule <name>', 'when to decay: plateau (validation stopped improving), fixed (every epoch after --decay-start) or budget (with --time-budget: hold, then linearly to near zero at the budget\'s end)').choices([...SCHEDULES]).default(T.schedule))
    .option('--decay-start <n>', 'fixed schedule: epochs at the initial rate', int(0), T.decayStart)
    .option('--hold <share>', 'budget schedule: share of the time budget at the initial rate', prob(), T.hold)
    .option('--patience <n>', 'early stopping: stop after n epochs without improvement (0 = off)', int(0), T.patience)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices([...OPTIMIZERS]).default(T.optimizer))
    .option('--clip <x>', 'max gradient L2 norm (0 = off)', num(0, true), T.clip)
    .option('--seed <n>', 'random seed', int(0, 0xffffffff), T.seed)
    .option('--max-vocab <n>', 'vocabulary cap including <eos> and <unk> (0 = none)', int(0), VOCAB_DEFAULTS.maxVocab)
    .option('--min-count <n>', 'drop words seen fewer times', int(1), VOCAB_DEFAULTS.minCount)
    .option('--time-budget <minutes>', 'stop in time for the last validation to end within this many minutes of training (the epoch in progress is validated and kept)', num(0, false))
    .option('--preset <name>', `a named recipe (${Object.keys(PRESETS).join(', ')}); flags given explicitly override it`)
    .option('--resume', `continue the run saved at --save.state (same training text) with its own settings; of the other flags only ${RESUME_OVERRIDES.map(flagOf).join(', ')} may differ from them`)
    .option('--force', 'start a new run even where --save (or its .state) exists: both are replaced after the first epoch')
    .option('--log <file>', 'metrics log: one JSON line per progress report and per epoch')
    .option('--json', 'print one JSON object with the results on stdout (progress goes to stderr)')
    .option('--verbose', 'say which backend runs, the corpus sizes, and how much memory the run uses (at the start and the peak), on stderr')
    .addOption(backendOption())
    .addOption(threadsOption())
    .action(trainCommand);

  program
    .command('eval')
    .description('exact perplexity of a model on a text (one stream, every token predicted)')
    .requiredOption('--model <model>', 'a checkpoint written by rnnlm train')
    .requiredOption('--text <file>', 'text to evaluate (a path, or builtin:test)')
    .option('--json', 'print one JSON object')
    .addOption(backendOption())
    .addOption(threadsOption())
    .action(evalCommand);

  program
    .command('generate')
    .description('sample text from a model, streamed to stdout')
    .requiredOption('--model <model>', 'a checkpoint written by rnnlm train')
    .option('--prime <text>', 'text to start from', '')
    .option('--length <n>', 'tokens to generate', int(0), GENERATE_DEFAULTS.length)
    .option('--temperature <x>', 'softmax temperature (< 1 sharper, > 1 flatter)', num(0, false), GENERATE_DEFAULTS.temperature)
    .option('--top-k <k>', 'sample among the k most likely tokens (0 = all)', int(0), GENERATE_DEFAULTS.topK)
    .option('--seed <n>', 'random seed (same seed, same text)', int(0, 0xffffffff), GENERATE_DEFAULTS.seed)
    .addOption(backendOption())
    .addOption(threadsOption())
    .action(generateCommand);

  program
    .command('score')
    .description('log-probability of each line of a text, each line on its own (for n-best rescoring)')
    .requiredOption('--model <model>', 'a checkpoint written by rnnlm train')
    .requiredOption('--text <file>', 'one sentence per line (a path, or builtin:test)')
    .option('--json', 'print one JSON object with a row per line')
    .addOption(backendOption())
    .addOption(threadsOption())
    .action(scoreCommand);

  program
    .command('import')
    .description('convert a PyTorch word_language_model state_dict (.safetensors) into an rnnlm checkpoint')
    .argument('<state>', 'the state_dict, saved with safetensors (save_file or save_model)')
    .option('--train <file>', 'the training text: rebuilds the PyTorch dictionary and orders rnnlm\'s vocabulary by its counts')
    .option('--valid <file>', 'validation text, when the dictionary was built over train, valid and test (as data.Corpus does)')
    .option('--test <file>', 'test text, likewise')
    .option('--vocab <file>', 'the PyTorch vocabulary instead: one token per line, in id order')
    .addOption(new Option('--cell <cell>', 'activation of nn.RNN weights (LSTM and GRU are told apart by their shapes)').choices([...TORCH_ELMAN]))
    .requiredOption('--save <model>', 'where to write the rnnlm checkpoint')
    .option('--force', 'overwrite --save if it exists')
    .option('--json', 'print one JSON object')
    .action(importCommand);

  program
    .command('gradcheck')
    .description('compare the hand-derived BPTT gradient with finite differences in float64, every parameter tensor')
    .addOption(new Option('--cell <cell>', 'cell to check (default: all)').choices([...CELLS]))
    .option('--layers <n>', 'stacked layers of the tiny model', int(1, 4), GRADCHECK_DEFAULTS.layers)
    .option('--steps <n>', 'BPTT steps', int(1, 50), GRADCHECK_DEFAULTS.steps)
    .option('--seed <n>', 'random seed', int(0, 0xffffffff), GRADCHECK_DEFAULTS.seed)
    .option('--dropout <p>', 'check with dropout (one fixed set of masks)', prob(), GRADCHECK_DEFAULTS.dropout)
    .option('--tied', 'check with decoder.weight tied to encoder.weight')
    .option('--classes <c>', 'check a class-factored softmax with c classes (2 to 11)', int(0, 11), GRADCHECK_DEFAULTS.classes)
    .addOption(new Option('--output <layer>', 'check this output layer: softmax, or hs (hierarchical softmax); classes: use --classes').choices(['softmax', 'hs']))
    .option('--direct <entries>', 'check max-ent direct connections with a table of this many entries (0 = off)', int(0, 1000), GRADCHECK_DEFAULTS.direct)
    .option('--direct-order <n>', 'their n-gram order', int(1, MAX_DIRECT_ORDER), GRADCHECK_DEFAULTS.directOrder)
    .option('--fold-input', 'check Elman cells with the input product folded into the embedding')
    .option('--json', 'print one JSON object')
    .action(gradcheckCommand);

  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof RnnlmError) {
      process.stderr.write(`rnnlm: error: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    throw e;
  }
}

await main();
