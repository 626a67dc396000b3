// The web build without a browser: esbuild bundles src/web (and refuses Node code), the static
// folder holds what a host needs, the page stays light; and the settings' link form round-trips.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildWeb } from '../tools/web/build.js';
import { DEFAULT_SETTINGS, applySetting, settingsFromHash, settingsToHash } from '../src/web/settings.js';
import { LEARNING_RATES } from '../src/defaults.js';

test('npm run build:web: a static folder with the page, both Workers, both .wasm builds and _headers; no Node code; under 150 KiB of JavaScript gzipped', async () => {
  const out = mkdtempSync(join(tmpdir(), 'rnnlm-web-build-'));
  try {
    const r = await buildWeb({ outdir: out });
    for (const f of ['index.html', 'app.js', 'app.css', 'train-worker.js', 'kernel-worker.js', 'wasm/rnnlm-simd.wasm', 'wasm/rnnlm-relaxed.wasm', '_headers']) {
      assert.ok(existsSync(join(out, f)), `${f} is missing`);
    }
    assert.match(readFileSync(join(out, '_headers'), 'utf8'), /Cross-Origin-Embedder-Policy: require-corp/);
    assert.ok(r.pageJsGzip < 150 * 1024, `the page's JavaScript is ${(r.pageJsGzip / 1024).toFixed(1)} KiB gzipped`);
    const worker = readFileSync(join(out, 'train-worker.js'), 'utf8');
    for (const g of ['process.', 'Buffer.', 'require(', 'node:']) assert.ok(!worker.includes(g), `the training Worker mentions ${g}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('settings: the hash holds what differs from the defaults and reads back; bad entries are ignored and named', () => {
  assert.equal(settingsToHash(DEFAULT_SETTINGS), '');
  const s = { ...DEFAULT_SETTINGS, cell: 'lstm' as const, hidden: 100, lr: 0.002, optimizer: 'adam' as const };
  const hash = settingsToHash(s);
  // 0.002 is Adam's default for an LSTM: the link leaves it out, and reading it back restores it
  assert.equal(hash, '#cell=lstm&hidden=100&optimizer=adam');
  assert.deepEqual(settingsFromHash(hash), { settings: s, ignored: [] });
  const typed = { ...s, lr: 0.01 };
  assert.equal(settingsToHash(typed), '#cell=lstm&hidden=100&optimizer=adam&lr=0.01');
  assert.deepEqual(settingsFromHash(settingsToHash(typed)).settings, typed);
  // a linked relu cell trains at relu's rate, not the sigmoid's 20 (which diverges)
  assert.equal(settingsFromHash('#cell=relu').settings.lr, LEARNING_RATES.sgd.relu);
  const r = settingsFromHash('#cell=lstn&hidden=-3&bogus=1&epochs=2');
  assert.deepEqual(r.ignored, ['cell', 'hidden', 'bogus']);
  assert.equal(r.settings.cell, DEFAULT_SETTINGS.cell);
  assert.equal(r.settings.epochs, 2);
});

test('settings: a rate left at its default follows the cell and the optimizer, a typed one stays', () => {
  const s = { ...DEFAULT_SETTINGS };
  assert.equal(s.lr, LEARNING_RATES.sgd.sigmoid);
  assert.equal(applySetting(s, 'optimizer', 'adam'), true);
  assert.equal(s.lr, LEARNING_RATES.adam.sigmoid);
  assert.equal(applySetting(s, 'cell', 'relu'), true);
  assert.equal(s.lr, LEARNING_RATES.adam.relu);
  assert.equal(applySetting(s, 'hidden', 64), false);
  assert.equal(s.lr, LEARNING_RATES.adam.relu);
  applySetting(s, 'lr', 0.05);
  assert.equal(applySetting(s, 'cell', 'gru'), false);
  assert.equal(s.lr, 0.05);
});
