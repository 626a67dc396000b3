// `npm run bench`: one run, side by side —
//   1. GEMM GFLOP/s for the output-layer shape 700×200×10000 in each layout (bench/gemm.ts);
//   2. training and exact-evaluation tokens/s and peak RSS for E=H=200, V=10k, B=20, T=35, full
//      softmax, sigmoid and tanh, on the reference and the wasm backend (1 and all threads), and
//      wasm with the OpenBLAS GEMM when the optional native addon is built,
//      each configuration in its own process (bench/model-bench.ts), the median of repeats;
//   3. the same model in PyTorch when Debian's python3-torch is installed (bench/torch_rnn.py),
//      with its best settings on this machine, and our ratio to it;
//   4. class-factored and hierarchical-softmax training on PTB (bench/ptb-bench.ts), next to the
//      recorded figures of rnnlm-0.4b and faster-rnnlm on this machine.
// Read the README's "Benchmark" section for how to read it. Run it alone: other processes on
// the 2 cores make every figure wrong.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

interface Measure {
  backend: string;
  cell: string;
  train_tokens_per_s: number;
  eval_tokens_per_s: number;
  max_rss_mb: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Measure | string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) return `${cmd} failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' | ')}`;
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Measure;
  } catch {
    return `${cmd} printed no result: ${line.slice(0, 200)}`;
  }
}

function repeat(label: string, n: number, f: () => Measure | string): (Measure & { label: string; runs: number }) | string {
  const ms: Measure[] = [];
  for (let i = 0; i < n; i++) {
    const m = f();
    if (typeof m === 'string') return m;
    ms.push(m);
  }
  return {
    label, runs: n, backend: ms[0].backend, cell: ms[0].cell,
    train_tokens_per_s: median(ms.map((m) => m.train_tokens_per_s)),
    eval_tokens_per_s: median(ms.map((m) => m.eval_tokens_per_s)),
    max_rss_mb: Math.max(...ms.map((m) => m.max_rss_mb)),
  };
}

function findTorchPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

async function main(): Promise<void> {
  const cores = availableParallelism();
  console.log(`rnnlm benchmark — node ${process.version}, ${cores} cores; medians of ${REPEATS} runs (ref: 1 run)\n`);

  const gemmPath = here('./gemm.js');
  if (existsSync(gemmPath)) {
    console.log('== GEMM, fp32, M×K×N = 700×200×10000 (output layer of a 20×35 segment, H=200, V=10k) ==');
    const { runGemmBench, formatGemmRows } = (await import(gemmPath)) as typeof import('./gemm.js');
    console.log(formatGemmRows(await runGemmBench()));
    console.log();
  }

  console.log('== Training and evaluation, E=H=200, V=10000, B=20, T=35, full softmax, SGD + clip ==');
  const worker = here('./model-bench.js');
  const nativeBuilt = existsSync(here('../../native/build/Release/rnnlm_blas.node'));
  const results: Array<(Measure & { label: string; runs: number }) | string> = [];
  for (const cell of ['sigmoid', 'tanh']) {
    results.push(repeat(`ref ${cell}`, 1, () => runChild(process.execPath, [worker, 'ref', cell, '1', '2', '2000'])));
    results.push(repeat(`wasm ${cell}, 1 thread`, REPEATS, () => runChild(process.execPath, [worker, 'wasm', cell, '1', '20', '20000'])));
    results.push(repeat(`wasm ${cell}, ${cores} threads`, REPEATS, () => runChild(process.execPath, [worker, 'wasm', cell, String(cores), '20', '20000'])));
    if (nativeBuilt) {
      results.push(repeat(`openblas ${cell}, ${cores} threads`, REPEATS, () => runChild(process.execPath, [worker, 'openblas', cell, String(cores), '20', '20000'])));
    }
  }
  if (!nativeBuilt) console.log('(OpenBLAS GEMM rows skipped: the native addon is not built; `npm run build:native` with libopenblas-dev)');
  const py = findTorchPython();
  let torch: (Measure & { label: string; runs: number }) | string | null = null;
  if (py) {
    // PyTorch's best settings here: OpenMP and OpenBLAS threads must not fight over the cores.
    const env: NodeJS.ProcessEnv = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OPENBLAS_NUM_THREADS: String(cores), OMP_NUM_THREADS: String(cores) };
    torch = repeat('pytorch tanh', REPEATS, () => runChild(py, [here('../../bench/torch_rnn.py'), '20', '20000'], env));
    results.push(torch);
  } else {
    console.log('(PyTorch baseline skipped: no python3 with torch; `apt-get install python3-torch libopenblas0-pthread`)');
  }
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US').padStart(9);
  console.log(`${'configuration'.padEnd(28)} ${'backend'.padEnd(36)} ${'train tok/s'.padStart(11)} ${'eval tok/s'.padStart(11)} ${'peak RSS'.padStart(9)}  vs PyTorch (train, eval)`);
  for (const r of results) {
    if (typeof r === 'string') {
      console.log(`  error: ${r}`);
      continue;
    }
    const ratio = torch && typeof torch !== 'string' && r !== torch
      ? `${(r.train_tokens_per_s / torch.train_tokens_per_s).toFixed(2)}×, ${(r.eval_tokens_per_s / torch.eval_tokens_per_s).toFixed(2)}×`
      : '';
    console.log(`${r.label.padEnd(28)} ${r.backend.padEnd(36)} ${fmt(r.train_tokens_per_s)}   ${fmt(r.eval_tokens_per_s)}   ${r.max_rss_mb.toFixed(0).padStart(5)} MB  ${ratio}`);
  }
  const flopPerToken = 2 * 3 * (200 * 10000 + 2 * 200 * 200); // fwd + 2 bwd products per weight
  const best = results.filter((r): r is Measure & { label: string; runs: number } => typeof r !== 'string' && r.backend.startsWith('wasm'));
  // (the best of ours; the flop count is the products alone)
  if (best.length) {
    const top = best.reduce((a, b) => (a.train_tokens_per_s > b.train_tokens_per_s ? a : b));
    console.log(`\nbest training: ${top.label}, ${Math.round(top.train_tokens_per_s)} tok/s ≈ ${(top.train_tokens_per_s * flopPerToken / 1e9).toFixed(1)} GFLOP/s of matrix products`);
  }

  console.log('\n== Class-factored and hierarchical softmax on PTB (V=10k, sigmoid, H=200): training tokens/s ==');
  const { runPtbBench } = (await import(here('./ptb-bench.js'))) as typeof import('./ptb-bench.js');
  for (const line of runPtbBench(Math.max(2, cores), REPEATS)) console.log(line);
}

await main();
