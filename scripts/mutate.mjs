#!/usr/bin/env node
// `npm run mutate [-- NAME...]`: mutation testing of the numeric core with StrykerJS, one file
// (or group) at a time, each against the focused, fast subset of tests that covers it (Stryker's
// command runner: the tests pass = the mutant survived). Not part of `npm test`: it is CPU-heavy
// (one Stryker run per target, one test run per mutant, concurrency 1 so that it can share the
// machine). Reports go to reports/mutation/NAME.json; the summary lists every survivor, marking
// those docs/mutation.md explains as equivalent.
//   npm run mutate                  every target
//   npm run mutate -- sample ref    just these (names from TARGETS below)
//   node scripts/mutate.mjs --summary   the summary of the reports already in reports/mutation/
//   node scripts/mutate.mjs --dry NAME  Stryker's dry run only: the mutant count and one run's time
//   node scripts/mutate.mjs --list      each target's files and test command

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const T = (...files) => files.map((f) => `dist/test/${f}.test.js`).join(' ');
/**
 * The test files in one process (scripts/run-tests.mjs: several times faster than `node --test`,
 * which spawns one per file), only the tests whose names match `pattern` (a RegExp source) where given.
 */
const NT = (files, pattern) => `node${pattern ? ` --test-name-pattern=${JSON.stringify(pattern)}` : ''} scripts/run-tests.mjs ${T(...files)}`;
/** The reference row alone of a conformance suite (no wasm loaded, small sizes). */
const REF_ONLY = 'RNNLM_CONFORMANCE_ONLY=ref';

/**
 * name -> the files mutated and the test command (run by a shell) that must fail for a mutant to
 * count as killed. Each command is the smallest subset of the suite that covers its files: a run
 * costs mutants × the command's time (see docs/mutation.md for the times measured).
 */
export const TARGETS = {
  sample: { mutate: ['src/infer/sample.ts'], tests: NT(['reference']) },
  optimizer: { mutate: ['src/train/optimizer.ts'], tests: NT(['reference']) },
  batches: { mutate: ['src/data/batches.ts'], tests: NT(['vocab'], '^(?!PTB)') },
  // the kernels' references: every kernel against the independent specification (test/kernel-spec.ts)
  ref: { mutate: ['src/kernels/ref.ts'], tests: `${REF_ONLY} ${NT(['kernels.conformance', 'fused.conformance'])}` },
  fused: { mutate: ['src/kernels/ref-fused.ts'], tests: `${REF_ONLY} ${NT(['fused.conformance'])}` },
  parts: { mutate: ['src/nn/arena.ts', 'src/nn/dropout.ts', 'src/nn/embedding.ts', 'src/nn/output.ts'], tests: NT(['arena', 'gradcheck', 'dropout'], '^(?!.*interrupted)') },
  layers: {
    mutate: ['src/nn/elman.ts', 'src/nn/gru.ts', 'src/nn/lstm.ts', 'src/nn/recurrent.ts', 'src/nn/gradcheck.ts'],
    tests: NT(['gradcheck', 'cells', 'outputs', 'bptt-probe', 'model'], '^(model: init draws|gradcheck [a-z]+, |gradcheck (with embed|catches|reports)|layer (init|forward)|lstm (forward|init)|gru forward|state width|config: unknown|evaluation is exact for|checkpoint round trip|a checkpoint whose|folded input|bpttProbe: ∂J)'),
  },
  hsoftmax: { mutate: ['src/nn/hsoftmax.ts'], tests: NT(['hsoftmax']) },
  direct: { mutate: ['src/nn/direct.ts'], tests: NT(['direct']) },
  probe: { mutate: ['src/nn/bptt-probe.ts'], tests: NT(['bptt-probe']) },
  memory: { mutate: ['src/nn/memory.ts'], tests: NT(['memory']) },
  config: { mutate: ['src/nn/config.ts'], tests: NT(['config']) },
  classes: {
    mutate: ['src/nn/classes.ts'],
    tests: NT(['classes', 'outputs'], '^(?!.*(training with|CLI|trainRun|hierarchical))(Mikolov|binning|gradcheck|the class softmax|per-token|the output costs|checkpoint: class|class-factored softmax with max-ent|class order inside)'),
  },
  // one Elman and one gated cell where the cell does not matter to model.ts
  model: {
    mutate: ['src/nn/model.ts'],
    tests: NT(['gradcheck', 'model', 'outputs', 'classes', 'dropout', 'cells', 'bptt-probe'], [
      '^model: ', '^the output costs', '^layer init', '^lstm init', '^checkpoint: hs\\.weight', '^bpttProbe: ∂J.*sigmoid, 2',
      '^gradcheck (sigmoid|lstm), 2 layer.*T=6', '^gradcheck relu: hierarchical', '^gradcheck: max-ent', '^gradcheck relu with a class', 'classes \\+ tied',
      '^gradcheck tanh with (dropout|tied)', 'folded input', 'zero output weights', 'initial loss', 'evaluation is exact:', 'through the model', 'chunk length',
      'row-sparse', 'updated only where touched', 'class order inside', 'is a distribution', 'mixed targets', 'no dropout at evaluation', 'masks come from',
      'off the recurrent', 'tied: one copy',
    ].join('|')),
  },
};

