// End-to-end tests of the `rnnlm` command (dist/src/cli/main.js), spawned as a child process in
// a fresh temp dir: train / eval / generate / score / gradcheck on a tiny model (embed = hidden
// = 8, one epoch on the built-in corpus, reference backend), then bad input of every kind, each
// of which must fail with a non-zero exit, a one-line `error:` message naming the problem, and
// no stack trace; and a diverging run, which must exit 3 and leave the best checkpoint alone.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CELLS } from '../src/nn/config.js';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinText } from '../src/data/builtin/index.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../src/io/safetensors.js';
import { assertCleanFailure, assertOk, showRun, rmTemp, runCli, tempDir, type CliResult } from './helpers.js';

const TINY = ['--embed', '8', '--hidden', '8', '--backend', 'ref'];

let dir = '';
let model = ''; // the checkpoint trained in before(): one epoch on builtin:train
let trained: CliResult;

before(() => {
  dir = tempDir('rnnlm-cli-');
  model = join(dir, 'm.safetensors');
  trained = runCli(['train', '--save', 'm.safetensors', '--epochs', '1', ...TINY, '--json'], dir);
});

after(() => rmTemp(dir));

/** Parse stdout that must be exactly one JSON object on one line. */
function oneJson(r: CliResult): Record<string, unknown> {
  assertOk(r);
  const lines = r.stdout.split('\n');
  assert.equal(lines.length, 2, `stdout must be one line + newline\n${showRun(r)}`);
  assert.equal(lines[1], '');
  const o: unknown = JSON.parse(lines[0]!);
  assert.ok(typeof o === 'object' && o !== null && !Array.isArray(o), `not a JSON object: ${lines[0]}`);
  return o as Record<string, unknown>;
}

function num(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  assert.equal(typeof v, 'number', `${key} is ${JSON.stringify(v)}`);
  return v as number;
}

const relClose = (a: number, b: number, tol: number, what: string): void => {
  assert.ok(Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b)), `${what}: ${a} vs ${b} (relative tolerance ${tol})`);
};

/** A copy of the trained checkpoint (and its state) in a fresh dir, for tests that write. */
function copyOfModel(): { d: string; m: string } {
  const d = tempDir('rnnlm-cli-copy-');
  const m = join(d, 'm.safetensors');
  copyFileSync(model, m);
  copyFileSync(`${model}.state`, `${m}.state`);
  return { d, m };
}

// --- the happy path --------------------------------------------------------------------------

test('train --json: exit 0, one JSON object with the figures, model and state written', () => {
  const o = oneJson(trained);
  for (const k of ['tokens_per_s', 'seconds', 'epochs', 'train_perplexity', 'valid_perplexity']) {
    const v = num(o, k);
    assert.ok(Number.isFinite(v) && v > 0, `${k} = ${v}`);
  }
  assert.equal(o.epochs, 1);
  assert.equal(o.interrupted, false);
  // One epoch of a tiny model is far from the source floor but far below the uniform |V|.
  assert.ok((o.valid_perplexity as number) < (o.vocab_size as number), `valid ppl ${o.valid_perplexity} vs V ${o.vocab_size}`);
  assert.ok(existsSync(model), 'm.safetensors missing');
  assert.ok(existsSync(`${model}.state`), 'm.safetensors.state missing');
});

test('eval --json: exact figures on builtin:test, tokens = words + lines; plain output too', () => {
  const o = oneJson(runCli(['eval', '--model', 'm.safetensors', '--text', 'builtin:test', '--json', '--backend', 'ref'], dir));
  for (const k of ['perplexity', 'tokens', 'nll', 'unk_rate']) num(o, k);
  assert.ok('source_perplexity' in o, 'source_perplexity missing');
  assert.equal(typeof o.source_perplexity, 'number');
  const text = builtinText('test');
  const words = text.split(/\s+/).filter((w) => w !== '').length;
  const lines = text.split('\n').filter((l, i, a) => !(i === a.length - 1 && l === '')).length;
  assert.equal(o.tokens, words + lines);
  relClose(o.perplexity as number, Math.exp((o.nll as number) / (o.tokens as number)), 1e-12, 'perplexity vs exp(nll/tokens)');
  assert.equal(o.unk_rate, 0, 'builtin test uses only training words');
  // The model cannot beat the generating source on its own text.
  assert.ok((o.perplexity as number) > (o.source_perplexity as number));

  const plain = runCli(['eval', '--model', 'm.safetensors', '--text', 'builtin:test', '--backend', 'ref'], dir);
  assertOk(plain);
  assert.match(plain.stdout, /perplexity/);
  assert.match(plain.stdout, new RegExp(`perplexity\\s+${(o.perplexity as number).toFixed(3)}`));
});

