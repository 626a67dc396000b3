// The WebAssembly SIMD backend: the Kernels interface over the module built from assembly/
// (AssemblyScript, `npm run asbuild`), its memory (memory.ts) and its threads (pool.ts).
// Legend: M, N, K matrix dims; R rows, C columns; n element count; T threads; MR×NR GEMM tile.
//
// Every wrapper runs inside heap.staged(): arrays from alloc() are used in place, any other
// Float32Array is copied into the heap for the call (and back if written); a Float64Array
// anywhere in a call sends the whole call to the reference (gradient checks).
//
// Threads: element-wise kernels split statically; GEMM (by column or row tiles) and softmax (by
// rows) are cut into chunks that the threads take from a shared counter, so a thread the OS
// schedules late does less. Threads own disjoint outputs, and reductions (softmax loss,
// sumSquares) are per-row or per-fixed-chunk partials added here in order, so results are
// bit-identical for any thread count. Small calls stay on the calling thread (thresholds below):
// a wake-up round trip costs ~16 µs.

import { ConfigError } from '../../errors.js';
import { LIMITS } from '../../defaults.js';
import type { Activation, Arr, ClassPlan, DirectArgs, HsBatch, HsTree, Kernels, RowsOp, SparseGrad, SparseStep } from '../kernels.js';
import { gemmRef, RefKernels, softmaxXentRef } from '../ref.js';
import { dropThreshold, planViews } from '../ref-fused.js';
import { sharedMemorySupported, wasmApi, type WasmExports, type WasmModule } from './api.js';
import { GemmSplit, type JobArgs, type JobKind } from './jobs.js';
import { checkLen, WasmHeap } from './memory.js';
import { poolBytes, ThreadPool, type WorkerHandle, type WorkerInit } from './pool.js';

/** What the backend needs from the host (Node: src/node/wasm-platform.ts; browser: src/web/). */
export interface WasmPlatform {
  readonly name: string;
  /** Whether the runtime validates WebAssembly SIMD (v128). */
  simdSupported(): boolean;
  /** Whether the runtime validates relaxed SIMD (may switch an engine flag on first). */
  relaxedSimdSupported(): boolean;
  /** Compile the relaxed-simd build or the plain SIMD build. */
  compile(relaxed: boolean): Promise<WasmModule>;
  /** Start a worker that instantiates `init.module` over `init.memory` and runs workerLoop. */
  startWorker(init: WorkerInit): Promise<WorkerHandle>;
}

/** A GEMM on the backend's own memory, by byte offsets (the Node OpenBLAS addon). */
export interface NativeGemm {
  /** e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64; threads 2". */
  readonly info: string;
  /** Work on this shared memory from now on (the wasm backend's). */
  bind(sab: SharedArrayBuffer): void;
  /** C = beta·C + op(A)·op(B), row-major, byte offsets and row strides in elements. */
  sgemm(
    C: number, A: number, B: number, ldc: number, lda: number, ldb: number,
    M: number, N: number, K: number, transA: number, transB: number, beta: number,
  ): void;
}

export interface WasmKernelsOptions {
  /** Threads including the calling one (≥ 1; default 1). More than one needs shared memory. */
  threads?: number;
  /** Use the relaxed-simd (FMA) build; default: when the runtime supports it. */
  relaxed?: boolean;
  /** A native GEMM that takes every float32 GEMM on this memory; the other kernels stay in wasm. */
  nativeGemm?: NativeGemm;
}

/** GEMM register tile width (assembly/gemm.ts NR). */
const NR = 8;
/** Columns per unit of a GEMV's split across threads (the kernel's widest block). */
const GEMV_UNIT = 16;
/** Split a GEMM across threads from this many flops (2·M·N·K) up. */
const GEMM_MT_FLOPS = 4e6;
/** Split softmaxXent from this many logits (R·C) up. */
const SOFTMAX_MT = 1 << 15;
/** Split activations (exp per element) from this many elements up. */
const ACT_MT = 1 << 15;
/** Split memory-bound element-wise kernels (optimizers, scale, sums) from this many elements up. */
const ELEMENTWISE_MT = 1 << 17;
/** Element-wise splits fall on multiples of this many elements (whole vectors, whole lines). */
const ELEMENTWISE_UNIT = 16;
/**
 * GEMM and softmax are cut into about this many chunks per thread, taken dynamically: on a
 * loaded machine a thread scheduled late takes fewer (at ~0.5-1% extra packing cost).
 */
const CHUNKS_PER_THREAD = 4;
/** ... but no GEMM chunk below this many flops (each chunk packs its other operand again). */
const GEMM_CHUNK_FLOPS = 2e6;
/** ... and no softmax chunk below this many logits. */
const SOFTMAX_CHUNK = 1 << 14;

const ACT_CODE: Record<Activation, number> = { sigmoid: 0, tanh: 1, relu: 2 };
const ROWS_OP: Record<RowsOp, number> = { scale: 0, zero: 1, sgd: 2, adagrad: 3 };

/** Load the module and start the threads; see WasmKernelsOptions. */
export async function createWasmKernels(platform: WasmPlatform, opts: WasmKernelsOptions = {}): Promise<WasmKernels> {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > LIMITS.threads) {
    throw new ConfigError(`threads must be an integer from 1 to ${LIMITS.threads}, got ${threads}`);
  }
  if (wasmApi === undefined || !platform.simdSupported()) throw new Error(`wasm kernels: this runtime (${platform.name}) has no WebAssembly SIMD`);
  const shared = sharedMemorySupported();
  if (threads > 1 && !shared) {
    throw new Error(`wasm kernels: ${threads} threads need shared memory, which this runtime (${platform.name}) does not offer (a page must be cross-origin isolated); use 1 thread`);
  }
  const relaxedOk = platform.relaxedSimdSupported();
  const relaxed = opts.relaxed ?? relaxedOk;
  if (relaxed && !relaxedOk) throw new Error(`wasm kernels: this runtime (${platform.name}) has no relaxed SIMD; pass relaxed: false`);
  const module = await platform.compile(relaxed);
  const heap = new WasmHeap({ shared });
  const instance = await wasmApi.instantiate(module, { env: { memory: heap.memory } });
  const kernels = new WasmKernels(instance.exports as unknown as WasmExports, heap, relaxed, threads, opts.nativeGemm);
  try {
    const started = await Promise.allSettled(
      Array.from({ length: threads - 1 }, (_, i) =>
        platform.startWorker({ module, memory: heap.memory, index: i + 1, ctrlOffset: kernels.pool.ctrlOffset })),
    );
    for (const s of started) if (s.status === 'fulfilled') kernels.pool.workers.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    kernels.dispose();
    throw err;
  }
  return kernels;
}

