// Tests for the built-in corpus (src/data/builtin/): the automaton is a proper DPFA, the
// splits are deterministic and well formed, and the probabilities are exact — checked against
// hand-computed values on a toy automaton built with the same builder, by exhaustive
// enumeration, by sampling frequencies, and against Monte Carlo estimates on the real source.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AutomatonBuilder,
  BUILTIN_SEEDS,
  BUILTIN_SPLITS,
  BUILTIN_TARGET_WORDS,
  automatonEntropy,
  builtinAutomaton,
  builtinLineLogProb,
  builtinText,
  builtinWords,
  isBuiltinName,
  lineLogProb,
  parseBuiltinName,
  sampleLine,
  sampleText,
  sourceCrossEntropy,
  type Automaton,
} from '../src/data/builtin/index.js';
import { InputError } from '../src/errors.js';
import { Rng } from '../src/rng.js';

const linesOf = (text: string): string[] => text.split('\n').slice(0, -1);
const wordCount = (text: string): number => text.split(/\s+/).filter((w) => w !== '').length;

test('automaton: every state is a distribution over distinct words plus END', () => {
  const a = builtinAutomaton();
  assert.equal(a.states[a.start]!.endProb, 0, 'the empty sentence must be impossible');
  a.states.forEach((s, i) => {
    let sum = s.endProb;
    assert.ok(s.endProb >= 0 && s.endProb <= 1, `state ${i} endProb ${s.endProb}`);
    assert.equal(new Set(s.edges.map((e) => e.word)).size, s.edges.length, `state ${i} "${s.label}" repeats a word`);
    assert.equal(s.index.size, s.edges.length);
    s.edges.forEach((e, j) => {
      assert.ok(e.prob > 0 && e.prob < 1, `state ${i} edge ${e.word} prob ${e.prob}`);
      assert.ok(Number.isInteger(e.next) && e.next >= 0 && e.next < a.states.length);
      assert.equal(s.index.get(e.word), j);
      sum += e.prob;
      assert.ok(Math.abs(s.cumulative[j]! - (sum - s.endProb)) < 1e-12);
    });
    assert.ok(Math.abs(sum - 1) <= 1e-12, `state ${i} "${s.label}" sums to ${sum}`);
  });
});

test('automaton: every state is reachable from start and can reach END', () => {
  const a = builtinAutomaton();
  const n = a.states.length;
  const seen = new Set([a.start]);
  const queue = [a.start];
  while (queue.length > 0) {
    for (const e of a.states[queue.pop()!]!.edges) if (!seen.has(e.next)) seen.add(e.next), queue.push(e.next);
  }
  assert.equal(seen.size, n, 'unreachable states');
  const preds: number[][] = Array.from({ length: n }, () => []);
  a.states.forEach((s, i) => s.edges.forEach((e) => preds[e.next]!.push(i)));
  const ends = a.states.flatMap((s, i) => (s.endProb > 0 ? [i] : []));
  const canEnd = new Set(ends);
  const back = [...ends];
  while (back.length > 0) for (const p of preds[back.pop()!]!) if (!canEnd.has(p)) canEnd.add(p), back.push(p);
  assert.equal(canEnd.size, n, 'states that cannot reach END');
});

test('vocabulary: a few hundred lower-case words', () => {
  const v = builtinWords();
  assert.ok(v.length >= 300 && v.length <= 600, `vocabulary size ${v.length}`);
  assert.deepEqual(v, [...new Set(v)].sort());
  for (const w of v) assert.match(w, /^[a-z]+$/);
  for (const w of ['the', 'a', 'an', 'dog', 'dogs', 'children', 'sleeps', 'sleep', 'slept', 'that', 'and']) assert.ok(v.includes(w), w);
});

