#!/usr/bin/env node
// Corpora for checking recipes beyond PTB, derived from ../shared/data into runs/corpora/
// (gitignored; nothing derived is committed). Each has train/valid/test.txt, one sequence per line:
//   shakespeare-words  tiny Shakespeare at word level: lower-cased, punctuation split off,
//                      blank lines dropped; the first 90% of lines train, then 5% valid, 5% test
//                      (~0.2M training tokens, ~11k types, short lines)
//   ptb-paragraphs     PTB's lines joined into paragraphs of at least 60 tokens (each file on
//                      its own; ~1M training tokens, 10k types, long lines)
//   mix                PTB and shakespeare-words lines together, shuffled with a fixed seed,
//                      split 90/5/5 (~1.1M training tokens, ~20k types, two styles)
//   wide               PTB's train and valid lines and tiny Shakespeare as it is (case and
//                      punctuation left on the words), paragraphs of at least 60 tokens, shuffled,
//                      split 90/5/5 (~1.1M training tokens, ~31k types: rare words dominate)
// Usage: node scripts/make-corpora.mjs [DATA=../shared/data] [OUT=runs/corpora]

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DATA = process.argv[2] ?? new URL('../../shared/data', import.meta.url).pathname;
const OUT = process.argv[3] ?? new URL('../runs/corpora', import.meta.url).pathname;

const lines = (text) => text.split('\n').filter((l) => l.trim() !== '');
const tokens = (l) => l.trim().split(/\s+/);

function write(name, splits) {
  const dir = join(OUT, name);
  mkdirSync(dir, { recursive: true });
  const types = new Set();
  const stats = {};
  for (const [split, ls] of Object.entries(splits)) {
    writeFileSync(join(dir, `${split}.txt`), `${ls.join('\n')}\n`);
    let n = 0;
    for (const l of ls) for (const t of tokens(l)) {
      n++;
      if (split === 'train') types.add(t);
    }
    stats[split] = { lines: ls.length, tokens: n + ls.length };
  }
  const t = stats.train;
  console.log(`${name}: train ${t.tokens} tokens in ${t.lines} lines (${(t.tokens / t.lines).toFixed(1)} per line), ${types.size + 1} types; valid ${stats.valid.tokens}, test ${stats.test.tokens} tokens -> ${dir}`);
}

function split3(ls) {
  const a = Math.floor(ls.length * 0.9);
  const b = Math.floor(ls.length * 0.95);
  return { train: ls.slice(0, a), valid: ls.slice(a, b), test: ls.slice(b) };
}

/** Mulberry32: a small seeded generator for the shuffle. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const shakespeare = lines(readFileSync(join(DATA, 'tinyshakespeare', 'input.txt'), 'utf8'))
  .map((l) => l.toLowerCase().replace(/([.,;:!?"()\[\]-])/g, ' $1 ').trim().split(/\s+/).join(' '));
write('shakespeare-words', split3(shakespeare));

const ptb = Object.fromEntries(['train', 'valid', 'test'].map((s) => [s, lines(readFileSync(join(DATA, 'ptb', `${s}.txt`), 'utf8')).map((l) => l.trim())]));
const paragraphs = (ls) => {
  const out = [];
  let cur = [];
  for (const l of ls) {
    cur.push(l);
    if (cur.join(' ').split(' ').length >= 60) {
      out.push(cur.join(' '));
      cur = [];
    }
  }
  if (cur.length) out.push(cur.join(' '));
  return out;
};
write('ptb-paragraphs', { train: paragraphs(ptb.train), valid: paragraphs(ptb.valid), test: paragraphs(ptb.test) });

const all = [...ptb.train, ...ptb.valid, ...ptb.test, ...shakespeare];
const r = rng(20261129);
for (let i = all.length - 1; i > 0; i--) {
  const j = Math.floor(r() * (i + 1));
  [all[i], all[j]] = [all[j], all[i]];
}
write('mix', split3(all));

// wide: PTB's training and validation lines with tiny Shakespeare as it is (case and punctuation
// kept on the words, so its vocabulary is large), joined into paragraphs of at least 60 tokens,
// shuffled, split 90/5/5 (~1.1M training tokens, ~31k types, long lines): a corpus where rare
// words dominate the vocabulary.
const raw = lines(readFileSync(join(DATA, 'tinyshakespeare', 'input.txt'), 'utf8')).map((l) => l.trim().split(/\s+/).join(' '));
const wide = paragraphs([...paragraphs(ptb.train), ...paragraphs(ptb.valid), ...paragraphs(raw)]);
const r2 = rng(7);
for (let i = wide.length - 1; i > 0; i--) {
  const j = Math.floor(r2() * (i + 1));
  [wide[i], wide[j]] = [wide[j], wide[i]];
}
write('wide', split3(wide));