test('generate: same seed same text, other seed other text, top-k 1 ignores the seed', () => {
  const gen = (...extra: string[]): string => {
    const r = runCli(['generate', '--model', 'm.safetensors', '--length', '30', '--backend', 'ref', ...extra], dir);
    assertOk(r);
    return r.stdout;
  };
  const a = gen('--seed', '7');
  const b = gen('--seed', '7');
  const c = gen('--seed', '8');
  assert.ok(a.trim().length > 0, 'no text generated');
  assert.equal(a, b);
  assert.notEqual(a, c);
  const g1 = gen('--top-k', '1', '--seed', '7');
  const g2 = gen('--top-k', '1', '--seed', '12345');
  assert.equal(g1, g2, 'greedy decoding must not depend on the seed');
});

test('score: one line per input line; each line scored on its own; equals -nll of eval', () => {
  const d = tempDir('rnnlm-score-');
  try {
    const sentences = ['the dog sleeps', 'a child saw the house and the dog', 'the cities often sing'];
    const multi = join(d, 'multi.txt');
    writeFileSync(multi, `${sentences.join('\n')}\n`);
    const plain = runCli(['score', '--model', model, '--text', multi, '--backend', 'ref'], d);
    assertOk(plain);
    const rows = plain.stdout.trimEnd().split('\n');
    assert.equal(rows.length, sentences.length, showRun(plain));
    rows.forEach((row, i) => {
      const f = row.split('\t');
      assert.equal(f.length, 3, `row ${i}: ${JSON.stringify(row)}`);
      const [ln, log10, tokens] = f.map(Number) as [number, number, number];
      assert.ok(Number.isFinite(ln) && ln < 0, `row ${i} ln prob ${f[0]}`);
      assert.ok(Math.abs(log10 - ln / Math.LN10) < 1e-3, `row ${i}: log10 ${log10} vs ln ${ln}`);
      assert.equal(tokens, sentences[i]!.split(' ').length + 1, `row ${i}: tokens = words + <eos>`);
    });
    const multiJson = oneJson(runCli(['score', '--model', model, '--text', multi, '--json', '--backend', 'ref'], d));
    const lnProbs = (multiJson.lines as Array<{ ln_prob: number }>).map((l) => l.ln_prob);
    relClose(multiJson.total_ln_prob as number, lnProbs.reduce((s, x) => s + x, 0), 1e-12, 'total_ln_prob');
    lnProbs.forEach((lp, i) => assert.equal(Number(rows[i]!.split('\t')[0]), Number(lp.toFixed(4)), `row ${i} plain vs json`));

    // The second line alone: its score must not depend on the lines around it, its 1-line file's
    // total is that score, and it is -nll of eval on the same 1-line file (eval predicts the same
    // tokens: the line's words and <eos>, after the boundary token).
    const one = join(d, 'one.txt');
    writeFileSync(one, `${sentences[1]}\n`);
    const s1 = oneJson(runCli(['score', '--model', model, '--text', one, '--json', '--backend', 'ref'], d));
    const s1Lines = s1.lines as Array<{ ln_prob: number; tokens: number }>;
    assert.equal(s1Lines.length, 1);
    assert.equal(s1.total_ln_prob, s1Lines[0]!.ln_prob);
    relClose(s1Lines[0]!.ln_prob, lnProbs[1]!, 1e-12, 'line scored alone vs within a file');
    const ev = oneJson(runCli(['eval', '--model', model, '--text', one, '--json', '--backend', 'ref'], d));
    assert.equal(ev.tokens, s1Lines[0]!.tokens);
    relClose(s1Lines[0]!.ln_prob, -(ev.nll as number), 1e-6, 'score vs -nll of eval');
  } finally {
    rmTemp(d);
  }
});

test('gradcheck --json: passes for every cell', () => {
  const o = oneJson(runCli(['gradcheck', '--json'], dir));
  assert.equal(o.pass, true);
  const worst = num(o, 'max_rel_error');
  assert.ok(worst <= 1e-6, `max_rel_error ${worst}`);
  const results = o.results as Array<{ cell: string; maxRelError: number; tensors: unknown[] }>;
  assert.deepEqual(results.map((r) => r.cell).sort(), [...CELLS].sort());
  for (const r of results) {
    assert.ok(r.maxRelError <= 1e-6, `${r.cell}: ${r.maxRelError}`);
    assert.ok(r.tensors.length >= 7, `${r.cell}: only ${r.tensors.length} tensors checked`);
  }
});