test('texts: deterministic, one sentence per line, stated sizes, independent splits', () => {
  const a = builtinAutomaton();
  const vocab = new Set(builtinWords());
  for (const split of BUILTIN_SPLITS) {
    const t = builtinText(split);
    assert.equal(builtinText(split), t, 'cached text changed');
    assert.equal(sampleText(a, BUILTIN_SEEDS[split], BUILTIN_TARGET_WORDS[split]), t, 'regenerated text differs');
    assert.ok(t.endsWith('\n'));
    const lines = linesOf(t);
    for (const line of lines) {
      assert.match(line, /^[a-z]+( [a-z]+)*$/, `malformed line ${JSON.stringify(line)}`);
      for (const w of line.split(' ')) assert.ok(vocab.has(w), w);
    }
    const words = wordCount(t);
    const target = BUILTIN_TARGET_WORDS[split];
    assert.ok(words >= target && words < target + 100, `${split}: ${words} words for target ${target}`);
    const mean = words / lines.length;
    assert.ok(mean > 5 && mean < 12, `${split}: mean sentence length ${mean}`);
  }
  assert.equal(BUILTIN_TARGET_WORDS.train, 40_000);
  assert.equal(BUILTIN_TARGET_WORDS.valid, 4_000);
  assert.equal(BUILTIN_TARGET_WORDS.test, 4_000);
  const [train, valid, test] = BUILTIN_SPLITS.map((s) => builtinText(s));
  assert.notEqual(linesOf(train!)[0], linesOf(valid!)[0]);
  assert.notEqual(linesOf(valid!)[0], linesOf(test!)[0]);
  assert.notEqual(valid, test);
});

test('generation is fast', () => {
  const a = builtinAutomaton();
  const t0 = performance.now();
  for (const split of BUILTIN_SPLITS) sampleText(a, BUILTIN_SEEDS[split] + 1, BUILTIN_TARGET_WORDS[split]);
  const ms = performance.now() - t0;
  // Typically a few tens of ms; the bound only catches accidental blow-ups on a loaded machine.
  assert.ok(ms < 1000, `sampling all splits took ${ms.toFixed(1)} ms`);
});

test('line log-probs: finite for every generated line, -Infinity for impossible lines', () => {
  for (const split of BUILTIN_SPLITS) {
    for (const line of linesOf(builtinText(split))) {
      const lp = builtinLineLogProb(line);
      assert.ok(Number.isFinite(lp) && lp < 0, `${split}: ${JSON.stringify(line)} -> ${lp}`);
    }
  }
  const ok = builtinLineLogProb('the dog sleeps');
  assert.ok(Number.isFinite(ok));
  assert.equal(builtinLineLogProb('  the dog \t sleeps '), ok, 'whitespace is a separator');
  assert.ok(Number.isFinite(builtinLineLogProb('an apple is red')));
  for (const bad of [
    'the dog xyzzy', // unknown word
    'dog the sleeps', // impossible order
    'the dogs sleeps', // agreement
    'a apple is red', // a/an
    'the dog', // no END after a bare subject
    'the dog sleeps the', // trailing word
    '', // blank line: the empty sentence
    '   ',
  ]) {
    assert.equal(builtinLineLogProb(bad), -Infinity, JSON.stringify(bad));
  }
});

test('sampleLine returns exactly lineLogProb of the line it returns', () => {
  const a = builtinAutomaton();
  const rng = new Rng(99);
  for (let i = 0; i < 2000; i++) {
    const { words, logProb } = sampleLine(a, rng);
    assert.equal(logProb, lineLogProb(a, words));
  }
});

// Toy: ["the"] ("cat" 3/4 | "dog" 1/4) (END 1/4 | "runs" 1/2 | "fast" 1/4), with "runs" reached
// by a word edge and through an epsilon (merged), "the" optional through an epsilon.
function toy(): { a: Automaton; expected: Map<string, number> } {
  const b = new AutomatonBuilder();
  const [s0, s1, s2, s3, s4] = ['s0', 's1', 's2', 's3', 's4'].map((l) => b.state(l)) as [number, number, number, number, number];
  b.word(s0, 'the', 1, s1);
  b.eps(s0, s1, 1);
  b.category(s1, [{ word: 'cat', weight: 3 }, { word: 'dog', weight: 1 }], 1, s2);
  b.end(s2, 1);
  b.word(s2, 'runs', 1, s3);
  b.eps(s2, s4, 2);
  b.word(s4, 'runs', 1, s3);
  b.word(s4, 'fast', 1, s3);
  b.end(s3, 1);
  const expected = new Map<string, number>();
  for (const [the, pThe] of [['the ', 0.5], ['', 0.5]] as const) {
    for (const [noun, pNoun] of [['cat', 0.75], ['dog', 0.25]] as const) {
      for (const [tail, pTail] of [['', 0.25], [' runs', 0.5], [' fast', 0.25]] as const) expected.set(the + noun + tail, pThe * pNoun * pTail);
    }
  }
  return { a: b.compile(s0), expected };
}

