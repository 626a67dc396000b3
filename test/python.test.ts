// The Python side (python/: rnnlm_torch, PyTorch + DDP): runs its unittest suite with Debian's
// python3-torch (/usr/bin/python3, or RNNLM_PYTHON) through python/tests/run_json.py, and turns
// every Python test into a subtest here, with its own pass / fail / skip and message — the sigmoid
// cell against a float64 reference, the class softmax and optimizer formulas, vocabulary and class
// map against this package on PTB, checkpoints both ways (`rnnlm eval` of what PyTorch wrote, and
// back), two gloo processes against one. Where torch is missing the whole file reports itself
// skipped with the reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './data-paths.js';

const PYTHON = process.env.RNNLM_PYTHON ?? '/usr/bin/python3';

function torchMissing(): false | string {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} not found (install Debian's python3-torch, or set RNNLM_PYTHON)`;
  return r.status === 0 ? false : `${PYTHON} cannot import torch (apt-get install python3-torch): ${r.stderr.trim().split('\n').pop()}`;
}

interface PyResult {
  id: string;
  status: 'pass' | 'fail' | 'error' | 'skip';
  message: string;
  seconds: number;
}

test('python: rnnlm_torch test suite', { skip: torchMissing(), timeout: 600_000 }, async (t) => {
  const r = spawnSync(PYTHON, ['-m', 'tests.run_json'], {
    cwd: join(ROOT, 'python'),
    encoding: 'utf8',
    timeout: 540_000,
    maxBuffer: 64 << 20,
    env: {
      ...process.env,
      RNNLM_NODE: process.execPath, // the Python tests run the compiled CLI with this node
      OMP_WAIT_POLICY: 'PASSIVE',
      OMP_NUM_THREADS: '1',
      PYTHONDONTWRITEBYTECODE: '1',
    },
  });
  if (r.error) throw r.error;
  const results: PyResult[] = [];
  let done: { count: number } | null = null;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('RNNLM_TEST ')) results.push(JSON.parse(line.slice('RNNLM_TEST '.length)) as PyResult);
    else if (line.startsWith('RNNLM_DONE ')) done = JSON.parse(line.slice('RNNLM_DONE '.length)) as { count: number };
  }
  for (const res of results) {
    const name = res.id.replace(/^tests\./, '');
    await t.test(name, { skip: res.status === 'skip' ? res.message : false }, () => {
      if (res.status === 'fail' || res.status === 'error') assert.fail(`${res.status} (${res.seconds} s)\n${res.message}`);
    });
  }
  assert.ok(done, `the Python runner did not finish (exit ${r.status}, signal ${r.signal})\n${r.stderr.slice(-4000)}`);
  assert.equal(results.length, done.count);
  assert.ok(results.length >= 20, `only ${results.length} Python tests ran\n${r.stderr.slice(-4000)}`);
  assert.equal(r.status, results.some((x) => x.status === 'fail' || x.status === 'error') ? 1 : 0, r.stderr.slice(-4000));
});
