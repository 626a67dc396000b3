// `npm run recipes`: each preset on PTB and on the corpora of scripts/make-corpora.mjs, under the
// same time budget, then exact test perplexity from `rnnlm eval` — the figures of the README's
// recipe table. Run it alone (the budget is wall time: other processes cut the steps a run gets).
// Usage: node dist/bench/recipes.js [--presets a,b] [--corpora ptb,mix,...] [--minutes M] [--threads N]
//   --minutes: the budget of every run (default: each preset's own `minutes`)
// Writes each run's model and log under runs/recipes/ and prints one table (and JSON lines).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRESETS } from '../src/tasks/presets.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');
const DATA = process.env.RNNLM_DATA ?? join(ROOT, '..', 'shared', 'data');
const CORPORA = join(ROOT, 'runs', 'corpora');

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const presets = (arg('presets') ?? Object.keys(PRESETS).join(',')).split(',');
const corpora = (arg('corpora') ?? 'ptb,shakespeare-words,ptb-paragraphs,mix,wide').split(',');
const minutesArg = arg('minutes');
const threads = arg('threads');

function files(corpus: string): { train: string; valid: string; test: string } {
  const dir = corpus === 'ptb' ? join(DATA, 'ptb') : join(CORPORA, corpus);
  if (!existsSync(join(dir, 'train.txt'))) {
    throw new Error(`no corpus at ${dir}${corpus === 'ptb' ? '' : ': run `node scripts/make-corpora.mjs` first'}`);
  }
  return { train: join(dir, 'train.txt'), valid: join(dir, 'valid.txt'), test: join(dir, 'test.txt') };
}

function run(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [CLI, ...args, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`rnnlm ${args[0]} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

mkdirSync(join(ROOT, 'runs', 'recipes'), { recursive: true });
const rows: string[][] = [['preset', 'corpus', 'minutes', 'epochs', 'train tok/s', 'best valid', 'test']];
for (const preset of presets) {
  for (const corpus of corpora) {
    const f = files(corpus);
    const minutes = Number(minutesArg ?? PRESETS[preset]?.minutes ?? 15);
    const save = join(ROOT, 'runs', 'recipes', `${preset}-${corpus}.safetensors`);
    const t = run([
      'train', '--train', f.train, '--valid', f.valid, '--save', save, '--force', '--preset', preset, '--time-budget', String(minutes),
      '--log', `${save}.log`, ...(threads ? ['--threads', threads] : []),
    ]);
    const e = run(['eval', '--model', save, '--text', f.test, ...(threads ? ['--threads', threads] : [])]);
    const row = {
      preset, corpus, minutes, epochs: t.epochs, train_tokens_per_s: Math.round(t.tokens_per_s as number),
      best_valid: t.best_valid_perplexity, test: e.perplexity, seconds: t.seconds,
    };
    console.log(JSON.stringify(row));
    rows.push([preset, corpus, String(minutes), String(t.epochs), String(row.train_tokens_per_s),
      (row.best_valid as number).toFixed(2), (row.test as number).toFixed(2)]);
  }
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((x, c) => x.padEnd(widths[c])).join('  '));