export class WasmKernels implements Kernels {
  readonly name: string;
  /** Whether this is the relaxed-simd (FMA) build. */
  readonly relaxed: boolean;
  readonly pool: ThreadPool;
  private readonly wasm: WasmExports;
  private readonly heap: WasmHeap;
  private readonly ref = new RefKernels();
  /** The native GEMM that replaces the wasm one, if given. */
  private readonly native: NativeGemm | null;
  /** GEMM register tile height of this build (5 or 6). */
  private readonly gemmRows: number;
  private readonly sumSquaresChunk: number;
  /** Per-thread GEMM packing scratch (byte offsets). */
  private readonly gemmScratch: number[] = [];

  constructor(wasm: WasmExports, heap: WasmHeap, relaxed: boolean, threads: number, nativeGemm?: NativeGemm) {
    this.wasm = wasm;
    this.heap = heap;
    this.native = nativeGemm ?? null;
    this.native?.bind(heap.memory.buffer as SharedArrayBuffer);
    this.relaxed = relaxed;
    this.gemmRows = wasm.gemmMR();
    this.sumSquaresChunk = wasm.sumSquaresChunk();
    heap.start(wasm.heapBase() >>> 0);
    const ctrlOffset = heap.reserve(poolBytes(threads), 64);
    this.pool = new ThreadPool(wasm, heap.current, ctrlOffset, threads);
    const scratch = wasm.gemmScratchBytes();
    for (let t = 0; t < threads; t++) this.gemmScratch.push(heap.reserve(scratch, 64));
    this.name = `wasm-simd${relaxed ? '+fma' : ''}${this.native ? ' + OpenBLAS GEMM' : ''}, ${threads} thread${threads === 1 ? '' : 's'}`;
  }

  /** Stop the workers (Kernels.dispose); later calls run on the calling thread alone. Idempotent. */
  dispose(): void {
    this.pool.dispose();
  }

  /** Threads in use (1 after dispose()). */
  get threadCount(): number {
    return this.pool.size;
  }

  alloc(n: number): Float32Array {
    return this.heap.alloc(n);
  }

  /** Whether `a` lives in this backend's memory (kernels then use it in place, without copies). */
  owns(a: ArrayBufferView): boolean {
    return this.heap.offsetOf(a) >= 0;
  }

  /** Bytes of wasm memory in use (static data, control block, scratch, heap). */
  get heapBytes(): number {
    return this.heap.used;
  }

  /** Current size of the wasm memory in bytes (a shared memory grows as alloc() needs). */
  get memoryBytes(): number {
    return this.heap.memory.buffer.byteLength;
  }

  // ---- splitting work across threads ------------------------------------------------------

  /**
   * An element-wise kernel over n elements: thread w gets elements [i0, i1) (whole units),
   * its pointer arguments advanced by i0 floats and its count argument set to i1 - i0.
   */
  private elementwise<K extends JobKind>(kind: K, args: JobArgs<K>, pointers: readonly (keyof JobArgs<K>)[], count: keyof JobArgs<K>, n: number, threshold: number): void {
    const pool = this.pool;
    const T = pool.threadsFor(n, threshold);
    const units = Math.ceil(n / ELEMENTWISE_UNIT);
    for (let w = 0; w < T; w++) {
      const i0 = Math.min(n, Math.floor((w * units) / T) * ELEMENTWISE_UNIT);
      const i1 = Math.min(n, Math.floor(((w + 1) * units) / T) * ELEMENTWISE_UNIT);
      if (i1 <= i0) {
        pool.idle(w);
        continue;
      }
      const part = { ...args };
      for (const p of pointers) (part[p] as number) += i0 * 4;
      (part[count] as number) = i1 - i0;
      pool.set(w, kind, part);
    }
    pool.run(T);
  }

  // ---- kernels ------------------------------------------------------------------------------

  gemm(C: Arr, A: Arr, B: Arr, M: number, N: number, K: number, transA: boolean, transB: boolean, beta: 0 | 1): void {
    if (anyF64(C, A, B)) return gemmRef(C, A, B, M, N, K, transA, transB, beta);
    if (M <= 0 || N <= 0) return;
    const h = this.heap;
    h.staged(() => this.gemmAt(
      h.out(C as Float32Array, M * N, beta === 1), h.in(A as Float32Array, M * K), h.in(B as Float32Array, K * N), M, N, K, transA, transB, beta));
  }

