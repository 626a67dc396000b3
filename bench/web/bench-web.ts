// `npm run bench:web`: rnnlm in headless Chromium against rnnlm on Node and TensorFlow.js, one table.
//   1. Training and exact-evaluation tokens/s for E=H=200, V=10k, B=20, T=35, the sigmoid network,
//      full softmax and 100 classes, 1 and 2 threads: in a browser Worker (the page's platform) and
//      in a Node process (the wasm backend, no OpenBLAS), each measurement alternating between the
//      two, medians of BENCH_REPEATS (default 3) — the same code (bench/web/measure.ts) on both.
//   2. TensorFlow.js 4 on its wasm backend in the same browser, the same model sizes (embedding,
//      SimpleRNN with sigmoid, dense softmax, SGD): training tokens/s, 1 and 2 threads.
//   3. Time from navigation to the first training step of the page (built-in corpus, #autostart=1).
//   4. The page's JavaScript, gzipped.
// The page is served cross-origin isolated (as `npm run web`). Run it alone: other processes on
// the machine skew every figure.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { buildWeb, ROOT } from '../../tools/web/build.js';
import { serveStatic } from '../../tools/web/serve.js';
import { WEB_BENCH, type ModelMeasure } from './measure.js';

const CHROMIUM = process.env.RNNLM_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const STEPS = Number(process.env.BENCH_STEPS ?? 10);
const EVAL_TOKENS = Number(process.env.BENCH_EVAL ?? 10000);
const TFJS_STEPS = Number(process.env.BENCH_TFJS_STEPS ?? 2);
const THREADS = [1, 2];
const CLASSES = [0, 100];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (v: number): string => Math.round(v).toLocaleString('en');

