// `rnnlm import` and src/io/torch-import.ts: PyTorch word_language_model state_dicts into rnnlm.
// Without torch: state_dicts built here (seeded values, PyTorch's names and shapes) check the
// row permutation into rnnlm's vocabulary order, the tied layouts (both tensors, or one dropped by
// safetensors' save_model), and every refusal (one line, exit 2, the tensor named, nothing
// overwritten). With Debian's python3-torch: small models trained by PyTorch as the example trains
// them (python/tests/torch_example.py) and imported give, in `rnnlm eval`, the perplexity PyTorch's
// own single-stream evaluation gives, within 1e-5 relative — LSTM, GRU, tanh, relu, tied and
// untied, 2 layers, F32 and F64 files, dictionaries from train alone, train + valid + test, or a
// --vocab file. Where torch is missing that part reports itself skipped with the reason.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Vocab } from '../src/data/vocab.js';
import { CheckpointError, ConfigError, InputError } from '../src/errors.js';
import { loadModel } from '../src/node/checkpoint-file.js';
import { encodeSafetensors, type Tensor } from '../src/io/safetensors.js';
import { importTorchStateDict, parseVocabList, rnnlmOrder, torchDictionary } from '../src/io/torch-import.js';
import { RefKernels } from '../src/kernels/ref.js';
import { Rng } from '../src/rng.js';
import { ROOT } from './data-paths.js';
import { assertCleanFailure, assertOk, makeText, rmTemp, runCli, showRun, tempDir } from './helpers.js';

const TRAIN = `${makeText(21, 120)}the <unk> dog\n`;

interface SdOptions {
  G?: number; // gate blocks: 1 nn.RNN, 3 GRU, 4 LSTM
  L?: number;
  E?: number;
  H?: number;
  V: number;
  /** 'both' (equal tensors), 'decoder' / 'encoder' (the one kept), false (untied). */
  tied?: 'both' | 'decoder' | 'encoder' | false;
  seed?: number;
}

/** A seeded state_dict as word_language_model names it: name -> F32 tensor. */
function stateDict(o: SdOptions): Map<string, Tensor> {
  const { G = 4, L = 2, E = 5, H = 6, V, tied = false, seed = 1 } = o;
  const rng = new Rng(seed);
  const t = (shape: number[]): Tensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    return { dtype: 'F32', shape, data: Float32Array.from({ length: n }, () => rng.uniform(-1, 1)) };
  };
  const sd = new Map<string, Tensor>();
  const enc = t([V, E]);
  if (tied !== 'decoder') sd.set('encoder.weight', enc);
  for (let l = 0; l < L; l++) {
    sd.set(`rnn.weight_ih_l${l}`, t([G * H, l === 0 ? E : H]));
    sd.set(`rnn.weight_hh_l${l}`, t([G * H, H]));
    sd.set(`rnn.bias_ih_l${l}`, t([G * H]));
    sd.set(`rnn.bias_hh_l${l}`, t([G * H]));
  }
  if (tied === 'both' || tied === 'decoder') sd.set('decoder.weight', { ...enc, data: (enc.data as Float32Array).slice() });
  else if (tied === false) sd.set('decoder.weight', t([V, H]));
  sd.set('decoder.bias', t([V]));
  return sd;
}

const bytesOf = (sd: Map<string, Tensor>): Uint8Array => encodeSafetensors([...sd], { format: 'pt' });
const f32 = (t: Tensor | undefined): Float32Array => t!.data as Float32Array;