  /**
   * GEMM on byte offsets (see gemm). Across threads, the larger of M and N (in tiles) is cut
   * into about CHUNKS_PER_THREAD chunks per thread of whole tiles, taken dynamically.
   */
  private gemmAt(pc: number, pa: number, pb: number, M: number, N: number, K: number, transA: boolean, transB: boolean, beta: 0 | 1): void {
    const lda = transA ? M : K;
    const ldb = transB ? K : N;
    if (this.native) {
      this.native.sgemm(pc, pa, pb, N, lda, ldb, M, N, K, transA ? 1 : 0, transB ? 1 : 0, beta);
      return;
    }
    const pool = this.pool;
    if (M === 1) {
      // one row (op(A) is K contiguous floats either way): a GEMV, columns split across threads
      const T = pool.threadsFor(2 * N * K, GEMM_MT_FLOPS);
      const units = Math.ceil(N / GEMV_UNIT);
      for (let w = 0; w < T; w++) {
        const j0 = Math.min(N, Math.floor((w * units) / T) * GEMV_UNIT);
        const j1 = Math.min(N, Math.floor(((w + 1) * units) / T) * GEMV_UNIT);
        if (j1 <= j0) pool.idle(w);
        else pool.set(w, 'gemv', { C: pc + j0 * 4, A: pa, B: pb + (transB ? j0 * ldb : j0) * 4, ldb, N: j1 - j0, K, transB: transB ? 1 : 0, beta });
      }
      pool.run(T);
      return;
    }
    const T = pool.threadsFor(2 * M * N * K, GEMM_MT_FLOPS);
    let split = GemmSplit.None;
    let chunk = 0;
    if (T > 1) {
      const tilesM = Math.ceil(M / this.gemmRows);
      const tilesN = Math.ceil(N / NR);
      const byCols = tilesN >= tilesM;
      split = byCols ? GemmSplit.Cols : GemmSplit.Rows;
      const chunks = Math.max(T, Math.min(T * CHUNKS_PER_THREAD, Math.floor((2 * M * N * K) / GEMM_CHUNK_FLOPS)));
      chunk = Math.ceil((byCols ? tilesN : tilesM) / chunks) * (byCols ? NR : this.gemmRows);
    }
    for (let w = 0; w < T; w++) {
      pool.set(w, 'gemm', {
        C: pc, A: pa, B: pb, ldc: N, lda, ldb, M, N, K, transA: transA ? 1 : 0, transB: transB ? 1 : 0, beta,
        scratch: this.gemmScratch[w], split, chunk,
      });
    }
    pool.run(T);
  }

  addBias(Y: Arr, b: Arr, R: number, C: number): void {
    if (anyF64(Y, b)) return this.ref.addBias(Y, b, R, C);
    if (R <= 0 || C <= 0) return;
    const h = this.heap;
    h.staged(() => {
      const pb = h.in(b as Float32Array, C);
      const py = h.out(Y as Float32Array, R * C, true);
      const pool = this.pool;
      const T = pool.threadsFor(R * C, ELEMENTWISE_MT);
      for (let w = 0; w < T; w++) {
        const r0 = Math.floor((w * R) / T);
        const r1 = Math.floor(((w + 1) * R) / T);
        if (r1 <= r0) pool.idle(w);
        else pool.set(w, 'addBias', { Y: py + r0 * C * 4, b: pb, R: r1 - r0, C, ld: C });
      }
      pool.run(T);
    });
  }

  sumRows(db: Arr, dY: Arr, R: number, C: number): void {
    if (anyF64(db, dY)) return this.ref.sumRows(db, dY, R, C);
    if (R <= 0 || C <= 0) return;
    const h = this.heap;
    h.staged(() => {
      const py = h.in(dY as Float32Array, R * C);
      const pd = h.out(db as Float32Array, C, true);
      // split columns (each column keeps its row order); units of 4 columns
      const pool = this.pool;
      const T = pool.threadsFor(R * C, ELEMENTWISE_MT);
      const units = Math.ceil(C / 4);
      for (let w = 0; w < T; w++) {
        const c0 = Math.min(C, Math.floor((w * units) / T) * 4);
        const c1 = Math.min(C, Math.floor(((w + 1) * units) / T) * 4);
        if (c1 <= c0) pool.idle(w);
        else pool.set(w, 'sumRows', { db: pd + c0 * 4, dY: py + c0 * 4, R, C: c1 - c0, ld: C });
      }
      pool.run(T);
    });
  }

  actForward(y: Arr, x: Arr, n: number, act: Activation): void {
    if (anyF64(y, x)) return this.ref.actForward(y, x, n, act);
    if (n <= 0) return;
    const code = actCode(act);
    const h = this.heap;
    h.staged(() => {
      // in place (y === x): one staged array, read and written back
      const px = y === x ? h.out(x as Float32Array, n, true) : h.in(x as Float32Array, n);
      const py = y === x ? px : h.out(y as Float32Array, n, false);
      this.elementwise('actForward', { y: py, x: px, n, act: code }, ['y', 'x'], 'n', n, ACT_MT);
    });
  }

  actBackward(dx: Arr, y: Arr, dy: Arr, n: number, act: Activation): void {
    if (anyF64(dx, y, dy)) return this.ref.actBackward(dx, y, dy, n, act);
    if (n <= 0) return;
    const code = actCode(act);
    const h = this.heap;
    h.staged(() => {
      const py = h.in(y as Float32Array, n);
      const pdy = dx === dy ? h.out(dy as Float32Array, n, true) : h.in(dy as Float32Array, n);
      const pdx = dx === dy ? pdy : h.out(dx as Float32Array, n, false);
      this.elementwise('actBackward', { dx: pdx, y: py, dy: pdy, n, act: code }, ['dx', 'y', 'dy'], 'n', n, ELEMENTWISE_MT);
    });
  }

  softmaxXent(logits: Arr, targets: Int32Array, R: number, C: number, grad: boolean, scale: number, logProbs?: Float64Array): number {
    if (logits instanceof Float64Array) return softmaxXentRef(logits, targets, R, C, grad, scale, logProbs);
    if (R <= 0) return 0;
    checkLen(targets, R);
    for (let r = 0; r < R; r++) {
      const t = targets[r];
      if (!(t >= 0 && t < C)) throw new RangeError(`softmaxXent: target ${t} at row ${r} is outside [0, ${C})`);
    }
    const h = this.heap;
    return h.staged(() => {
      const pl = grad ? h.out(logits, R * C, true) : h.in(logits, R * C);
      const pt = h.inI32(targets, R);
      const pLogProbs = h.reserve(R * 8, 8);
      const pool = this.pool;
      const T = Math.min(R, pool.threadsFor(R * C, SOFTMAX_MT));
      const chunks = Math.max(T, Math.min(T * CHUNKS_PER_THREAD, Math.floor((R * C) / SOFTMAX_CHUNK)));
      const chunk = Math.ceil(R / chunks);
      for (let w = 0; w < T; w++) {
        pool.set(w, 'softmax', { logits: pl, targets: pt, logProbs: pLogProbs, R, C, grad: grad ? 1 : 0, scale, chunk });
      }
      pool.run(T);
      // Σ_r -log p(target_r) in row order, whatever the split
      const lp = h.f64;
      const o = pLogProbs >>> 3;
      let total = 0;
      for (let r = 0; r < R; r++) {
        total -= lp[o + r];
        if (logProbs) logProbs[r] = lp[o + r];
      }
      return total;
    });
  }

