// GEMM throughput, GFLOP/s = 2·M·N·K / time, for the output-layer shape of a word-level model:
// M×K×N = 700×200×10000 (B·T rows, H hidden, V vocab) in the three layouts the model uses
// (A·B forward, Aᵀ·B weight gradient, A·Bᵀ input gradient). Backends: the TypeScript reference
// (a smaller sample, it is slow), wasm SIMD and wasm relaxed-SIMD (FMA), 1 and all threads timed
// in alternation, and the optional OpenBLAS GEMM (native/) when it is built.
// Median of RUNS timed calls after at least WARMUP calls (the first long call runs in V8's
// baseline compiler; warm-up goes on until the time settles). Run alone with `node dist/bench/gemm.js`; `runGemmBench()` returns the rows.

import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';

import type { Kernels } from '../src/kernels/kernels.js';
import { RefKernels } from '../src/kernels/ref.js';
import { createWasmKernels } from '../src/kernels/wasm/kernels.js';
import { nodeWasmPlatform as nodePlatform } from '../src/node/wasm-platform.js';
import { createNodeKernels as createKernels } from '../src/node/platform.js';
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
  /** Multi-thread rows of a pair: median of (1-thread time / this time) over alternating calls. */
  scaling?: number;
}

const WARMUP = 2;
const RUNS = 15;
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

/** Random operands for one shape, in k's memory. */
function operands(k: Kernels, shape: { M: number; K: number; N: number }) {
  const { M, K, N } = shape;
  const rng = new Rng(1);
  const A = k.alloc(M * K);
  const B = k.alloc(K * N);
  const C = k.alloc(M * N);
  for (let i = 0; i < A.length; i++) A[i] = rng.uniform(-1, 1);
  for (let i = 0; i < B.length; i++) B[i] = rng.uniform(-1, 1);
  return { A, B, C };
}

/** One timed call (ms). */
function timeCall(k: Kernels, ops: { A: Float32Array; B: Float32Array; C: Float32Array }, shape: { M: number; K: number; N: number }, transA: boolean, transB: boolean): number {
  const t0 = performance.now();
  k.gemm(ops.C, ops.A, ops.B, shape.M, shape.N, shape.K, transA, transB, 0);
  return performance.now() - t0;
}

/**
 * Warm up: at least `warmup` calls, then on (at most 30) until 3 calls in a row do not beat the
 * best by 10% (V8 compiles the optimized code in the background; a busy machine delays it).
 */
function warm(call: () => number, warmup: number): void {
  let best = Infinity;
  let stale = 0;
  for (let i = 0; i < 30 && (i < warmup || stale < 3); i++) {
    const t = call();
    stale = t < 0.9 * best ? 0 : stale + 1;
    best = Math.min(best, t);
  }
}

function row(k: Kernels, threads: number, layout: string, shape: { M: number; K: number; N: number }, times: number[], scaling?: number): Row {
  const ms = median(times);
  const { M, K, N } = shape;
  return { backend: k.name, layout, M, K, N, threads, ms, gflops: (2 * M * N * K) / (ms * 1e6), runs: times.length, scaling };
}

function benchOne(k: Kernels, threads: number, shape: { M: number; K: number; N: number }, warmup: number, runs: number): Row[] {
  const ops = operands(k, shape);
  return LAYOUTS.map(({ layout, transA, transB }) => {
    const call = (): number => timeCall(k, ops, shape, transA, transB);
    warm(call, warmup);
    return row(k, threads, layout, shape, Array.from({ length: runs }, call));
  });
}

/**
 * One thread against `threads` threads, timed in alternation (pairs of calls a few hundred
 * milliseconds apart): this machine's speed drifts by tens of percent over seconds, so separate
 * series would compare different moments. Scaling is the median of the per-pair ratios.
 */
function benchPair(k1: Kernels, kn: Kernels, threads: number, shape: { M: number; K: number; N: number }, warmup: number, runs: number): Row[] {
  const ops1 = operands(k1, shape);
  const opsN = operands(kn, shape);
  const rows: Row[] = [];
  for (const { layout, transA, transB } of LAYOUTS) {
    const c1 = (): number => timeCall(k1, ops1, shape, transA, transB);
    const cN = (): number => timeCall(kn, opsN, shape, transA, transB);
    warm(c1, warmup);
    warm(cN, warmup);
    const t1: number[] = [];
    const tN: number[] = [];
    for (let i = 0; i < runs; i++) {
      t1.push(c1());
      tN.push(cN());
    }
    rows.push(row(k1, 1, layout, shape, t1), row(kn, threads, layout, shape, tN, median(t1.map((t, i) => t / tN[i]))));
  }
  return rows;
}

/** Measure every available backend; one that cannot load is left out (reason on stderr). */
export async function runGemmBench(): Promise<Row[]> {
  const threads = Math.max(2, availableParallelism());
  const rows = benchOne(new RefKernels(), 1, REF_SHAPE, 1, 5);
  for (const relaxed of [false, true]) {
    let k1: Kernels | undefined;
    let kn: Kernels | undefined;
    try {
      k1 = await createWasmKernels(nodePlatform, { threads: 1, relaxed });
      kn = await createWasmKernels(nodePlatform, { threads, relaxed });
      rows.push(...benchPair(k1, kn, threads, SHAPE, WARMUP, RUNS));
    } catch (err) {
      console.error(`gemm bench: skipping wasm ${relaxed ? 'relaxed' : 'simd'}: ${(err as Error).message}`);
    } finally {
      k1?.dispose();
      kn?.dispose();
    }
  }
  // The optional native GEMM (OpenBLAS's thread count is one setting per process: not interleaved).
  for (const t of [1, threads]) {
    let k: Kernels | undefined;
    try {
      k = await createKernels({ backend: 'openblas', threads: t });
      rows.push(...benchOne(k, t, SHAPE, WARMUP, RUNS));
    } catch (err) {
      console.error(`gemm bench: skipping OpenBLAS ×${t}: ${(err as Error).message}`);
      break;
    } finally {
      k?.dispose();
    }
  }
  return rows;
}

/** The rows as an aligned text table. */
export function formatGemmRows(rows: Row[]): string {
  const lines = [`${'backend'.padEnd(40)} ${'layout'.padEnd(6)} ${'M×K×N'.padEnd(15)} ${'ms'.padStart(9)} ${'GFLOP/s'.padStart(8)}  scaling`];
  for (const r of rows) {
    lines.push(
      `${r.backend.padEnd(40)} ${r.layout.padEnd(6)} ${`${r.M}×${r.K}×${r.N}`.padEnd(15)} ` +
        `${r.ms.toFixed(2).padStart(9)} ${r.gflops.toFixed(1).padStart(8)}${r.scaling ? `  ${r.scaling.toFixed(2)}×` : ''}`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runGemmBench();
  console.log(`GEMM, median of ${RUNS} runs after ≥ ${WARMUP} warm-up calls, 1 and all threads alternating (reference: ${REF_SHAPE.M}×${REF_SHAPE.K}×${REF_SHAPE.N}, median of 5)`);
  console.log(formatGemmRows(rows));
}