describe('vocabulary: the example\'s dictionary and rnnlm\'s order', () => {
  test('data.Corpus order: first appearance over train, then valid, then test; <eos> after each line', () => {
    assert.deepEqual(torchDictionary(['b a\n\na c\n', 'd a\n', 'e\n']), ['b', 'a', '<eos>', 'c', 'd', 'e']);
  });

  test('rnnlm order: <eos>, <unk>, then by training count, ties by first appearance; unseen-in-train words last', () => {
    const train = 'b a\na c <unk>\nc c\n';
    const torch = torchDictionary([train, 'z y a\n', 'x\n']); // b a <eos> c <unk> z y x
    const { tokens, perm } = rnnlmOrder(torch, train);
    assert.deepEqual(tokens, ['<eos>', '<unk>', 'c', 'a', 'b', 'z', 'y', 'x']);
    assert.deepEqual(Array.from(perm), tokens.map((t) => torch.indexOf(t)));
    // Train alone: exactly Vocab.build's vocabulary.
    assert.deepEqual(rnnlmOrder(torchDictionary([TRAIN]), TRAIN).tokens, Vocab.build(TRAIN, 'word').tokens);
  });

  test('a vocabulary without <unk> is refused (a row cannot be invented without changing probabilities)', () => {
    assert.throws(() => rnnlmOrder(['a', '<eos>'], 'a\n'), (e: unknown) => e instanceof InputError && /has no <unk>/.test(e.message));
    assert.throws(() => rnnlmOrder(['<unk>', 'a'], null), /has no <eos>/);
  });

  test('--vocab files: one token per line; empty lines, spaces and duplicates refused by line', () => {
    assert.deepEqual(parseVocabList('<eos>\n<unk>\nthe\n'), ['<eos>', '<unk>', 'the']);
    assert.throws(() => parseVocabList('a\n\nb\n', 'v.txt'), /v\.txt: line 2 is empty/);
    assert.throws(() => parseVocabList('a\nb 12\n', 'v.txt'), /line 2 holds "b 12"/);
    assert.throws(() => parseVocabList('a\nb\na\n', 'v.txt'), /"a" is listed twice \(lines 1 and 3\)/);
  });
});