  transpose(out: Arr, x: Arr, R: number, C: number): void {
    if (anyF64(out, x)) return this.ref.transpose(out, x, R, C);
    if (R <= 0 || C <= 0) return;
    const h = this.heap;
    h.staged(() => this.wasm.transposeF32(h.out(out as Float32Array, R * C, false), h.in(x as Float32Array, R * C), R, C));
  }

  lstmForward(G: Arr, cPrev: Arr, c: Arr, tc: Arr, hOut: Arr, B: number, H: number): void {
    if (anyF64(G, cPrev, c, tc, hOut)) return this.ref.lstmForward(G, cPrev, c, tc, hOut, B, H);
    if (B <= 0 || H <= 0) return;
    const n = B * H;
    const h = this.heap;
    h.staged(() => this.wasm.lstmForwardF32(
      h.out(G as Float32Array, 4 * n, true), h.in(cPrev as Float32Array, n), h.out(c as Float32Array, n, false),
      h.out(tc as Float32Array, n, false), h.out(hOut as Float32Array, n, false), B, H));
  }

  lstmBackward(dG: Arr, G: Arr, cPrev: Arr, tc: Arr, dh: Arr, dc: Arr, B: number, H: number): void {
    if (anyF64(dG, G, cPrev, tc, dh, dc)) return this.ref.lstmBackward(dG, G, cPrev, tc, dh, dc, B, H);
    if (B <= 0 || H <= 0) return;
    const n = B * H;
    const h = this.heap;
    h.staged(() => this.wasm.lstmBackwardF32(
      h.out(dG as Float32Array, 4 * n, false), h.in(G as Float32Array, 4 * n), h.in(cPrev as Float32Array, n),
      h.in(tc as Float32Array, n), h.in(dh as Float32Array, n), h.out(dc as Float32Array, n, true), B, H));
  }

  gruForward(Gi: Arr, Gh: Arr, hPrev: Arr, hOut: Arr, B: number, H: number): void {
    if (anyF64(Gi, Gh, hPrev, hOut)) return this.ref.gruForward(Gi, Gh, hPrev, hOut, B, H);
    if (B <= 0 || H <= 0) return;
    const n = B * H;
    const h = this.heap;
    h.staged(() => this.wasm.gruForwardF32(
      h.out(Gi as Float32Array, 3 * n, true), h.in(Gh as Float32Array, 3 * n), h.in(hPrev as Float32Array, n),
      h.out(hOut as Float32Array, n, false), B, H));
  }

  gruBackward(dGi: Arr, dGh: Arr, Gi: Arr, Gh: Arr, hPrev: Arr, dh: Arr, dhPrev: Arr | null, B: number, H: number): void {
    if (anyF64(dGi, dGh, Gi, Gh, hPrev, dh, dhPrev)) return this.ref.gruBackward(dGi, dGh, Gi, Gh, hPrev, dh, dhPrev, B, H);
    if (B <= 0 || H <= 0) return;
    const n = B * H;
    const h = this.heap;
    h.staged(() => this.wasm.gruBackwardF32(
      h.out(dGi as Float32Array, 3 * n, false), h.out(dGh as Float32Array, 3 * n, false), h.in(Gi as Float32Array, 3 * n),
      h.in(Gh as Float32Array, 3 * n), h.in(hPrev as Float32Array, n), h.in(dh as Float32Array, n),
      dhPrev ? h.out(dhPrev as Float32Array, n, true) : 0, B, H));
  }

  gatherRows(out: Arr, table: Arr, ids: Int32Array, R: number, C: number): void {
    if (anyF64(out, table)) return this.ref.gatherRows(out, table, ids, R, C);
    if (R <= 0 || C <= 0) return;
    checkIds('gatherRows', ids, R, table.length, C);
    const h = this.heap;
    h.staged(() => this.wasm.gatherRowsF32(
      h.out(out as Float32Array, R * C, false), h.in(table as Float32Array, table.length - (table.length % C)), h.inI32(ids, R), R, C));
  }

  scatterAddRows(dTable: Arr, dOut: Arr, ids: Int32Array, R: number, C: number): void {
    if (anyF64(dTable, dOut)) return this.ref.scatterAddRows(dTable, dOut, ids, R, C);
    if (R <= 0 || C <= 0) return;
    checkIds('scatterAddRows', ids, R, dTable.length, C);
    const h = this.heap;
    h.staged(() => {
      const pOut = h.in(dOut as Float32Array, R * C);
      const pIds = h.inI32(ids, R);
      this.wasm.scatterAddRowsF32(h.out(dTable as Float32Array, dTable.length - (dTable.length % C), true), pOut, pIds, R, C);
    });
  }

  sumSquares(x: Arr, n: number): number {
    if (x instanceof Float64Array) return this.ref.sumSquares(x, n);
    if (n <= 0) return 0;
    const h = this.heap;
    return h.staged(() => {
      const px = h.in(x, n);
      const chunks = Math.ceil(n / this.sumSquaresChunk);
      const pPartials = h.reserve(chunks * 8, 8);
      const pool = this.pool;
      const T = Math.min(chunks, pool.threadsFor(n, ELEMENTWISE_MT));
      for (let w = 0; w < T; w++) {
        pool.set(w, 'sumSquares', { partials: pPartials, x: px, n, q0: Math.floor((w * chunks) / T), q1: Math.floor(((w + 1) * chunks) / T) });
      }
      pool.run(T);
      // chunk partials in increasing order, whatever the split
      const f64 = h.f64;
      let s = 0;
      for (let q = 0, o = pPartials >>> 3; q < chunks; q++) s += f64[o + q];
      return s;
    });
  }