function nodeMeasure(classes: number, threads: number): ModelMeasure {
  const script = fileURLToPath(new URL('./node-model.js', import.meta.url));
  const r = spawnSync(process.execPath, [script, String(classes), String(threads), String(STEPS), String(EVAL_TOKENS)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node-model failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ModelMeasure;
}

async function main(): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'rnnlm-bench-web-'));
  const built = await buildWeb({
    outdir: out, extraEntries: { 'bench-worker': 'bench/browser/bench-worker.ts', 'tfjs-worker': 'bench/browser/tfjs-worker.ts' },
  });
  mkdirSync(join(out, 'tfjs'));
  const tfjsDist = join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const f of readdirSync(tfjsDist).filter((n) => n.endsWith('.wasm'))) copyFileSync(join(tfjsDist, f), join(out, 'tfjs', f));
  writeFileSync(join(out, 'bench.html'), '<!doctype html><meta charset="utf-8"><title>rnnlm bench</title><link rel="icon" href="data:,"><p>benchmark</p>\n');
  const served = await serveStatic(out, { isolate: true });
  const profile = mkdtempSync(join(tmpdir(), 'rnnlm-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${served.url}bench.html`);
  const version = (await page.evaluate(() => navigator.userAgent)).match(/Chrome\/([\d.]+)/)?.[1] ?? '?';
  const inWorker = async <T>(script: string, timeoutMs: number): Promise<T> => {
    const r = await page.evaluate(([src, ms]) => new Promise<unknown>((resolve) => {
      const w = new Worker(src, { type: 'module' });
      const timer = setTimeout(() => {
        w.terminate();
        resolve({ error: `timed out after ${ms} ms` });
      }, ms);
      w.onmessage = (e) => {
        clearTimeout(timer);
        w.terminate();
        resolve(e.data);
      };
      w.onerror = (e) => {
        clearTimeout(timer);
        resolve({ error: e.message });
      };
    }), [script, timeoutMs] as const) as T & { error?: string };
    if (r.error) throw new Error(`${script}: ${r.error}`);
    return r;
  };

  console.log(`rnnlm web benchmark — Chromium ${version} headless, Node ${process.version}, ${availableParallelism()} cores; medians of ${REPEATS} runs, browser and Node alternating`);
  console.log(`model: E=H=${WEB_BENCH.E}, V=${WEB_BENCH.V}, B=${WEB_BENCH.B}, T=${WEB_BENCH.T}, ${WEB_BENCH.cell}, SGD + clip 0.25; synthetic ids; ${STEPS} timed steps, ${EVAL_TOKENS} evaluation tokens\n`);

  // 1. rnnlm: browser and Node, alternating
  const runs = new Map<string, { browser: ModelMeasure[]; node: ModelMeasure[] }>();
  for (let r = 0; r < REPEATS; r++) {
    for (const classes of CLASSES) {
      for (const threads of THREADS) {
        const key = `${classes}/${threads}`;
        const slot = runs.get(key) ?? { browser: [], node: [] };
        runs.set(key, slot);
        slot.browser.push(await inWorker<ModelMeasure>(`bench-worker.js?classes=${classes}&threads=${threads}&steps=${STEPS}&eval=${EVAL_TOKENS}`, 600_000));
        slot.node.push(nodeMeasure(classes, threads));
      }
    }
  }
  const rows: string[][] = [['output', 'threads', 'train tok/s browser', 'train tok/s Node', 'browser / Node', 'eval tok/s browser', 'eval tok/s Node', 'browser / Node']];
  const ratios: number[] = [];
  for (const classes of CLASSES) {
    for (const threads of THREADS) {
      const { browser, node } = runs.get(`${classes}/${threads}`)!;
      const bt = median(browser.map((m) => m.train_tokens_per_s));
      const nt = median(node.map((m) => m.train_tokens_per_s));
      const be = median(browser.map((m) => m.eval_tokens_per_s));
      const ne = median(node.map((m) => m.eval_tokens_per_s));
      ratios.push(bt / nt, be / ne);
      rows.push([classes ? `${classes} classes` : 'full softmax', String(threads), fmt(bt), fmt(nt), `${(bt / nt).toFixed(2)}×`, fmt(be), fmt(ne), `${(be / ne).toFixed(2)}×`]);
    }
  }
  const backendNames = [...new Set([...runs.values()].flatMap((s) => [...s.browser, ...s.node].map((m) => m.backend.replace(/, \d+ threads?$/, ''))))];

  // 2. TensorFlow.js
  const tfjs: { threads: number; train_tokens_per_s: number; backend: string }[] = [];
  for (const threads of THREADS) {
    try {
      tfjs.push(await inWorker(`tfjs-worker.js?threads=${threads}&steps=${TFJS_STEPS}`, 600_000));
    } catch (err) {
      console.log(`TensorFlow.js, ${threads} thread(s): ${(err as Error).message}`);
    }
  }
  for (const t of tfjs) {
    const ours = median(runs.get(`0/${t.threads}`)!.browser.map((m) => m.train_tokens_per_s));
    rows.push([`${t.backend}, full softmax`, String(t.threads), fmt(t.train_tokens_per_s), '', `rnnlm ${(ours / t.train_tokens_per_s).toFixed(0)}×`, '', '', '']);
  }

  // 3. navigation to the first training step
  const firstStep: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const p = await context.newPage();
    await p.goto(`${served.url}#autostart=1&epochs=1`);
    await p.waitForFunction(() => document.body.dataset.firstStepMs !== undefined, null, { timeout: 60_000 });
    firstStep.push(Number(await p.evaluate(() => document.body.dataset.firstStepMs)));
    await p.close();
  }

  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const [i, r] of rows.entries()) {
    console.log(`| ${r.map((v, c) => (c < 2 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join(' | ')} |`);
    if (i === 0) console.log(`|${widths.map((w, c) => (c < 2 ? `${'-'.repeat(w + 2)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  }
  console.log(`\nbackends: ${backendNames.join('; ')}`);
  console.log(`browser / Node, all rows: ${Math.min(...ratios).toFixed(2)}× to ${Math.max(...ratios).toFixed(2)}× (goal ≥ 0.8×)`);
  const tf2 = tfjs.find((t) => t.threads === 2);
  if (tf2) console.log(`training, full softmax, 2 threads: rnnlm ${(median(runs.get('0/2')!.browser.map((m) => m.train_tokens_per_s)) / tf2.train_tokens_per_s).toFixed(0)}× TensorFlow.js wasm (goal ≥ 40×)`);
  console.log(`navigation → first training step (built-in corpus, #autostart=1): median ${median(firstStep).toFixed(0)} ms (runs: ${firstStep.map((v) => v.toFixed(0)).join(', ')}; goal < 2000 ms)`);
  const js = built.files.filter((f) => ['app.js', 'train-worker.js', 'kernel-worker.js'].includes(f.name));
  console.log(`page JavaScript: ${js.map((f) => `${f.name} ${(f.gzip / 1024).toFixed(1)} KiB`).join(' + ')} = ${(built.pageJsGzip / 1024).toFixed(1)} KiB gzipped; plus one .wasm build, ${(built.files.find((f) => f.name === 'wasm/rnnlm-relaxed.wasm')!.gzip / 1024).toFixed(1)} KiB gzipped`);

  await context.close();
  await served.close();
  rmSync(out, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(`bench:web failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