function run(name, dry = false) {
  const t = TARGETS[name];
  if (!t) throw new Error(`unknown target ${name}: choose from ${Object.keys(TARGETS).join(', ')}`);
  const dir = join(ROOT, 'reports', 'mutation');
  mkdirSync(dir, { recursive: true });
  const command = t.tests;
  const config = {
    testRunner: 'command',
    commandRunner: { command },
    // the sandbox compiles the instrumented sources once; the wasm build is copied with the tree
    buildCommand: 'npx tsc -p tsconfig.json',
    mutate: t.mutate,
    concurrency: 1,
    coverageAnalysis: 'off',
    reporters: ['clear-text', 'progress', 'json'],
    jsonReporter: { fileName: join(dir, `${name}.json`) },
    clearTextReporter: { allowColor: false, logTests: false },
    // a sandbox folder of its own, so that two runs never clean up each other's
    tempDirName: `.stryker-tmp/${name}`,
    cleanTempDir: true,
    timeoutFactor: 2,
    ignorePatterns: ['reports', 'runs', '.stryker-tmp', 'test-artifacts', 'native/build/Release/obj.target'],
  };
  const file = join(ROOT, '.stryker-tmp', `config-${name}.json`);
  mkdirSync(join(ROOT, '.stryker-tmp'), { recursive: true });
  writeFileSync(file, JSON.stringify(config, null, 2));
  console.log(`\n=== ${name}: ${t.mutate.join(', ')}\n    tests: ${command}`);
  const started = Date.now();
  const r = spawnSync('npx', ['stryker', 'run', file, ...(dry ? ['--dryRunOnly'] : [])], { cwd: ROOT, stdio: 'inherit' });
  const minutes = (Date.now() - started) / 60000;
  if (r.status !== 0) console.log(`stryker exited ${r.status} for ${name}`);
  console.log(`=== ${name}: ${minutes.toFixed(1)} min${dry ? ' (dry run)' : ''}`);
  if (!dry) {
    // wall time of each target's last run, for docs/mutation.md
    const times = join(dir, 'times.json');
    const all = existsSync(times) ? JSON.parse(readFileSync(times, 'utf8')) : {};
    all[name] = { minutes: Math.round(minutes * 10) / 10, at: new Date().toISOString() };
    writeFileSync(times, JSON.stringify(all, null, 2) + '\n');
  }
  return join(dir, `${name}.json`);
}

/** "file:line:col mutator" of every mutant docs/mutation.md lists as equivalent. */
function equivalents() {
  const doc = join(ROOT, 'docs', 'mutation.md');
  if (!existsSync(doc)) return new Set();
  return new Set([...readFileSync(doc, 'utf8').matchAll(/`(src\/[^`:]+:\d+:\d+) (\w+)`/g)].map((m) => `${m[1]} ${m[2]}`));
}

function summarize(reports) {
  const eq = equivalents();
  let killed = 0;
  let total = 0;
  const open = [];
  const rows = [];
  for (const report of reports) {
    if (!existsSync(report)) continue;
    const { files } = JSON.parse(readFileSync(report, 'utf8'));
    for (const [file, { mutants }] of Object.entries(files)) {
      const c = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, CompileError: 0, RuntimeError: 0 };
      for (const m of mutants) {
        c[m.status] = (c[m.status] ?? 0) + 1;
        if (m.status === 'Survived' || m.status === 'NoCoverage') {
          const key = `${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName}`;
          if (!eq.has(key)) open.push(`${key}: ${m.replacement}`);
        }
      }
      const valid = c.Killed + c.Timeout + c.Survived + c.NoCoverage;
      killed += c.Killed + c.Timeout;
      total += valid;
      rows.push(`${file.padEnd(28)} ${String(valid).padStart(5)} mutants  ${String(c.Killed + c.Timeout).padStart(5)} killed  ${String(c.Survived + c.NoCoverage).padStart(4)} survived  ${(100 * (c.Killed + c.Timeout) / Math.max(valid, 1)).toFixed(1).padStart(5)}%`);
    }
  }
  console.log(`\n${rows.join('\n')}\nall: ${killed} of ${total} mutants killed (${(100 * killed / Math.max(total, 1)).toFixed(1)}%)`);
  console.log(open.length === 0 ? 'every survivor is listed as equivalent in docs/mutation.md' : `survivors not (yet) explained in docs/mutation.md:\n  ${open.join('\n  ')}`);
}

const args = process.argv.slice(2);
if (args[0] === '--summary') {
  // the reports already there, without running anything
  summarize(Object.keys(TARGETS).map((n) => join(ROOT, 'reports', 'mutation', `${n}.json`)));
} else if (args[0] === '--list') {
  // each target's files and test command (run from the repository root after `npm run build:ts` to time it)
  for (const [n, t] of Object.entries(TARGETS)) console.log(`${n}: ${t.mutate.join(' ')}\n  ${t.tests}`);
} else if (args[0] === '--dry') {
  // Stryker's dry run alone (instrument, build, one run of the tests): the mutant count and the time per mutant
  for (const n of args.length > 1 ? args.slice(1) : Object.keys(TARGETS)) run(n, true);
} else {
  summarize((args.length > 0 ? args : Object.keys(TARGETS)).map((n) => run(n)));
}