  scale(x: Arr, a: number, n: number): void {
    if (x instanceof Float64Array) return this.ref.scale(x, a, n);
    if (n <= 0) return;
    const h = this.heap;
    h.staged(() => this.elementwise('scale', { x: h.out(x, n, true), a, n }, ['x'], 'n', n, ELEMENTWISE_MT));
  }

  zero(x: Arr, n: number): void {
    if (x instanceof Float64Array) return this.ref.zero(x, n);
    if (n <= 0) return;
    const h = this.heap;
    h.staged(() => this.elementwise('zero', { x: h.out(x, n, false), n }, ['x'], 'n', n, ELEMENTWISE_MT));
  }

  sumSquaresRows(x: Arr, width: number, rows: Int32Array, count: number): number {
    if (x instanceof Float64Array) return this.ref.sumSquaresRows(x, width, rows, count);
    if (count <= 0 || width <= 0) return 0;
    const h = this.heap;
    return h.staged(() => this.wasm.sumSquaresRowsF32(h.in(x, x.length - (x.length % width)), width, h.inI32(rows, count), count));
  }

  rowsOp(op: RowsOp, w: Arr, g: Arr | null, s: Arr | null, a: number, eps: number, width: number, rows: Int32Array, count: number): void {
    if (anyF64(w, g, s)) return this.ref.rowsOp(op, w, g, s, a, eps, width, rows, count);
    if (count <= 0 || width <= 0) return;
    const h = this.heap;
    const n = w.length - (w.length % width);
    h.staged(() => {
      const pr = h.inI32(rows, count);
      const pg = g ? h.in(g as Float32Array, n) : 0;
      const ps = s ? h.out(s as Float32Array, n, true) : 0;
      this.wasm.rowsOpF32(ROWS_OP[op], h.out(w as Float32Array, n, true), pg, ps, a, eps, width, pr, count);
    });
  }

  sgdUpdate(w: Arr, g: Arr, lr: number, n: number): void {
    if (anyF64(w, g)) return this.ref.sgdUpdate(w, g, lr, n);
    if (n <= 0) return;
    const h = this.heap;
    h.staged(() => {
      const pg = h.in(g as Float32Array, n);
      this.elementwise('sgd', { w: h.out(w as Float32Array, n, true), g: pg, lr, n }, ['w', 'g'], 'n', n, ELEMENTWISE_MT);
    });
  }

  adagradUpdate(w: Arr, s: Arr, g: Arr, lr: number, eps: number, n: number): void {
    if (anyF64(w, s, g)) return this.ref.adagradUpdate(w, s, g, lr, eps, n);
    if (n <= 0) return;
    const h = this.heap;
    h.staged(() => {
      const pg = h.in(g as Float32Array, n);
      const ps = h.out(s as Float32Array, n, true);
      this.elementwise('adagrad', { w: h.out(w as Float32Array, n, true), s: ps, g: pg, lr, eps, n }, ['w', 's', 'g'], 'n', n, ELEMENTWISE_MT);
    });
  }

  adamUpdate(w: Arr, m: Arr, v: Arr, g: Arr, lr: number, beta1: number, beta2: number, eps: number, t: number, n: number): void {
    if (anyF64(w, m, v, g)) return this.ref.adamUpdate(w, m, v, g, lr, beta1, beta2, eps, t, n);
    if (n <= 0) return;
    const h = this.heap;
    h.staged(() => {
      const pg = h.in(g as Float32Array, n);
      const pm = h.out(m as Float32Array, n, true);
      const pv = h.out(v as Float32Array, n, true);
      this.elementwise('adam', {
        w: h.out(w as Float32Array, n, true), m: pm, v: pv, g: pg, n, lr, beta1, beta2,
        oneMinusBeta1: 1 - beta1, oneMinusBeta2: 1 - beta2, eps, c1: 1 - Math.pow(beta1, t), c2: 1 - Math.pow(beta2, t),
      }, ['w', 'm', 'v', 'g'], 'n', n, ELEMENTWISE_MT);
    });
  }

  // ---- fused kernels (references: ref-fused.ts) --------------------------------------------

  dropoutMask(mask: Arr, n: number, p: number, k0: number, k1: number): void {
    if (mask instanceof Float64Array) return this.ref.dropoutMask(mask, n, p, k0, k1);
    if (n <= 0) return;
    const h = this.heap;
    h.staged(() => {
      const pm = h.out(mask, n, false);
      const pool = this.pool;
      const T = pool.threadsFor(n, ELEMENTWISE_MT);
      const units = Math.ceil(n / ELEMENTWISE_UNIT);
      const thr = dropThreshold(p);
      const keep = Math.fround(1 / (1 - p));
      for (let w = 0; w < T; w++) {
        const i0 = Math.min(n, Math.floor((w * units) / T) * ELEMENTWISE_UNIT);
        const i1 = Math.min(n, Math.floor(((w + 1) * units) / T) * ELEMENTWISE_UNIT);
        if (i1 <= i0) pool.idle(w);
        else pool.set(w, 'dropoutMask', { mask: pm, i0, i1, k0: k0 >>> 0, k1: k1 >>> 0, thr, keep });
      }
      pool.run(T);
    });
  }

  mul(y: Arr, x: Arr, m: Arr, n: number): void {
    if (anyF64(y, x, m)) return this.ref.mul(y, x, m, n);
    if (n <= 0) return;
    const h = this.heap;
    h.staged(() => {
      const pm = h.in(m as Float32Array, n);
      const px = y === x ? h.out(x as Float32Array, n, true) : h.in(x as Float32Array, n);
      const py = y === x ? px : h.out(y as Float32Array, n, false);
      this.elementwise('mul', { y: py, x: px, m: pm, n }, ['y', 'x', 'm'], 'n', n, ELEMENTWISE_MT);
    });
  }