/** All sentences of an acyclic automaton with their probabilities (product along the path). */
function enumerate(a: Automaton): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (s: number, words: string[], p: number): void => {
    const st = a.states[s]!;
    if (st.endProb > 0) {
      const key = words.join(' ');
      assert.ok(!out.has(key), `two paths for ${key}`);
      out.set(key, p * st.endProb);
    }
    for (const e of st.edges) walk(e.next, [...words, e.word], p * e.prob);
  };
  walk(a.start, [], 1);
  return out;
}

test('exactness on a toy: compiled probabilities equal hand-computed ones and sum to 1', () => {
  const { a, expected } = toy();
  const got = enumerate(a);
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
  let sum = 0;
  for (const [line, p] of expected) {
    assert.ok(Math.abs(got.get(line)! - p) < 1e-15, `${line}: ${got.get(line)} vs ${p}`);
    assert.ok(Math.abs(lineLogProb(a, line.split(' ')) - Math.log(p)) < 1e-12, line);
    sum += got.get(line)!;
  }
  assert.ok(Math.abs(sum - 1) < 1e-12, `sum ${sum}`);
  assert.equal(lineLogProb(a, ['the']), -Infinity);
  assert.equal(lineLogProb(a, ['cat', 'runs', 'fast']), -Infinity);
  // Entropy and expected length from the linear system equal the enumerated expectations.
  let h = 0;
  let len = 0;
  for (const [line, p] of expected) {
    h -= p * Math.log(p);
    len += p * (line.split(' ').length + 1);
  }
  const ent = automatonEntropy(a);
  assert.ok(Math.abs(ent.nllPerSentence - h) < 1e-12, `${ent.nllPerSentence} vs ${h}`);
  assert.ok(Math.abs(ent.tokensPerSentence - len) < 1e-12, `${ent.tokensPerSentence} vs ${len}`);
});

test('exactness on a toy: sampled frequencies match the probabilities', () => {
  const { a, expected } = toy();
  const rng = new Rng(2024);
  const N = 20_000;
  const counts = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    const key = sampleLine(a, rng).words.join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.deepEqual([...counts.keys()].sort(), [...expected.keys()].sort());
  for (const [line, p] of expected) {
    const c = counts.get(line)!;
    const sd = Math.sqrt(N * p * (1 - p));
    assert.ok(Math.abs(c - N * p) < 5 * sd, `${line}: ${c} samples, expected ${N * p} ± ${sd.toFixed(1)}`);
  }
});

test('automatonEntropy handles cycles: a* with P(a) = 1/2', () => {
  const b = new AutomatonBuilder();
  const s = b.state('loop');
  b.word(s, 'a', 1, s);
  b.end(s, 1);
  const ent = automatonEntropy(b.compile(s));
  // P(a^k) = 2^-(k+1): E[tokens] = E[k] + 1 = 2, E[-ln P] = E[k + 1] ln 2 = 2 ln 2.
  assert.ok(Math.abs(ent.tokensPerSentence - 2) < 1e-12);
  assert.ok(Math.abs(ent.nllPerSentence - 2 * Math.LN2) < 1e-12);
  assert.ok(Math.abs(ent.perplexity - 2) < 1e-12);
});

