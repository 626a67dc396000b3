// One core, two platforms: the package's main entry must bundle for a browser with no Node
// import, and run where Node's globals are absent. The build also type-checks the core without
// Node's types (tsconfig.core.json); these tests check the compiled output.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('package.json', `file://${ROOT}`), 'utf8')) as { exports: Record<string, { default: string }> };

test('the main entry bundles for the browser (esbuild, platform browser) with no Node import', async () => {
  const entry = fileURLToPath(new URL(pkg.exports['.'].default, `file://${ROOT}`));
  const result = await esbuild.build({
    entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  const nodeish = inputs.filter((p) => p.startsWith('node:') || p.includes('/src/node/') || p.includes('/src/cli/'));
  assert.deepEqual(nodeish, [], `the browser bundle pulls in Node code: ${nodeish.join(', ')}`);
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
  assert.deepEqual(imports, [], `the browser bundle leaves imports unresolved: ${imports.join(', ')}`);
  const code = result.outputFiles[0].text;
  for (const g of ['process.', 'Buffer.', 'setImmediate(', 'require(']) {
    assert.ok(!code.includes(g), `the browser bundle mentions ${g}`);
  }
  assert.ok(inputs.some((p) => p.endsWith('src/nn/model.js')) && inputs.some((p) => p.endsWith('src/kernels/wasm/kernels.js')), 'the bundle holds the model and the wasm backend');
});

test('the Node entry re-exports the core and adds the Node pieces', async () => {
  const core = await import('../src/index.js');
  const node = await import('../src/node/index.js');
  for (const name of Object.keys(core)) assert.ok(name in node, `rnnlm/node lacks ${name}`);
  for (const name of ['createNodeKernels', 'loadModel', 'saveModel', 'readText', 'trainRun', 'writeFileAtomicSync']) {
    assert.equal(typeof (node as Record<string, unknown>)[name], 'function', name);
    assert.ok(!(name in core), `the core exports the Node-only ${name}`);
  }
});