  /**
   * Streams of a recurrence split across threads in whole GEMM row tiles: thread w takes
   * streams [b0, b1) and runs all T steps of them.
   */
  private streamSplit(B: number, flops: number, job: (w: number, b0: number, b1: number) => void): void {
    const pool = this.pool;
    const tiles = Math.ceil(B / this.gemmRows);
    const T = Math.min(tiles, pool.threadsFor(flops, GEMM_MT_FLOPS));
    for (let w = 0; w < T; w++) {
      const b0 = Math.min(B, Math.floor((w * tiles) / T) * this.gemmRows);
      const b1 = Math.min(B, Math.floor(((w + 1) * tiles) / T) * this.gemmRows);
      if (b1 <= b0) pool.idle(w);
      else job(w, b0, b1);
    }
    pool.run(T);
  }

  elmanSeqForward(Hs: Arr, WhT: Arr, T: number, B: number, H: number, act: Activation): void {
    if (anyF64(Hs, WhT)) return this.ref.elmanSeqForward(Hs, WhT, T, B, H, act);
    if (T <= 0 || B <= 0 || H <= 0) return;
    const code = actCode(act);
    const h = this.heap;
    h.staged(() => {
      const pw = h.in(WhT as Float32Array, H * H);
      const ph = h.out(Hs as Float32Array, (T + 1) * B * H, true);
      this.streamSplit(B, 2 * T * B * H * H, (w, b0, b1) =>
        this.pool.set(w, 'elmanSeqForward', { Hs: ph, WhT: pw, T, B, H, b0, b1, act: code, scratch: this.gemmScratch[w] }));
    });
  }

  elmanSeqBackward(dA: Arr, Hs: Arr, Wh: Arr, T: number, B: number, H: number, act: Activation): void {
    if (anyF64(dA, Hs, Wh)) return this.ref.elmanSeqBackward(dA, Hs, Wh, T, B, H, act);
    if (T <= 0 || B <= 0 || H <= 0) return;
    const code = actCode(act);
    const h = this.heap;
    h.staged(() => {
      const pw = h.in(Wh as Float32Array, H * H);
      const ph = h.in(Hs as Float32Array, (T + 1) * B * H);
      const pd = h.out(dA as Float32Array, T * B * H, true);
      this.streamSplit(B, 2 * T * B * H * H, (w, b0, b1) =>
        this.pool.set(w, 'elmanSeqBackward', { dA: pd, Hs: ph, Wh: pw, T, B, H, b0, b1, act: code, scratch: this.gemmScratch[w] }));
    });
  }

  /** An i32 copy of `a` on the heap (inside staged()), or the array itself when it lives there. */
  private inInts(a: Int32Array | Uint32Array, n: number): number {
    const o = this.heap.offsetOf(a);
    if (o >= 0) return o;
    checkLen(a, n);
    const p = this.heap.reserve(n * 4, 16);
    this.heap.i32.set(new Int32Array(a.buffer, a.byteOffset, n), p >>> 2);
    return p;
  }

  /** The max-ent descriptor [table, keys, O, S] on the heap (inside staged()), or 0 for none. */
  private directAt(d: DirectArgs | undefined, rows: number): number {
    if (!d) return 0;
    const p = this.heap.reserve(16, 16);
    const i32 = this.heap.i32;
    i32[p >>> 2] = this.heap.offsetOf(d.table);
    i32[(p >>> 2) + 1] = this.inInts(d.keys, rows * d.O);
    i32[(p >>> 2) + 2] = d.O;
    i32[(p >>> 2) + 3] = d.table.length;
    return p;
  }

  /** Whether a max-ent table can be read in place (a table elsewhere goes to the reference: it may be large). */
  private directInPlace(d: DirectArgs | undefined): boolean {
    return !d || (d.table instanceof Float32Array && this.heap.offsetOf(d.table) >= 0);
  }

  /** Classes by decreasing work n_c·s_c (taken in that order, the largest first), on the heap. */
  private classOrder(rowStart: Int32Array, wordStart: Int32Array, C: number): number {
    const order = Array.from({ length: C }, (_, c) => c);
    const work = (c: number): number => (rowStart[c + 1] - rowStart[c]) * (wordStart[c + 1] - wordStart[c]);
    order.sort((a, b) => work(b) - work(a) || a - b);
    const p = this.heap.reserve(C * 4, 16);
    this.heap.i32.set(order, p >>> 2);
    return p;
  }

  classWordsLoss(lp: Float64Array, Z: Arr, Hn: Arr, U: Arr, b2: Arr, plan: ClassPlan, H: number, grad: boolean, scale: number, direct?: DirectArgs): void {
    if (anyF64(Z, Hn, U, b2) || !this.directInPlace(direct)) return this.ref.classWordsLoss(lp, Z, Hn, U, b2, plan, H, grad, scale, direct);
    const { C, N } = plan;
    if (N <= 0) return;
    const { rowStart, wordStart, zStart } = planViews(plan);
    const V = wordStart[C];
    const h = this.heap;
    h.staged(() => {
      const pPlan = this.inInts(plan.data, 3 * C + 3 + 2 * N);
      const pZ = h.out(Z as Float32Array, zStart[C], false);
      const pHn = h.in(Hn as Float32Array, N * H);
      const pU = h.in(U as Float32Array, V * H);
      const pb = h.in(b2 as Float32Array, V);
      const pDirect = this.directAt(direct, N);
      const pLp = h.reserve(N * 8, 8);
      const pOrder = this.classOrder(rowStart, wordStart, C);
      let maxRows = 0;
      for (let c = 0; c < C; c++) maxRows = Math.max(maxRows, rowStart[c + 1] - rowStart[c]);
      const pool = this.pool;
      const T = pool.threadsFor(2 * zStart[C] * H, GEMM_MT_FLOPS);
      for (let w = 0; w < T; w++) {
        pool.set(w, 'classWordsLoss', {
          logProbs: pLp, Z: pZ, Hn: pHn, U: pU, b2: pb, plan: pPlan, C, N, H, order: pOrder, grad: grad ? 1 : 0, scale,
          rowScratch: h.reserve(maxRows * H * 4, 16), direct: pDirect,
        });
      }
      pool.run(T);
      lp.set(h.f64.subarray(pLp >>> 3, (pLp >>> 3) + N));
    });
  }