// --- bad input -------------------------------------------------------------------------------

test('bad training text: missing, empty, binary, whitespace-only', () => {
  const d = tempDir('rnnlm-badtext-');
  try {
    writeFileSync(join(d, 'empty.txt'), '');
    writeFileSync(join(d, 'binary.txt'), Buffer.from([0x61, 0x62, 0x00, 0x63, 0x0a]));
    writeFileSync(join(d, 'blank.txt'), '  \n\t\n\n   ');
    const cases: Array<[string, RegExp[]]> = [
      ['missing.txt', [/missing\.txt/, /no such file/]],
      ['empty.txt', [/empty\.txt/, /is empty/]],
      ['binary.txt', [/binary\.txt/, /binary/, /NUL byte/]],
      ['blank.txt', [/blank\.txt/, /only whitespace/]],
    ];
    for (const [file, patterns] of cases) {
      const r = runCli(['train', '--train', file, '--save', 'x.safetensors', '--epochs', '1', ...TINY], d);
      assertCleanFailure(r, patterns, { exitCode: 2 });
      assert.ok(!existsSync(join(d, 'x.safetensors')), `${file}: a model was written`);
    }
  } finally {
    rmTemp(d);
  }
});

test('eval with a missing model file', () => {
  const r = runCli(['eval', '--model', 'nope.safetensors', '--text', 'builtin:test', '--backend', 'ref'], dir);
  assertCleanFailure(r, [/nope\.safetensors/, /no such file/], { exitCode: 2 });
});

test('corrupt checkpoints: truncated, bad header JSON, oversized header, vocab/config mismatch, wrong shape', () => {
  const d = tempDir('rnnlm-badckpt-');
  try {
    const good = new Uint8Array(readFileSync(model));
    const { tensors, metadata } = decodeSafetensors(good);
    const V = (JSON.parse(metadata.config!) as { vocab_size: number }).vocab_size;
    const entries = (): Array<[string, Tensor]> => [...tensors.entries()];

    const truncated = good.slice(0, 100);

    const badJson = good.slice(); // same length, header text broken in the middle
    const headerLen = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
    badJson.set(new TextEncoder().encode('{"__metadata__": {"format": oops'), 8);
    assert.ok(headerLen > 40);

    const oversized = new Uint8Array(64);
    new DataView(oversized.buffer).setBigUint64(0, 1n << 40n, true);
    oversized.fill(0x41, 8); // junk

    const vocab = JSON.parse(metadata.vocab!) as string[];
    const shortVocab = encodeSafetensors(entries(), { ...metadata, vocab: JSON.stringify(vocab.slice(0, -1)) });

    const wrongShape = encodeSafetensors(
      entries().map(([n, t]): [string, Tensor] => (n === 'decoder.bias' ? [n, { dtype: 'F32', shape: [V + 1], data: new Float32Array(V + 1) }] : [n, t])),
      metadata,
    );

    const cases: Array<[string, Uint8Array, RegExp[]]> = [
      ['truncated.safetensors', truncated, [/truncated/]],
      ['badjson.safetensors', badJson, [/header is not valid JSON/]],
      ['oversized.safetensors', oversized, [/oversized header/, /1099511627776/]],
      ['shortvocab.safetensors', shortVocab, [new RegExp(`vocabulary lists ${V - 1} tokens but config says vocab_size ${V}`)]],
      ['wrongshape.safetensors', wrongShape, [new RegExp(`decoder\\.bias has shape \\[${V + 1}\\], config needs \\[${V}\\]`)]],
    ];
    for (const [name, bytes, patterns] of cases) {
      writeFileSync(join(d, name), bytes);
      const r = runCli(['eval', '--model', name, '--text', 'builtin:test', '--backend', 'ref'], d);
      assertCleanFailure(r, [new RegExp(name.replace('.', '\\.')), ...patterns], { exitCode: 2 });
      assert.equal(r.stdout, '', `${name}: output despite the error`);
    }
  } finally {
    rmTemp(d);
  }
});

test('invalid flags are refused, naming the option', () => {
  const cases: Array<[string[], RegExp[]]> = [
    [['--hidden', '0'], [/--hidden/, /"0"/]],
    [['--lr', '-1'], [/--lr/, /"-1"/]],
    [['--lr', 'abc'], [/--lr/, /"abc"/]],
    [['--cell', 'foo'], [/--cell/, /foo/, /sigmoid, tanh, relu/]],
    [['--batch', '1.5'], [/--batch/, /"1\.5"/]],
  ];
  for (const [flags, patterns] of cases) {
    const r = runCli(['train', '--save', 'never.safetensors', '--backend', 'ref', ...flags], dir);
    assertCleanFailure(r, patterns, { exitCode: 1 });
    assert.ok(!existsSync(join(dir, 'never.safetensors')));
  }
});

