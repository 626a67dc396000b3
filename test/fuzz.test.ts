// A seeded checkpoint fuzzer: a few thousand mutants of real checkpoints and training states
// (bit flips, truncations, and header edits of shapes, offsets, dtypes, config fields, the
// vocabulary, the class map and the state's fields). Every mutant must either load (and then run
// a forward pass) or be refused with an RnnlmError; nothing else may escape (a RangeError from an
// allocation, a TypeError from a missing field), and memory must stay bounded.
// Runs in a few seconds on the reference backend; FUZZ_MUTANTS=n runs more.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RnnlmError } from '../src/errors.js';
import { DEFAULT_TRAIN } from '../src/train/trainer.js';
import { RefKernels } from '../src/kernels/ref.js';
import { assignClasses } from '../src/data/classes.js';
import { Vocab } from '../src/data/vocab.js';
import { makeConfig, type ModelConfig } from '../src/nn/config.js';
import { RnnLM } from '../src/nn/model.js';
import { Rng } from '../src/rng.js';
import { decodeModel, encodeModel } from '../src/io/checkpoint.js';
import { decodeTrainState, encodeTrainState } from '../src/io/train-state.js';

const k = new RefKernels();
const MUTANTS_PER_SEED = Number(process.env.FUZZ_MUTANTS ?? 600);

// ---- the seeds: real checkpoints of every kind ----------------------------------------------------

interface Seed {
  name: string;
  bytes: Uint8Array;
  decode: (b: Uint8Array) => RnnLM;
}

function seeds(): Seed[] {
  const words = ['<eos>', '<unk>', 'the', 'a', 'dog', 'cat', 'runs', 'sees', 'big', 'red'];
  const chars = ['\n', '<unk>', 'a', 'b', 'c', ' ', 'é', '😀'];
  const model = (c: Partial<ModelConfig> & { vocabSize: number }, classes = false): RnnLM => {
    const config = makeConfig({ embed: 4, hidden: 4, ...c });
    const wordClasses = classes ? assignClasses(Array.from({ length: c.vocabSize }, (_, i) => 10 - (i % 7)), config.classes) : undefined;
    const m = new RnnLM(config, k, { wordClasses });
    m.init(new Rng(7));
    return m;
  };
  const loadModel = (b: Uint8Array): RnnLM => decodeModel(b, k, 'fuzzed').model;
  const loadState = (b: Uint8Array): RnnLM => decodeTrainState(b, k, 'fuzzed').model;
  const wv = new Vocab(words, 'word');
  const out: Seed[] = [
    { name: 'sigmoid', bytes: encodeModel(model({ vocabSize: 10 }), wv), decode: loadModel },
    { name: 'lstm 2 layers, tied, dropout', bytes: encodeModel(model({ vocabSize: 10, cell: 'lstm', layers: 2, tied: true, dropout: 0.2, forgetBias: 1 }), wv), decode: loadModel },
    { name: 'gru, classes', bytes: encodeModel(model({ vocabSize: 10, cell: 'gru', classes: 3 }, true), wv), decode: loadModel },
    { name: 'char level', bytes: encodeModel(model({ vocabSize: 8, level: 'char', cell: 'tanh' }), new Vocab(chars, 'char')), decode: loadModel },
  ];
  const m = model({ vocabSize: 10, cell: 'lstm', classes: 2 }, true);
  const adam = new Map([['m', new Float32Array(m.params.length).fill(0.01)], ['v', new Float32Array(m.params.length).fill(0.02)]]);
  const state = encodeTrainState(m, wv, {
    epoch: 1, segment: 3, step: 20, lr: 0.002, bestValid: 2.5, sinceBest: 0, rng: [1, 2, 3, 4], epochNll: 12, epochTokens: 40,
    history: [{ epoch: 1, trainPerplexity: 9, validPerplexity: 8, lr: 0.002, seconds: 1, tokensPerSec: 100 }], seconds: 2, tokens: 80,
    dataHash: '80:abc', options: { ...DEFAULT_TRAIN, batch: 3, optimizer: 'adam', lr: 0.002 }, hidden: new Float32Array(m.newState(3).length),
    optimizerT: 20, optimizerState: adam,
  }, { vocab_options: '{"maxVocab":0,"minCount":1}' });
  out.push({ name: 'training state (lstm, classes, adam)', bytes: state, decode: loadState });
  return out;
}