  classWordsBackward(dHn: Arr, dU: Arr, db2: Arr, Z: Arr, Hn: Arr, U: Arr, plan: ClassPlan, H: number): void {
    if (anyF64(dHn, dU, db2, Z, Hn, U)) return this.ref.classWordsBackward(dHn, dU, db2, Z, Hn, U, plan, H);
    const { C, N } = plan;
    if (N <= 0) return;
    const { rowStart, wordStart, zStart } = planViews(plan);
    const V = wordStart[C];
    const h = this.heap;
    h.staged(() => {
      const pPlan = this.inInts(plan.data, 3 * C + 3 + 2 * N);
      const pZ = h.in(Z as Float32Array, zStart[C]);
      const pHn = h.in(Hn as Float32Array, N * H);
      const pU = h.in(U as Float32Array, V * H);
      const pdHn = h.out(dHn as Float32Array, N * H, true);
      const pdU = h.out(dU as Float32Array, V * H, true);
      const pdb = h.out(db2 as Float32Array, V, true);
      const pOrder = this.classOrder(rowStart, wordStart, C);
      let maxRows = 0;
      for (let c = 0; c < C; c++) maxRows = Math.max(maxRows, rowStart[c + 1] - rowStart[c]);
      const pool = this.pool;
      const T = pool.threadsFor(4 * zStart[C] * H, GEMM_MT_FLOPS);
      for (let w = 0; w < T; w++) {
        pool.set(w, 'classWordsBackward', {
          dHn: pdHn, dU: pdU, db2: pdb, Z: pZ, Hn: pHn, U: pU, plan: pPlan, C, N, H, order: pOrder,
          rowScratch: h.reserve(2 * maxRows * H * 4, 16), scratch: this.gemmScratch[w],
        });
      }
      pool.run(T);
    });
  }

  hsLoss(lp: Float64Array, G: Arr, Hn: Arr, Wn: Arr, bn: Arr, tree: HsTree, batch: HsBatch, N: number, H: number, grad: boolean, scale: number, direct?: DirectArgs): void {
    if (anyF64(G, Hn, Wn, bn) || !this.directInPlace(direct)) return this.ref.hsLoss(lp, G, Hn, Wn, bn, tree, batch, N, H, grad, scale, direct);
    if (N <= 0) return;
    const V = tree.V;
    const h = this.heap;
    h.staged(() => {
      const pTree = this.inInts(tree.data, tree.data.length);
      const pTargets = h.inI32(batch.targets, N);
      const pRowOff = h.inI32(batch.rowOff, N + 1);
      const pG = h.out(G as Float32Array, batch.rowOff[N], false);
      const pHn = h.in(Hn as Float32Array, N * H);
      const pWn = h.in(Wn as Float32Array, (V - 1) * H);
      const pbn = h.in(bn as Float32Array, V - 1);
      const pDirect = this.directAt(direct, N);
      const pLp = h.reserve(N * 8, 8);
      const pool = this.pool;
      const T = Math.min(N, pool.threadsFor(2 * batch.rowOff[N] * H, GEMM_MT_FLOPS));
      const chunk = Math.ceil(N / (T * CHUNKS_PER_THREAD));
      for (let w = 0; w < T; w++) {
        pool.set(w, 'hsLoss', {
          logProbs: pLp, G: pG, Hn: pHn, Wn: pWn, bn: pbn, tree: pTree, V, targets: pTargets, rowOff: pRowOff, R: N, H,
          grad: grad ? 1 : 0, scale, direct: pDirect, chunk,
        });
      }
      pool.run(T);
      lp.set(h.f64.subarray(pLp >>> 3, (pLp >>> 3) + N));
    });
  }

  hsBackward(dHn: Arr, dWn: Arr, dbn: Arr, G: Arr, Hn: Arr, Wn: Arr, tree: HsTree, batch: HsBatch, N: number, H: number): void {
    if (anyF64(dHn, dWn, dbn, G, Hn, Wn)) return this.ref.hsBackward(dHn, dWn, dbn, G, Hn, Wn, tree, batch, N, H);
    if (N <= 0) return;
    const V = tree.V;
    const list = batch.nodeList;
    const M = list[0];
    const h = this.heap;
    h.staged(() => {
      const pTree = this.inInts(tree.data, tree.data.length);
      const pTargets = h.inI32(batch.targets, N);
      const pRowOff = h.inI32(batch.rowOff, N + 1);
      const pList = h.inI32(list, list.length);
      const pG = h.in(G as Float32Array, batch.rowOff[N]);
      const pHn = h.in(Hn as Float32Array, N * H);
      const pWn = h.in(Wn as Float32Array, (V - 1) * H);
      const pdHn = h.out(dHn as Float32Array, N * H, false);
      const pdWn = h.out(dWn as Float32Array, (V - 1) * H, true);
      const pdbn = h.out(dbn as Float32Array, V - 1, true);
      const pool = this.pool;
      const work = 2 * batch.rowOff[N] * H;
      // dJ/dh by rows, then the node gradients by nodes (each node's rows in increasing order)
      let T = Math.min(N, pool.threadsFor(work, GEMM_MT_FLOPS));
      let chunk = Math.ceil(N / (T * CHUNKS_PER_THREAD));
      for (let w = 0; w < T; w++) {
        pool.set(w, 'hsBackwardRows', { dHn: pdHn, G: pG, Wn: pWn, tree: pTree, V, targets: pTargets, rowOff: pRowOff, R: N, H, chunk });
      }
      pool.run(T);
      T = Math.max(1, Math.min(M, pool.threadsFor(work, GEMM_MT_FLOPS)));
      chunk = Math.max(1, Math.ceil(M / (T * CHUNKS_PER_THREAD)));
      for (let w = 0; w < T; w++) pool.set(w, 'hsBackwardNodes', { dWn: pdWn, dbn: pdbn, G: pG, Hn: pHn, list: pList, M, H, chunk });
      pool.run(T);
    });
  }