test('train --resume without a state file', () => {
  const d = tempDir('rnnlm-resume-');
  try {
    const r = runCli(['train', '--save', 'fresh.safetensors', '--resume', '--epochs', '1', ...TINY], d);
    assertCleanFailure(r, [/nothing to resume/, /fresh\.safetensors\.state/], { exitCode: 2 });
  } finally {
    rmTemp(d);
  }
});

test('train --resume on a different training text is refused and leaves the state alone', () => {
  const { d, m } = copyOfModel();
  try {
    const state = readFileSync(`${m}.state`);
    const r = runCli(['train', '--train', 'builtin:valid', '--valid', 'builtin:test', '--save', 'm.safetensors', '--resume', '--epochs', '2', ...TINY], d);
    assertCleanFailure(r, [/training text differs/], { exitCode: 2 });
    assert.ok(readFileSync(`${m}.state`).equals(state), 'state file changed');
  } finally {
    rmTemp(d);
  }
});

// The checkpoint from before() was trained with the default seed 1; resuming the finished run
// must succeed (nothing left to do) and keep the model. It used to die with a RangeError and a
// stack trace (the RNG-state bug, fixed; see checkpoint.test.ts).
test('train --resume of a finished run (default seed) exits 0 and keeps the model', () => {
  const { d, m } = copyOfModel();
  try {
    const before = readFileSync(m);
    const r = runCli(['train', '--save', 'm.safetensors', '--resume', '--epochs', '1', ...TINY], d);
    assertOk(r);
    assert.doesNotMatch(r.stderr, /^\s+at /m, showRun(r));
    assert.ok(readFileSync(m).equals(before), 'best checkpoint changed although no epoch ran');
  } finally {
    rmTemp(d);
  }
});

// --- divergence ------------------------------------------------------------------------------

// With --lr 1e30 and no clipping a relu cell's hidden state overflows float32 on the second
// step, so the loss is NaN. (The default sigmoid cell saturates instead: its loss stays finite
// at ~1e29 nats/token; see the next test.) The best checkpoint from the earlier good epoch, at
// the same --save path, must survive byte for byte, and so must its state: no epoch completed.
test('a diverging run exits 3 naming the step and leaves the best checkpoint untouched', () => {
  const { d, m } = copyOfModel(); // the good epoch, trained with --save m.safetensors
  try {
    const before = readFileSync(m);
    const stateBefore = readFileSync(`${m}.state`);
    const r = runCli(['train', '--save', 'm.safetensors', '--force', '--epochs', '2', '--cell', 'relu', '--lr', '1e30', '--clip', '0', ...TINY], d);
    assertCleanFailure(r, [/diverged/, /step \d+/, /--lr|--clip/], { exitCode: 3, afterProgress: true });
    const step = Number(/step (\d+)/.exec(r.stderr)![1]);
    assert.ok(step >= 1 && step <= 65, `step ${step} should lie in the first epoch (65 batches)`);
    assert.ok(readFileSync(m).equals(before), 'best checkpoint changed');
    assert.ok(readFileSync(`${m}.state`).equals(stateBefore), 'state file changed');
  } finally {
    rmTemp(d);
  }
});

// A fixed bug (src/train/trainer.ts): only a NaN / ±Infinity loss counted as divergence. With the
// sigmoid cell, --lr 1e30 --clip 0 drives the loss to ~4e29 nats per token — finite, but the
// perplexity is Infinity — and the run "completed", printed "valid ppl Infinity (best, saved)",
// overwrote the good best checkpoint and exited 0. A loss whose perplexity overflows is now
// divergence too.
test('a run whose perplexity overflows (sigmoid, --lr 1e30) is divergence: exit 3, best checkpoint kept', () => {
  const { d, m } = copyOfModel();
  try {
    const before = readFileSync(m);
    const r = runCli(['train', '--save', 'm.safetensors', '--force', '--epochs', '1', '--lr', '1e30', '--clip', '0', ...TINY], d);
    assertCleanFailure(r, [/diverged/, /step \d+/], { exitCode: 3, afterProgress: true });
    assert.ok(readFileSync(m).equals(before), 'best checkpoint overwritten by a model with infinite perplexity');
  } finally {
    rmTemp(d);
  }
});