// ---- mutations ----------------------------------------------------------------------------------------

/** A file's parts: the header as a JSON value and the raw data section. */
function split(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

/** A file from a header (re-encoded, padded) and a data section, consistent or not. */
function join(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + data.length).fill(0x20, 8, 8 + n);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.set(data, 8 + n);
  return out;
}

const WEIRD: unknown[] = [0, 1, -1, 2, 3, 65536, 2 ** 31, 2 ** 53, 1e300, 0.5, -0.5, NaN, null, true, 'x', '', [], {}, [1], 'lstm', 'char', 16];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

/** Edit one field of an object at random (a WEIRD value, or delete it). */
function editField(rng: Rng, o: Record<string, unknown>): string {
  const keys = Object.keys(o);
  const key = keys.length > 0 && rng.next() < 0.9 ? pick(rng, keys) : pick(rng, ['hidden', 'layers', 'extra', 'epoch']);
  if (rng.next() < 0.1) {
    delete o[key];
    return `delete ${key}`;
  }
  const v = pick(rng, WEIRD);
  o[key] = v;
  return `${key} = ${JSON.stringify(v)}`;
}

/** Apply one JSON-level edit to the header; returns its description. */
function editHeader(rng: Rng, header: Record<string, unknown>): string {
  const meta = header.__metadata__ as Record<string, string>;
  const tensors = Object.keys(header).filter((n) => n !== '__metadata__');
  const t = header[pick(rng, tensors)] as Record<string, unknown>;
  switch (rng.int(9)) {
    case 0: { // a shape dimension
      const shape = t.shape as unknown[];
      const r = rng.next();
      if (r < 0.2) shape.push(pick(rng, [1, 2, 0]));
      else if (r < 0.3) shape.pop();
      else shape[rng.int(Math.max(1, shape.length))] = pick(rng, [...WEIRD, (shape[0] as number) + 1, (shape[0] as number) - 1]);
      return `shape ${JSON.stringify(shape)}`;
    }
    case 1: { // offsets
      const off = t.data_offsets as number[];
      const i = rng.int(2);
      off[i] = pick(rng, [off[i] + 4, off[i] - 4, 0, 2 ** 40, -8, off[1 - i]]);
      return `data_offsets ${JSON.stringify(off)}`;
    }
    case 2:
      t.dtype = pick(rng, ['F16', 'F64', 'I32', 'U8', 'BF16', 'BOOL', 3, null]);
      return `dtype ${String(t.dtype)}`;
    case 3: { // config
      const c = JSON.parse(meta.config);
      const d = editField(rng, c);
      meta.config = JSON.stringify(c);
      return `config ${d}`;
    }
    case 4: { // vocabulary
      const v = JSON.parse(meta.vocab) as unknown[];
      const r = rng.next();
      if (r < 0.3) v[rng.int(v.length)] = pick(rng, ['', ' ', 'a b', 'ab', '<eos>', '<unk>', 7, null, v[2]]);
      else if (r < 0.5) v.pop();
      else if (r < 0.7) v.push(pick(rng, ['new', 'a', '', 'é']));
      else meta.vocab = pick(rng, ['[', '{}', '"x"', 'null', '[1,2]']);
      if (r < 0.7) meta.vocab = JSON.stringify(v);
      return `vocab ${meta.vocab.slice(0, 60)}`;
    }
    case 5: { // class map
      if (meta.classes === undefined || rng.next() < 0.2) meta.classes = pick(rng, ['[0,1]', '[]', 'x', '[0,0,0,0,0,0,0,0,0,0]']);
      else {
        const cls = JSON.parse(meta.classes) as unknown[];
        cls[rng.int(cls.length)] = pick(rng, [-1, 99, 0.5, null, 'a', 2 ** 31]);
        meta.classes = JSON.stringify(cls);
      }
      return `classes ${meta.classes.slice(0, 60)}`;
    }
    case 6: { // the training state's fields (and its options)
      if (meta.state === undefined) {
        meta.format = pick(rng, ['rnnlm', 'other', '']);
        meta.kind = 'rnnlm-train-state';
        return `format ${meta.format}, kind = state`;
      }
      const s = JSON.parse(meta.state);
      const d = rng.next() < 0.5 ? editField(rng, s) : `options ${editField(rng, s.options ?? {})}`;
      meta.state = rng.next() < 0.05 ? '{' : JSON.stringify(s);
      return `state ${d}`;
    }
    case 7: { // tensors: drop, rename, duplicate under a new name
      const name = pick(rng, tensors);
      const r = rng.next();
      if (r < 0.4) delete header[name];
      else if (r < 0.7) {
        header[`${name}.x`] = header[name];
        delete header[name];
      } else header[pick(rng, ['decoder.weight', 'extra', 'optimizer.m', 'hidden'])] = { ...(header[name] as object) };
      return `tensor ${name} (${r.toFixed(2)})`;
    }
    default: // metadata entries
      return `metadata ${editField(rng, meta as unknown as Record<string, unknown>)}`;
  }
}