  /** Whether a sparse gradient lives in this memory in float32 (else the reference takes the call). */
  private sparseInPlace(sg: SparseGrad): boolean {
    const h = this.heap;
    return sg.g instanceof Float32Array && h.offsetOf(sg.g) >= 0 && h.offsetOf(sg.flags) >= 0 && h.offsetOf(sg.list) >= 0;
  }

  directAdd(Z: Arr, ld: number, d: DirectArgs, R: number, n: number): void {
    if (anyF64(Z) || !this.directInPlace(d)) return this.ref.directAdd(Z, ld, d, R, n);
    if (R <= 0 || n <= 0) return;
    const h = this.heap;
    h.staged(() => {
      const pk = this.inInts(d.keys, R * d.O);
      const pZ = h.out(Z as Float32Array, (R - 1) * ld + n, true);
      this.wasm.directAddF32(pZ, ld, h.offsetOf(d.table), pk, d.O, d.table.length, 0, R, n);
    });
  }

  directGrad(sg: SparseGrad, dZ: Arr, ld: number, keys: Uint32Array, O: number, R: number, n: number): void {
    if (anyF64(dZ) || !this.sparseInPlace(sg)) return this.ref.directGrad(sg, dZ, ld, keys, O, R, n);
    if (R <= 0 || n <= 0) return;
    const h = this.heap;
    h.staged(() => this.wasm.directGradF32(
      h.offsetOf(sg.g), h.offsetOf(sg.flags), h.offsetOf(sg.list), h.in(dZ as Float32Array, (R - 1) * ld + n), ld,
      this.inInts(keys, R * O), O, sg.g.length, R, n));
  }

  directGradClassWords(sg: SparseGrad, Z: Arr, plan: ClassPlan, keys: Uint32Array, O: number): void {
    if (anyF64(Z) || !this.sparseInPlace(sg)) return this.ref.directGradClassWords(sg, Z, plan, keys, O);
    const { C, N } = plan;
    if (N <= 0) return;
    const h = this.heap;
    h.staged(() => this.wasm.directGradClassWordsF32(
      h.offsetOf(sg.g), h.offsetOf(sg.flags), h.offsetOf(sg.list), h.in(Z as Float32Array, planViews(plan).zStart[C]),
      this.inInts(plan.data, 3 * C + 3 + 2 * N), C, this.inInts(keys, N * O), O, sg.g.length));
  }

  directGradHs(sg: SparseGrad, G: Arr, tree: HsTree, batch: HsBatch, keys: Uint32Array, O: number, N: number): void {
    if (anyF64(G) || !this.sparseInPlace(sg)) return this.ref.directGradHs(sg, G, tree, batch, keys, O, N);
    if (N <= 0) return;
    const h = this.heap;
    h.staged(() => this.wasm.directGradHsF32(
      h.offsetOf(sg.g), h.offsetOf(sg.flags), h.offsetOf(sg.list), h.in(G as Float32Array, batch.rowOff[N]),
      this.inInts(tree.data, tree.data.length), tree.V, h.inI32(batch.targets, N), h.inI32(batch.rowOff, N + 1),
      this.inInts(keys, N * O), O, sg.g.length, N));
  }

  sparseSumSquares(sg: SparseGrad): number {
    if (!this.sparseInPlace(sg)) return this.ref.sparseSumSquares(sg);
    return this.wasm.sparseSumSquaresF32(this.heap.offsetOf(sg.g), this.heap.offsetOf(sg.list));
  }

  sparseUpdate(sg: SparseGrad, w: Arr, m: Arr | null, v: Arr | null, st: SparseStep): void {
    const h = this.heap;
    const owned = (a: Arr | null): boolean => a === null || (a instanceof Float32Array && h.offsetOf(a) >= 0);
    if (!this.sparseInPlace(sg) || !owned(w) || !owned(m) || !owned(v)) return this.ref.sparseUpdate(sg, w, m, v, st);
    const kind = st.kind === 'sgd' ? 0 : st.kind === 'adam' ? 1 : 2;
    this.wasm.sparseUpdateF32(
      kind, h.offsetOf(w), m ? h.offsetOf(m) : 0, v ? h.offsetOf(v) : 0, h.offsetOf(sg.g), h.offsetOf(sg.flags), h.offsetOf(sg.list),
      st.gs, st.lr, st.beta1, st.beta2, 1 - st.beta1, 1 - st.beta2, st.eps, st.c1, st.c2);
  }

  /** y[i] = e^{x[i]} by the kernels' vectorised f32 exp (not part of Kernels; for tests). */
  exp(y: Float32Array, x: Float32Array, n: number): void {
    if (n <= 0) return;
    const h = this.heap;
    h.staged(() => {
      const px = h.in(x, n);
      this.wasm.expF32(h.out(y, n, false), px, n);
    });
  }
}

/** Whether any argument is float64 (then the whole call goes to the reference). */
function anyF64(...xs: (Arr | null)[]): boolean {
  for (const x of xs) if (x instanceof Float64Array) return true;
  return false;
}

function actCode(act: Activation): number {
  const code = ACT_CODE[act];
  if (code === undefined) throw new RangeError(`activation must be one of sigmoid, tanh, relu; got ${String(act)}`);
  return code;
}

function checkIds(what: string, ids: Int32Array, R: number, tableLength: number, C: number): void {
  checkLen(ids, R);
  const rows = Math.floor(tableLength / C);
  for (let r = 0; r < R; r++) {
    const id = ids[r];
    if (!(id >= 0 && id < rows)) throw new RangeError(`${what}: id ${id} at row ${r} is outside the table's [0, ${rows}) rows`);
  }
}