test('builder refuses non-determinism, epsilon cycles and dead states', () => {
  const b = new AutomatonBuilder();
  const [s0, s1, s2, s3] = ['s0', 's1', 's2', 's3'].map((l) => b.state(l)) as [number, number, number, number];
  b.word(s0, 'a', 1, s1);
  b.eps(s0, s2, 1);
  b.word(s2, 'a', 1, s3);
  b.end(s1, 1);
  b.end(s3, 1);
  assert.throws(() => b.compile(s0), /not deterministic: from state "s0" the word "a"/);

  const c = new AutomatonBuilder();
  const [t0, t1] = ['t0', 't1'].map((l) => c.state(l)) as [number, number];
  c.eps(t0, t1, 1);
  c.eps(t1, t0, 1);
  assert.throws(() => c.compile(t0), /epsilon cycle/);

  const d = new AutomatonBuilder();
  const [u0, u1] = ['u0', 'u1'].map((l) => d.state(l)) as [number, number];
  d.word(u0, 'x', 1, u1);
  assert.throws(() => d.compile(u0), /state 1 "u1" has no edges and no END/);
  assert.throws(() => d.word(u0, 'two words', 1, u1), RangeError);
  assert.throws(() => d.word(u0, 'y', 0, u1), RangeError);
});

test('the real source: Monte Carlo on train agrees with the exact entropy', () => {
  const ent = automatonEntropy(builtinAutomaton());
  const lines = linesOf(builtinText('train'));
  const nll = lines.map((l) => -builtinLineLogProb(l));
  const len = lines.map((l) => l.split(' ').length + 1);
  const check = (xs: number[], exact: number, what: string): void => {
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1);
    const se = Math.sqrt(variance / xs.length);
    assert.ok(Math.abs(mean - exact) < 5 * se, `${what}: sample mean ${mean} vs exact ${exact} (se ${se})`);
  };
  check(nll, ent.nllPerSentence, 'nll per sentence');
  check(len, ent.tokensPerSentence, 'tokens per sentence');
  assert.ok(ent.perplexity > 15 && ent.perplexity < 60, `source perplexity ${ent.perplexity}`);
});

test('sourceCrossEntropy: tokens = words + lines, nll = -Σ line log-probs, sane perplexity', () => {
  const vocabSize = builtinWords().length;
  for (const split of BUILTIN_SPLITS) {
    const t = builtinText(split);
    const lines = linesOf(t);
    const ce = sourceCrossEntropy(t);
    assert.equal(ce.tokens, wordCount(t) + lines.length);
    const nll = -lines.reduce((s, l) => s + builtinLineLogProb(l), 0);
    assert.ok(Math.abs(ce.nll - nll) < 1e-9 * nll);
    assert.ok(Math.abs(ce.perplexity - Math.exp(ce.nll / ce.tokens)) < 1e-12 * ce.perplexity);
    assert.ok(ce.perplexity > 2 && ce.perplexity < vocabSize, `${split}: perplexity ${ce.perplexity}`);
  }
  // A missing final newline changes nothing; a blank line or an impossible line makes it infinite.
  const two = 'the dog sleeps\nhe runs\n';
  assert.deepEqual(sourceCrossEntropy(two.slice(0, -1)), sourceCrossEntropy(two));
  assert.equal(sourceCrossEntropy(two).tokens, 7);
  const blank = sourceCrossEntropy('the dog sleeps\n\nhe runs\n');
  assert.equal(blank.tokens, 8);
  assert.equal(blank.perplexity, Infinity);
  assert.equal(sourceCrossEntropy('dog the\n').nll, Infinity);
  assert.throws(() => sourceCrossEntropy(''), InputError);
});

test('names: builtin:train etc. and nothing else', () => {
  for (const s of BUILTIN_SPLITS) {
    assert.ok(isBuiltinName(`builtin:${s}`));
    assert.equal(parseBuiltinName(`builtin:${s}`), s);
  }
  for (const bad of ['builtin:', 'builtin:foo', 'train', 'builtin:Train', ' builtin:train', 'file:builtin:test']) {
    assert.equal(isBuiltinName(bad), false, bad);
  }
  assert.throws(() => parseBuiltinName('builtin:dev'), (e: unknown) => e instanceof InputError && /builtin:train, builtin:valid, builtin:test/.test(e.message));
  assert.throws(() => builtinText('dev' as never), InputError);
});