/** One mutant of `bytes`, and what was done. */
function mutate(rng: Rng, bytes: Uint8Array): { bytes: Uint8Array; what: string } {
  const r = rng.next();
  if (r < 0.3) { // bit flips, half of them in the header
    const b = bytes.slice();
    const n = 1 + rng.int(8);
    const headerEnd = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    for (let i = 0; i < n; i++) {
      const at = rng.next() < 0.5 ? rng.int(headerEnd) : rng.int(b.length);
      b[at] ^= 1 << rng.int(8);
    }
    return { bytes: b, what: `${n} bit flips` };
  }
  if (r < 0.4) {
    const len = rng.int(bytes.length);
    return { bytes: bytes.slice(0, len), what: `truncated to ${len}` };
  }
  const { header, data } = split(bytes);
  const edits: string[] = [];
  for (let i = 0, n = 1 + rng.int(2); i < n; i++) {
    try {
      edits.push(editHeader(rng, header));
    } catch {
      edits.push('(an edit that an earlier one made impossible)'); // e.g. a field already deleted
    }
  }
  return { bytes: join(header, data), what: edits.join('; ') };
}

test(`fuzz: ${MUTANTS_PER_SEED} mutants of each real checkpoint load or fail with an RnnlmError, in bounded memory`, () => {
  const rng = new Rng(20261201);
  const escaped: string[] = [];
  let loaded = 0;
  let refused = 0;
  const x = Int32Array.from({ length: 6 }, (_, i) => i % 2);
  const rssBefore = process.memoryUsage().rss;
  for (const seed of seeds()) {
    assert.doesNotThrow(() => seed.decode(seed.bytes), `${seed.name}: the seed itself must load`);
    for (let i = 0; i < MUTANTS_PER_SEED; i++) {
      const m = mutate(rng, seed.bytes);
      try {
        const model = seed.decode(m.bytes);
        model.forward(x, 3, 2, model.newState(2)); // a loaded model must also run
        loaded++;
      } catch (e) {
        if (e instanceof RnnlmError && !e.message.includes('\n')) refused++;
        else if (escaped.length < 20) escaped.push(`${seed.name} #${i} (${m.what}): ${(e as Error).name}: ${(e as Error).message.slice(0, 200)}`);
        else escaped.push('…');
      }
    }
  }
  const grewMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  assert.deepEqual(escaped, [], `mutants that escaped as something other than a one-line RnnlmError:\n${escaped.join('\n')}`);
  assert.ok(refused > loaded, `most mutants must be refused (refused ${refused}, loaded ${loaded})`);
  assert.ok(grewMb < 150, `RSS grew by ${grewMb.toFixed(0)} MB over the fuzz run`);
});
