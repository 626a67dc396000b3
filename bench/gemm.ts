// GEMM throughput, GFLOP/s = 2·M·N·K / time, for the output-layer shape of a word-level model:
// M×K×N = 700×200×10000 (B·T rows, H hidden, V vocab) in the three layouts the model uses
// (A·B forward, Aᵀ·B weight gradient, A·Bᵀ input gradient). Backends: the TypeScript reference
// (a smaller sample, it is slow), wasm SIMD and wasm relaxed-SIMD (FMA), 1 and 2 threads.
// Median of RUNS timed calls after at least WARMUP calls (the first long call runs in V8's
// baseline compiler; warm-up goes on until the time settles). Run alone with `node dist/bench/gemm.js`; `runGemmBench()` returns the rows.

import { pathToFileURL } from 'node:url';

import type { Kernels } from '../src/kernels/kernels.js';
import { RefKernels } from '../src/kernels/ref.js';
import { createWasmKernels } from '../src/kernels/wasm.js';
import { nodePlatform } from '../src/kernels/loader-node.js';
import { Rng } from '../src/rng.js';

export interface Row {
  /** Kernels name, e.g. "ref" or "wasm-simd+fma, 2 threads". */
  backend: string;
  /** 'A·B', 'Aᵀ·B' or 'A·Bᵀ'. */
  layout: string;
  M: number;
  K: number;
  N: number;
  threads: number;
  /** Median milliseconds per call. */
  ms: number;
  gflops: number;
  runs: number;
}

const WARMUP = 2;
const RUNS = 7;
const SHAPE = { M: 700, K: 200, N: 10000 };
/** The reference runs a tenth of the rows and columns' work: M×K×N = 70×200×1000. */
const REF_SHAPE = { M: 70, K: 200, N: 1000 };
const LAYOUTS: { layout: string; transA: boolean; transB: boolean }[] = [
  { layout: 'A·B', transA: false, transB: false },
  { layout: 'Aᵀ·B', transA: true, transB: false },
  { layout: 'A·Bᵀ', transA: false, transB: true },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

function benchOne(k: Kernels, threads: number, shape: { M: number; K: number; N: number }, warmup: number, runs: number): Row[] {
  const { M, K, N } = shape;
  const rng = new Rng(1);
  const A = k.alloc(M * K);
  const B = k.alloc(K * N);
  const C = k.alloc(M * N);
  for (let i = 0; i < A.length; i++) A[i] = rng.uniform(-1, 1);
  for (let i = 0; i < B.length; i++) B[i] = rng.uniform(-1, 1);
  const rows: Row[] = [];
  for (const { layout, transA, transB } of LAYOUTS) {
    // Warm up: at least `warmup` calls, then on (at most 30) until 3 calls in a row do not beat
    // the best by 10% (V8 compiles the optimized code in the background; a busy machine delays it).
    let best = Infinity;
    let stale = 0;
    for (let i = 0; i < 30 && (i < warmup || stale < 3); i++) {
      const t0 = performance.now();
      k.gemm(C, A, B, M, N, K, transA, transB, 0);
      const t = performance.now() - t0;
      stale = t < 0.9 * best ? 0 : stale + 1;
      best = Math.min(best, t);
    }
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      k.gemm(C, A, B, M, N, K, transA, transB, 0);
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    rows.push({ backend: k.name, layout, M, K, N, threads, ms, gflops: (2 * M * N * K) / (ms * 1e6), runs });
  }
  return rows;
}

/** Measure every available backend; a wasm build that cannot load is left out (reason on stderr). */
export async function runGemmBench(): Promise<Row[]> {
  const rows = benchOne(new RefKernels(), 1, REF_SHAPE, 1, 5);
  for (const relaxed of [false, true]) {
    for (const threads of [1, 2]) {
      let k;
      try {
        k = await createWasmKernels(nodePlatform, { threads, relaxed });
      } catch (err) {
        console.error(`gemm bench: skipping wasm ${relaxed ? 'relaxed' : 'simd'} ×${threads}: ${(err as Error).message}`);
        continue;
      }
      try {
        rows.push(...benchOne(k, threads, SHAPE, WARMUP, RUNS));
      } finally {
        k.dispose();
      }
    }
  }
  return rows;
}

/** The rows as an aligned text table. */
export function formatGemmRows(rows: Row[]): string {
  const lines = [`${'backend'.padEnd(28)} ${'layout'.padEnd(6)} ${'M×K×N'.padEnd(15)} ${'ms'.padStart(9)} ${'GFLOP/s'.padStart(8)}`];
  for (const r of rows) {
    lines.push(
      `${r.backend.padEnd(28)} ${r.layout.padEnd(6)} ${`${r.M}×${r.K}×${r.N}`.padEnd(15)} ` +
        `${r.ms.toFixed(2).padStart(9)} ${r.gflops.toFixed(1).padStart(8)}`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runGemmBench();
  console.log(`GEMM, median of ${RUNS} runs after ≥ ${WARMUP} warm-up calls (reference: ${REF_SHAPE.M}×${REF_SHAPE.K}×${REF_SHAPE.N}, median of 5)`);
  console.log(formatGemmRows(rows));
}