describe('importTorchStateDict', () => {
  const torch = torchDictionary([TRAIN]);
  const V = torch.length;

  test('rows of encoder.weight, decoder.weight, decoder.bias are permuted into rnnlm order; the rest is copied', () => {
    const sd = stateDict({ V });
    const r = importTorchStateDict(bytesOf(sd), torch, TRAIN);
    assert.equal(r.config.cell, 'lstm');
    assert.equal(r.config.layers, 2);
    assert.equal(r.config.tied, false);
    assert.deepEqual(r.vocab.tokens, Vocab.build(TRAIN, 'word').tokens);
    assert.ok(r.perm.some((p, i) => p !== i), 'the test needs a non-trivial permutation');
    for (const [name, width] of [['encoder.weight', 5], ['decoder.weight', 6], ['decoder.bias', 1]] as const) {
      const src = f32(sd.get(name));
      const dst = r.model.param(name);
      for (let w = 0; w < V; w++) {
        const t = torch.indexOf(r.vocab.tokens[w]!);
        assert.deepEqual(Array.from(dst.subarray(w * width, (w + 1) * width)), Array.from(src.subarray(t * width, (t + 1) * width)), `${name} row of ${r.vocab.tokens[w]}`);
      }
    }
    for (const name of ['rnn.weight_ih_l1', 'rnn.weight_hh_l0', 'rnn.bias_hh_l1']) assert.deepEqual(Array.from(r.model.param(name)), Array.from(f32(sd.get(name))), name);
  });

  test('tied: both tensors (equal), or either one alone (save_model drops one name of a shared tensor)', () => {
    for (const tied of ['both', 'decoder', 'encoder'] as const) {
      const sd = stateDict({ V, G: 3, L: 1, E: 6, H: 6, tied });
      const r = importTorchStateDict(bytesOf(sd), torch, TRAIN);
      assert.equal(r.config.cell, 'gru', tied);
      assert.equal(r.config.tied, true, tied);
      assert.equal(r.tiedFrom, tied === 'both' ? 'both' : `${tied}.weight`);
      const src = f32(sd.get(tied === 'decoder' ? 'decoder.weight' : 'encoder.weight'));
      const w = r.vocab.tokens.indexOf('dog');
      const t = torch.indexOf('dog');
      assert.deepEqual(Array.from(r.model.param('decoder.weight').subarray(w * 6, w * 6 + 6)), Array.from(src.subarray(t * 6, t * 6 + 6)));
    }
    // Both present but different: an untied model whose widths happen to agree.
    const sd = stateDict({ V, G: 1, L: 1, E: 6, H: 6, tied: false });
    assert.equal(importTorchStateDict(bytesOf(sd), torch, TRAIN).config.tied, false);
  });

  test('Elman weights: tanh by default (nn.RNN\'s), relu on request; F64 rounded to F32; DDP\'s module. prefix', () => {
    const sd = stateDict({ V, G: 1, L: 1 });
    assert.equal(importTorchStateDict(bytesOf(sd), torch, TRAIN).config.cell, 'tanh');
    assert.equal(importTorchStateDict(bytesOf(sd), torch, TRAIN, { elman: 'relu' }).config.cell, 'relu');
    const f64 = [...sd].map(([n, t]): [string, Tensor] => [`module.${n}`, { dtype: 'F64', shape: t.shape, data: Float64Array.from(t.data as Float32Array) }]);
    const r = importTorchStateDict(encodeSafetensors(f64), torch, TRAIN);
    assert.deepEqual(Array.from(r.model.param('rnn.weight_hh_l0')), Array.from(f32(sd.get('rnn.weight_hh_l0'))));
  });

  const refuses = (what: string, bytes: Uint8Array, kind: typeof CheckpointError | typeof InputError | typeof ConfigError, pattern: RegExp, opts = {}): void => {
    test(`refuses ${what}`, () => {
      assert.throws(() => importTorchStateDict(bytes, torch, TRAIN, { where: 'sd.safetensors', ...opts }), (e: unknown) => {
        assert.ok(e instanceof kind, `${(e as Error).name}: ${(e as Error).message}`);
        assert.match((e as Error).message, pattern);
        assert.doesNotMatch((e as Error).message, /\n/);
        return true;
      });
    });
  };
  const edit = (f: (sd: Map<string, Tensor>) => void, o: Partial<SdOptions> = {}): Uint8Array => {
    const sd = stateDict({ V, ...o });
    f(sd);
    return bytesOf(sd);
  };
  const zeros = (shape: number[]): Tensor => ({ dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  refuses('Transformer weights', edit((sd) => sd.set('transformer_encoder.layers.0.linear1.weight', zeros([2, 2]))), CheckpointError, /tensor transformer_encoder\.layers\.0\.linear1\.weight belongs to a Transformer/);
  // The example's TransformerModel: nn.Transformer's encoder.* and its own input_emb / decoder; named as such
  // whichever of its tensors comes first in the file.
  refuses('the example\'s TransformerModel', encodeSafetensors([
    ['encoder.norm.weight', zeros([4])], ['decoder.bias', zeros([V])], ['encoder.layers.0.linear1.weight', zeros([2, 4])], ['input_emb.weight', zeros([V, 4])],
  ]), CheckpointError, /tensor encoder\.norm\.weight belongs to a Transformer/);
  refuses('a missing bias', edit((sd) => sd.delete('rnn.bias_hh_l1')), CheckpointError, /missing tensor rnn\.bias_hh_l1 .*bias=False/);
  refuses('a bidirectional RNN', edit((sd) => sd.set('rnn.weight_ih_l0_reverse', zeros([24, 5]))), CheckpointError, /rnn\.weight_ih_l0_reverse is the backward direction/);
  refuses('an LSTM projection', edit((sd) => sd.set('rnn.weight_hr_l0', zeros([3, 6]))), CheckpointError, /rnn\.weight_hr_l0 is an LSTM projection/);
  refuses('an unknown tensor', edit((sd) => sd.set('encoder.bias', zeros([V]))), CheckpointError, /unexpected tensor encoder\.bias/);
  refuses('a non-finite value', edit((sd) => { f32(sd.get('rnn.weight_hh_l1'))[7] = NaN; }), CheckpointError, /rnn\.weight_hh_l1 holds a non-finite value at index 7/);
  refuses('an F64 value beyond F32', edit((sd) => sd.set('decoder.bias', { dtype: 'F64', shape: [V], data: new Float64Array(V).fill(1e300) })), CheckpointError, /decoder\.bias holds a non-finite value at index 0 \(1e\+300 overflows F32\)/);
  refuses('a gate count of no cell', edit(() => {}, { G: 2 }), CheckpointError, /rnn\.weight_hh_l0 has shape \[12, 6\]: 12 rows are neither H .* for H = 6/);
  refuses('a layer of the wrong shape', edit((sd) => sd.set('rnn.weight_ih_l1', zeros([24, 5]))), CheckpointError, /rnn\.weight_ih_l1 has shape \[24, 5\], expected \[24, 6\]/);
  refuses('a vocabulary of another size', edit(() => {}, { V: V + 1 }), InputError, /encoder\.weight has \d+ rows but the vocabulary has \d+ tokens; .*--valid, --test/);
  refuses('--cell for LSTM weights', edit(() => {}), ConfigError, /--cell relu applies to nn\.RNN weights .* these weights are LSTM/, { elman: 'relu' });
  refuses('a lone embedding that cannot be tied (E ≠ H)', edit(() => {}, { tied: 'decoder' }), CheckpointError, /missing tensor encoder\.weight; decoder\.weight cannot stand in for it/);
  {
    // F16 cannot even be encoded by rnnlm's writer: a hand-made file, refused by name with the fix.
    const json = '{"encoder.weight":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}';
    const header = new TextEncoder().encode(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
    const bytes = new Uint8Array(8 + header.length + 4);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(header, 8);
    refuses('F16 tensors', bytes, CheckpointError, /tensor encoder\.weight is "F16": rnnlm imports F32 .* v\.float\(\)/);
  }
});

describe('rnnlm import (command line)', () => {
  let dir = '';
  before(() => {
    dir = tempDir('rnnlm-import-');
    writeFileSync(join(dir, 'train.txt'), TRAIN);
    writeFileSync(join(dir, 'sd.safetensors'), bytesOf(stateDict({ V: torchDictionary([TRAIN]).length, G: 3, L: 2, E: 6, H: 6, tied: 'decoder' })));
    writeFileSync(join(dir, 'transformer.safetensors'), encodeSafetensors([['pos_encoder.pe', { dtype: 'F32', shape: [1], data: new Float32Array(1) }]]));
  });
  after(() => rmTemp(dir));

  test('writes a checkpoint that loads; refuses to overwrite it without --force', () => {
    const args = ['import', 'sd.safetensors', '--train', 'train.txt', '--save', 'out.safetensors'];
    const r = runCli([...args, '--json'], dir);
    assertOk(r);
    const o = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual([o.cell, o.layers, o.tied, o.tied_from], ['gru', 2, true, 'decoder.weight']);
    const { model, vocab } = loadModel(join(dir, 'out.safetensors'), new RefKernels());
    assert.deepEqual(vocab.tokens, Vocab.build(TRAIN, 'word').tokens);
    assert.equal(model.config.tied, true);
    const before = readFileSync(join(dir, 'out.safetensors'));
    assertCleanFailure(runCli(args, dir), [/out\.safetensors already exists: pass --force/], { exitCode: 2 });
    assert.ok(readFileSync(join(dir, 'out.safetensors')).equals(before), 'the existing file was changed');
    assertOk(runCli([...args, '--force'], dir));
  });

  test('bad input: one line, exit 2, the offending tensor or flag named, nothing written', () => {
    const cases: Array<[string[], RegExp]> = [
      [['import', 'transformer.safetensors', '--train', 'train.txt', '--save', 'x.safetensors'], /pos_encoder\.pe belongs to a Transformer/],
      [['import', 'sd.safetensors', '--save', 'x.safetensors'], /give --train TRAIN\.txt .* or --vocab FILE/],
      [['import', 'sd.safetensors', '--vocab', 'train.txt', '--valid', 'train.txt', '--save', 'x.safetensors'], /with --vocab the dictionary is the file/],
      [['import', 'sd.safetensors', '--train', 'train.txt', '--cell', 'relu', '--save', 'x.safetensors'], /--cell relu applies to nn\.RNN weights/],
      [['import', 'missing.safetensors', '--train', 'train.txt', '--save', 'x.safetensors'], /cannot read missing\.safetensors: no such file/],
      [['import', 'train.txt', '--train', 'train.txt', '--save', 'x.safetensors'], /train\.txt: invalid safetensors/],
    ];
    for (const [args, pattern] of cases) {
      const r = runCli(args, dir);
      assertCleanFailure(r, [pattern], { exitCode: 2 });
      assert.equal(r.stderr.trim().split('\n').length, 1, showRun(r));
    }
    assert.equal(existsSync(join(dir, 'x.safetensors')), false, 'a refused import wrote its output');
  });
});

// --- the same perplexity as PyTorch, where Debian's python3-torch is installed ---------------------

const PYTHON = process.env.RNNLM_PYTHON ?? '/usr/bin/python3';
function torchMissing(): false | string {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} not found (install Debian's python3-torch, or set RNNLM_PYTHON)`;
  return r.status === 0 ? false : `${PYTHON} cannot import torch (apt-get install python3-torch)`;
}

interface Case {
  name: string;
  rnn_type: 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';
  layers: number;
  emsize: number;
  nhid: number;
  tied: boolean;
  save: 'state_dict' | 'both' | 'decoder_only' | 'encoder_only';
  dtype?: 'F32' | 'F64';
  dictionary: string[];
  lr?: number;
  /** Extra flags for `rnnlm import` (besides the state and --save). */
  flags: string[];
  vocab_out?: string;
}

describe('rnnlm import of models trained by PyTorch: the same perplexity', { skip: torchMissing() }, () => {
  let dir = '';
  let expected: Record<string, { perplexity: number; nll: number; tokens: number }> = {};
  const cases: Case[] = [];
  before(() => {
    dir = tempDir('rnnlm-import-torch-');
    const at = (f: string): string => join(dir, f);
    writeFileSync(at('train.txt'), TRAIN);
    writeFileSync(at('valid.txt'), `${makeText(22, 25)}a zebra sees the dog\n`); // "zebra": not in train
    writeFileSync(at('test.txt'), `${makeText(23, 25)}the yak runs\n`);
    const trainOnly = [at('train.txt')];
    const all = [at('train.txt'), at('valid.txt'), at('test.txt')];
    cases.push(
      { name: 'lstm-2x14-untied', rnn_type: 'LSTM', layers: 2, emsize: 10, nhid: 14, tied: false, save: 'state_dict', dictionary: trainOnly, flags: ['--train', 'train.txt'] },
      { name: 'gru-12-tied-save_model', rnn_type: 'GRU', layers: 1, emsize: 12, nhid: 12, tied: true, save: 'decoder_only', dictionary: trainOnly, flags: ['--train', 'train.txt'] },
      { name: 'tanh-2x12-tied-both-f64', rnn_type: 'RNN_TANH', layers: 2, emsize: 12, nhid: 12, tied: true, save: 'both', dtype: 'F64', dictionary: trainOnly, lr: 0.5, flags: ['--train', 'train.txt'] },
      { name: 'relu-10-untied', rnn_type: 'RNN_RELU', layers: 1, emsize: 8, nhid: 10, tied: false, save: 'state_dict', dictionary: trainOnly, lr: 0.5, flags: ['--train', 'train.txt', '--cell', 'relu'] },
      { name: 'lstm-12-tied-corpus', rnn_type: 'LSTM', layers: 1, emsize: 12, nhid: 12, tied: true, save: 'encoder_only', dictionary: all, flags: ['--train', 'train.txt', '--valid', 'valid.txt', '--test', 'test.txt'] },
      { name: 'gru-2x9-vocab-file', rnn_type: 'GRU', layers: 2, emsize: 7, nhid: 9, tied: false, save: 'state_dict', dictionary: all, vocab_out: at('vocab.txt'), flags: ['--vocab', 'vocab.txt', '--train', 'train.txt'] },
    );
    const spec = cases.map((c) => ({ ...c, flags: undefined, train: at('train.txt'), eval: at('valid.txt'), out: at(`${c.name}.pt.safetensors`), steps: 60, lr: c.lr ?? 2, seed: 7 }));
    writeFileSync(at('spec.json'), JSON.stringify(spec));
    const r = spawnSync(PYTHON, [join(ROOT, 'python', 'tests', 'torch_example.py'), at('spec.json')], {
      encoding: 'utf8', timeout: 120_000, env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' },
    });
    assert.equal(r.status, 0, `torch_example.py failed:\n${r.stderr}`);
    expected = JSON.parse(r.stdout);
  });
  after(() => rmTemp(dir));

  for (const name of ['lstm-2x14-untied', 'gru-12-tied-save_model', 'tanh-2x12-tied-both-f64', 'relu-10-untied', 'lstm-12-tied-corpus', 'gru-2x9-vocab-file']) {
    test(`${name}: rnnlm eval of the import = PyTorch's single-stream perplexity (1e-5)`, () => {
      const c = cases.find((x) => x.name === name)!;
      assertOk(runCli(['import', `${name}.pt.safetensors`, '--save', `${name}.safetensors`, ...c.flags], dir));
      const r = runCli(['eval', '--model', `${name}.safetensors`, '--text', 'valid.txt', '--json', '--threads', '1'], dir);
      assertOk(r);
      const got = JSON.parse(r.stdout) as { perplexity: number; tokens: number; nll: number };
      const want = expected[name]!;
      assert.equal(got.tokens, want.tokens);
      const rel = Math.abs(got.perplexity - want.perplexity) / want.perplexity;
      assert.ok(rel <= 1e-5, `${name}: rnnlm ${got.perplexity} vs PyTorch ${want.perplexity} (relative ${rel.toExponential(2)})`);
      // Trained, not a uniform model: the comparison means something.
      assert.ok(want.perplexity < 0.9 * Vocab.build(TRAIN, 'word').size, `${name}: PyTorch perplexity ${want.perplexity}`);
    });
  }
});
