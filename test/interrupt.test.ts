// Ctrl-C during `rnnlm train`: the step in progress finishes, a resumable state is written, the
// process exits 130, and `--resume` continues the run to the end.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, assertOk, rmTemp, runCli, tempDir } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('SIGINT writes a resumable state and exits 130; --resume finishes the run', async () => {
  const dir = tempDir();
  try {
    const args = ['train', '--save', 'm.safetensors', '--epochs', '3', '--embed', '8', '--hidden', '8', '--batch', '2', '--bptt', '5', '--backend', 'ref', '--log', 'log.jsonl'];
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Wait until training is under way (the metrics log has a step line), then interrupt.
    const logPath = join(dir, 'log.jsonl');
    for (let i = 0; i < 200 && !(existsSync(logPath) && readFileSync(logPath, 'utf8').includes('"step"')); i++) await sleep(50);
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /resumable state/);
    assert.ok(existsSync(join(dir, 'm.safetensors.state')), 'state file written');
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    const resumed = runCli([...args.filter((a) => a !== '--log' && a !== 'log.jsonl'), '--resume', '--json'], dir);
    assertOk(resumed);
    const out = JSON.parse(resumed.stdout) as { epochs: number; interrupted: boolean };
    assert.equal(out.epochs, 3);
    assert.equal(out.interrupted, false);
    assert.ok(existsSync(join(dir, 'm.safetensors')));
  } finally {
    rmTemp(dir);
  }
});
