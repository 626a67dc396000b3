// Shared helpers for the CLI and checkpoint tests: temp dirs, running the compiled `rnnlm`
// command, small seeded texts, and bit-exact comparison of typed arrays.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/rng.js';
import type { GradcheckResult } from '../src/nn/gradcheck.js';

/** The compiled CLI entry point (dist/src/cli/main.js, seen from dist/test/). */
export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** A fresh directory under os.tmpdir(); remove it with `rmTemp`. */
export function tempDir(prefix = 'rnnlm-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function rmTemp(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `node dist/src/cli/main.js ...args` in `cwd` (with `env`, default this process's) and capture everything. */
export function runCli(args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A description of a CLI result for assertion messages. */
export function showRun(r: CliResult): string {
  return `exit ${r.status}${r.signal ? ` (signal ${r.signal})` : ''}\n--- stdout ---\n${r.stdout.slice(0, 2000)}\n--- stderr ---\n${r.stderr.slice(0, 2000)}`;
}

/** Assert the run succeeded (exit 0). */
export function assertOk(r: CliResult): void {
  assert.equal(r.status, 0, showRun(r));
}

/**
 * Assert a clean failure: non-zero exit (`exitCode` if given), stderr starting with
 * `rnnlm: error:` (library errors) or `error:` (commander's flag errors) — or, with
 * `afterProgress`, containing such a line after training progress lines — mentioning every
 * pattern, and no stack trace.
 */
export function assertCleanFailure(
  r: CliResult, patterns: RegExp[], opts: { exitCode?: number; afterProgress?: boolean } = {},
): void {
  assert.notEqual(r.status, 0, showRun(r));
  assert.equal(r.signal, null, showRun(r));
  if (opts.exitCode !== undefined) assert.equal(r.status, opts.exitCode, showRun(r));
  if (opts.afterProgress) assert.match(r.stderr, /^(rnnlm: )?error: /m, showRun(r));
  else assert.match(r.stderr, /^(rnnlm: )?error: /, showRun(r));
  for (const p of patterns) assert.match(r.stderr, p, showRun(r));
  assert.doesNotMatch(r.stderr, /^\s+at /m, `stack trace on stderr\n${showRun(r)}`);
  assert.doesNotMatch(r.stderr, /^\w*Error\b/m, `uncaught error on stderr\n${showRun(r)}`);
}

const WORDS = [
  'the', 'a', 'dog', 'cat', 'bird', 'sees', 'likes', 'runs', 'sleeps', 'big', 'small', 'red', 'blue', 'and',
  'house', 'tree', 'river', 'walks', 'sings', 'old', 'young', 'man', 'woman', 'child',
];

/**
 * A seeded word-level text of `lines` lines of 2–8 words from a 24-word list, skewed toward
 * the first words so that there is something to learn.
 */
export function makeText(seed: number, lines: number): string {
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const n = 2 + Math.floor(rng.next() * 7);
    const ws: string[] = [];
    for (let j = 0; j < n; j++) {
      const u = rng.next();
      ws.push(WORDS[Math.floor(u * u * WORDS.length)]!);
    }
    out.push(ws.join(' '));
  }
  return `${out.join('\n')}\n`;
}

/** The raw bytes of a typed array, for bit-exact comparison (NaN payloads, -0). */
export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Assert two typed arrays hold the same bits; on failure say where they first differ. */
export function assertBitEqual(a: Float32Array | Float64Array, b: Float32Array | Float64Array, what: string): void {
  assert.equal(a.constructor, b.constructor, `${what}: ${a.constructor.name} vs ${b.constructor.name}`);
  assert.equal(a.length, b.length, `${what}: length ${a.length} vs ${b.length}`);
  if (!bytesOf(a).equals(bytesOf(b))) {
    let i = 0;
    while (i < a.length && Object.is(a[i], b[i])) i++;
    assert.fail(`${what}: first difference at index ${i}: ${a[i]} vs ${b[i]}`);
  }
}

/** Every tensor of a gradient check is non-trivial (some gradient ≠ 0) and within `tol`. */
export function assertGradcheck(r: GradcheckResult, what: string, tol = 1e-6): void {
  for (const t of r.tensors) {
    assert.ok(t.maxGrad > 0, `${what} ${t.name}: gradient is all zeros, the check would be empty`);
    assert.ok(t.maxRelError <= tol, `${what} ${t.name}: max relative error ${t.maxRelError.toExponential(3)} > ${tol}`);
  }
}

/** Each of the first N rows of log-probabilities [N, V] is a distribution: Σ_w exp(row[w]) = 1 within 1e-12. */
export function assertRowsSumToOne(logProbs: ArrayLike<number>, N: number, V: number): void {
  for (let r = 0; r < N; r++) {
    let s = 0;
    for (let w = 0; w < V; w++) s += Math.exp(logProbs[r * V + w]);
    assert.ok(Math.abs(s - 1) < 1e-12, `row ${r}: Σ P = ${s}`);
  }
}
