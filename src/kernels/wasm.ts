// The WebAssembly SIMD backend: kernels from assembly/ (AssemblyScript, built by `npm run asbuild`)
// over one shared WebAssembly.Memory that this file owns, optionally split across worker threads.
// Legend: M, N, K matrix dims; R rows, C columns; n element count; T threads; MR×NR GEMM tile.
//
// Memory layout (byte offsets): [0, heapBase) the module's static data; the control block and one
// job row per thread (wasm-ops.ts); one GEMM packing scratch per thread; then a bump heap. alloc()
// hands out zeroed views of the heap that every kernel uses in place. Any other Float32Array is
// copied into a staging area at the top of the heap for the call (and copied back if written);
// a Float64Array anywhere in a call sends the whole call to the reference (gradient checks).
//
// Threads: the main thread writes one job row per thread, bumps ctrl[GEN] and notifies; each
// worker runs its row and counts ctrl[PENDING] down; the main thread runs row 0 and then waits
// (Atomics.wait: the Kernels interface stays synchronous). Element-wise kernels split statically;
// GEMM (by column or row tiles) and softmax (by rows) are cut into chunks that the threads take
// from a shared counter, so a thread the OS schedules late does less. Threads own disjoint
// outputs, and reductions (softmax loss, sumSquares) are per-row or per-fixed-chunk partials
// added here in order, so results are bit-identical for any thread count. Small calls stay on
// the main thread (thresholds below): a wake-up round trip costs ~16 µs.

import type { Activation, Arr, Kernels } from './kernels.js';
import type { NativeGemm } from './native.js';
import { gemmRef, RefKernels, softmaxXentRef } from './ref.js';
import {
  CTRL_BYTES, CTRL_INTS, ERROR, ERROR_OP, GEN, GemmSplit, JOB_WORDS, NEXT, Op, PENDING, QUIT, runJob, wasmApi,
  type WasmExports, type WasmMemory, type WasmModule, type WorkerInit,
} from './wasm-ops.js';

/** A started worker, as the platform loader returns it. */
export interface WorkerHandle {
  terminate(): void;
}

/** What the backend needs from the host (Node: loader-node.ts; a browser loader later). */
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

export interface WasmKernelsOptions {
  /** Threads including the main thread (≥ 1; default 1). */
  threads?: number;
  /** Use the relaxed-simd (FMA) build; default: when the runtime supports it. */
  relaxed?: boolean;
  /**
   * Node only: a native GEMM (native.ts, OpenBLAS) that takes every float32 GEMM on this
   * memory; the other kernels stay in wasm.
   */
  nativeGemm?: NativeGemm;
}

const PAGE_BYTES = 65536;
/** Must equal maximumMemory in assembly/asconfig.json (4 GiB: the wasm32 limit). */
const MAX_PAGES = 65536;
/** Must be ≥ initialMemory in assembly/asconfig.json. */
const INITIAL_PAGES = 64;
/** GEMM register tile width (assembly/gemm.ts NR). */
const NR = 8;

/** Whether any argument is float64 (then the whole call goes to the reference). */
function anyF64(...xs: (Arr | null)[]): boolean {
  for (const x of xs) if (x instanceof Float64Array) return true;
  return false;
}

/** Columns per unit of a GEMV's split across threads (the kernel's widest block). */
const GEMV_UNIT = 16;
/** Split a GEMM across threads from this many flops (2·M·N·K) up. */
const GEMM_MT_FLOPS = 4e6;
/** Split softmaxXent from this many logits (R·C) up. */
const SOFTMAX_MT = 1 << 15;
/** Split activations (exp per element) from this many elements up. */
const ACT_MT = 1 << 15;
/** Split memory-bound element-wise kernels (optimizers, scale, sums) from this many elements up. */
const EW_MT = 1 << 17;
/** Element-wise splits fall on multiples of this many elements (whole vectors, whole lines). */
const EW_UNIT = 16;
/**
 * GEMM and softmax are cut into about this many chunks per thread, taken dynamically: on a
 * loaded machine a thread scheduled late takes fewer (at ~0.5-1% extra packing cost).
 */
const CHUNKS_PER_THREAD = 4;
/** ... but no GEMM chunk below this many flops (each chunk packs its other operand again). */
const GEMM_CHUNK_FLOPS = 2e6;
/** ... and no softmax chunk below this many logits. */
const SOFTMAX_CHUNK = 1 << 14;
/** Polls of ctrl[PENDING] before the main thread sleeps. */
const MAIN_SPIN = 20000;

const ACT_CODE: Record<Activation, number> = { sigmoid: 0, tanh: 1, relu: 2 };

/** Load the module and start the threads; see WasmKernelsOptions. */
export async function createWasmKernels(platform: WasmPlatform, opts: WasmKernelsOptions = {}): Promise<WasmKernels> {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new RangeError(`wasm kernels: threads must be an integer in [1, 64], got ${threads}`);
  }
  if (!platform.simdSupported()) throw new Error(`wasm kernels: this runtime (${platform.name}) has no WebAssembly SIMD`);
  const relaxedOk = platform.relaxedSimdSupported();
  const relaxed = opts.relaxed ?? relaxedOk;
  if (relaxed && !relaxedOk) throw new Error(`wasm kernels: this runtime (${platform.name}) has no relaxed SIMD; pass relaxed: false`);
  const module = await platform.compile(relaxed);
  const memory = new wasmApi.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
  const instance = await wasmApi.instantiate(module, { env: { memory } });
  const kernels = new WasmKernels(instance.exports as unknown as WasmExports, memory, relaxed, threads, opts.nativeGemm);
  try {
    const started = await Promise.allSettled(
      Array.from({ length: threads - 1 }, (_, i) =>
        platform.startWorker({ module, memory, index: i + 1, ctrlOffset: kernels.ctrlOffset })),
    );
    for (const s of started) if (s.status === 'fulfilled') kernels.workers.push(s.value);
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
  /** Byte offset of the control block (for the workers). */
  readonly ctrlOffset: number;
  /** Started workers (threads - 1 of them until dispose()). */
  readonly workers: WorkerHandle[] = [];

  private readonly ex: WasmExports;
  private readonly memory: WasmMemory;
  private readonly ref = new RefKernels();
  private threads: number;
  /** The native GEMM that replaces the wasm one, if given. */
  private readonly native: NativeGemm | null;
  private readonly mr: number;
  private readonly sumsqChunk: number;
  /** Every buffer object memory.buffer has returned (a shared memory's grow makes a new one). */
  private readonly buffers = new Set<ArrayBufferLike>();
  private buffer!: ArrayBufferLike;
  private f32!: Float32Array;
  private i32!: Int32Array;
  private f64!: Float64Array;
  private readonly ctrl: Int32Array;
  /** One job row of JOB_WORDS float64 per thread. */
  private readonly jobs: Float64Array;
  /** Per-thread GEMM packing scratch (byte offsets). */
  private readonly gemmScratch: number[] = [];
  /** Bump pointer: first free byte of the heap. */
  private top: number;
  /** Highest `top` so far: memory from here up has never been written (still zero). */
  private dirtyEnd = 0;
  /** Staged Float32Arrays to copy back after the current call: (array, byte offset, length). */
  private readonly backArrs: Float32Array[] = [];
  private readonly backPtrs: number[] = [];
  private readonly backLens: number[] = [];
  private disposed = false;

  constructor(ex: WasmExports, memory: WasmMemory, relaxed: boolean, threads: number, nativeGemm?: NativeGemm) {
    this.ex = ex;
    this.native = nativeGemm ?? null;
    this.native?.bind(memory.buffer as SharedArrayBuffer);
    this.memory = memory;
    this.relaxed = relaxed;
    this.threads = threads;
    this.mr = ex.gemmMR();
    this.sumsqChunk = ex.sumSquaresChunk();
    this.refresh();
    this.top = ex.heapBase() >>> 0;
    this.ctrlOffset = this.reserve(CTRL_BYTES + threads * JOB_WORDS * 8, 64);
    this.ctrl = new Int32Array(this.buffer, this.ctrlOffset, CTRL_INTS);
    this.jobs = new Float64Array(this.buffer, this.ctrlOffset + CTRL_BYTES, threads * JOB_WORDS);
    const scratch = ex.gemmScratchBytes();
    for (let t = 0; t < threads; t++) this.gemmScratch.push(this.reserve(scratch, 64));
    this.name = `wasm-simd${relaxed ? '+fma' : ''}${this.native ? ' + OpenBLAS GEMM' : ''}, ${threads} thread${threads === 1 ? '' : 's'}`;
  }

  /** Stop the workers (Kernels.dispose); later calls run on the main thread alone. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.workers.length > 0) {
      Atomics.store(this.ctrl, QUIT, 1);
      Atomics.add(this.ctrl, GEN, 1);
      Atomics.notify(this.ctrl, GEN);
      for (const w of this.workers) w.terminate();
      this.workers.length = 0;
    }
    this.threads = 1;
  }

  /** Threads in use (1 after dispose()). */
  get threadCount(): number {
    return this.threads;
  }

  alloc(n: number): Float32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`alloc: n must be a non-negative integer, got ${n}`);
    const dirtyEnd = this.dirtyEnd;
    const p = this.reserve(n * 4, 64);
    // bytes at or above dirtyEnd were never handed out: still the zeros of a fresh memory
    if (p < dirtyEnd) this.f32.fill(0, p >>> 2, Math.min((p >>> 2) + n, dirtyEnd >>> 2));
    return new Float32Array(this.buffer, p, n);
  }

  /** Whether `a` lives in this backend's memory (kernels then use it in place, without copies). */
  owns(a: ArrayBufferView): boolean {
    return this.offsetOf(a) >= 0;
  }

  /** Bytes of wasm memory in use (static data, control block, scratch, heap). */
  get heapBytes(): number {
    return this.top;
  }

  /** Current size of the wasm memory in bytes (it grows as alloc() needs). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  // ---- memory -------------------------------------------------------------------------------

  private refresh(): void {
    this.buffer = this.memory.buffer;
    this.buffers.add(this.buffer);
    this.f32 = new Float32Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
  }

  /** Reserve `bytes` at the top of the heap, aligned; grows the memory when needed. */
  private reserve(bytes: number, align: number): number {
    const p = Math.ceil(this.top / align) * align;
    const end = p + bytes;
    if (end > this.buffer.byteLength) {
      const have = this.buffer.byteLength / PAGE_BYTES;
      const need = Math.ceil(end / PAGE_BYTES);
      if (need > MAX_PAGES) {
        throw new RangeError(`wasm kernels: out of memory: need ${end} bytes, the maximum is ${MAX_PAGES * PAGE_BYTES}`);
      }
      // grow by at least a quarter to keep the number of grows (and buffer objects) small
      const grow = Math.min(MAX_PAGES - have, Math.max(need - have, Math.ceil(have / 4)));
      this.memory.grow(grow);
      this.refresh();
    }
    this.top = end;
    if (end > this.dirtyEnd) this.dirtyEnd = end;
    return p;
  }

  /** Byte offset of `a` in this memory, or -1 when `a` lives elsewhere. */
  private offsetOf(a: ArrayBufferView): number {
    if (this.buffers.has(a.buffer)) return a.byteOffset;
    if (this.memory.buffer !== this.buffer) {
      this.refresh();
      if (this.buffers.has(a.buffer)) return a.byteOffset;
    }
    return -1;
  }

  /** Pointer to the first n floats of a (read only by the kernel): in place, or a staged copy. */
  private in(a: Float32Array, n: number): number {
    checkLen(a, n);
    const o = this.offsetOf(a);
    if (o >= 0) return o;
    const p = this.reserve(n * 4, 16);
    this.f32.set(n === a.length ? a : a.subarray(0, n), p >>> 2);
    return p;
  }

  /** Pointer to the first n floats of a, which the kernel writes (copyIn: and reads). */
  private out(a: Float32Array, n: number, copyIn: boolean): number {
    checkLen(a, n);
    const o = this.offsetOf(a);
    if (o >= 0) return o;
    const p = this.reserve(n * 4, 16);
    if (copyIn) this.f32.set(n === a.length ? a : a.subarray(0, n), p >>> 2);
    this.backArrs.push(a);
    this.backPtrs.push(p);
    this.backLens.push(n);
    return p;
  }

  /** Pointer to the first n ints of a (read only): in place, or a staged copy. */
  private inI32(a: Int32Array, n: number): number {
    checkLen(a, n);
    const o = this.offsetOf(a);
    if (o >= 0) return o;
    const p = this.reserve(n * 4, 16);
    this.i32.set(n === a.length ? a : a.subarray(0, n), p >>> 2);
    return p;
  }

  /** Copy staged outputs back (after a successful call). */
  private flush(): void {
    const f32 = this.f32;
    for (let i = 0; i < this.backArrs.length; i++) {
      const p = this.backPtrs[i] >>> 2;
      this.backArrs[i].set(f32.subarray(p, p + this.backLens[i]));
    }
  }

  /** Drop the staging area of a call. */
  private release(mark: number): void {
    this.top = mark;
    this.backArrs.length = 0;
    this.backPtrs.length = 0;
    this.backLens.length = 0;
  }

  // ---- threads ------------------------------------------------------------------------------

  /**
   * Run job rows 0..T-1 (row 0 on this thread) and wait for them. T = 1 runs row 0 alone
   * without waking anyone; otherwise every worker wakes (rows ≥ T must be Op.None).
   */
  private runAll(T: number): void {
    const ctrl = this.ctrl;
    Atomics.store(ctrl, NEXT, 0);
    if (T === 1 || this.threads === 1) {
      runJob(this.ex, ctrl, this.jobs, 0);
      return;
    }
    Atomics.store(ctrl, ERROR, 0);
    Atomics.store(ctrl, PENDING, this.threads - 1);
    Atomics.add(ctrl, GEN, 1);
    Atomics.notify(ctrl, GEN);
    try {
      runJob(this.ex, ctrl, this.jobs, 0);
    } finally {
      let spins = 0;
      for (let p = Atomics.load(ctrl, PENDING); p !== 0; p = Atomics.load(ctrl, PENDING)) {
        if (spins++ > MAIN_SPIN) Atomics.wait(ctrl, PENDING, p);
      }
    }
    const errors = Atomics.load(ctrl, ERROR);
    if (errors !== 0) {
      throw new Error(`wasm kernels: ${errors} worker job(s) failed (opcode ${Atomics.load(ctrl, ERROR_OP)})`);
    }
  }

  /** Threads to use for `work` units of a kernel that is worth splitting from `threshold` up. */
  private threadsFor(work: number, threshold: number): number {
    return work >= threshold ? this.threads : 1;
  }

  /** Clear job rows [from, threads). */
  private idle(from: number): void {
    for (let w = from; w < this.threads; w++) this.jobs[w * JOB_WORDS] = Op.None;
  }

  /**
   * An element-wise kernel over n elements: `ptrs` advance with the split, `scalars` do not.
   * Row layout: [op, ...ptrs, n, ...scalars] when nBeforeScalars, else [op, ...ptrs, ...scalars, n].
   */
  private elementwise(op: Op, ptrs: number[], scalars: number[], n: number, nBeforeScalars: boolean, threshold: number): void {
    const T = this.threadsFor(n, threshold);
    const units = Math.ceil(n / EW_UNIT);
    const jobs = this.jobs;
    for (let w = 0; w < T; w++) {
      const i0 = Math.min(n, Math.floor((w * units) / T) * EW_UNIT);
      const i1 = Math.min(n, Math.floor(((w + 1) * units) / T) * EW_UNIT);
      let o = w * JOB_WORDS;
      if (i1 <= i0) {
        jobs[o] = Op.None;
        continue;
      }
      jobs[o++] = op;
      for (const p of ptrs) jobs[o++] = p + i0 * 4;
      if (nBeforeScalars) jobs[o++] = i1 - i0;
      for (const s of scalars) jobs[o++] = s;
      if (!nBeforeScalars) jobs[o++] = i1 - i0;
    }
    this.idle(T);
    this.runAll(T);
  }

  // ---- kernels ------------------------------------------------------------------------------

  gemm(C: Arr, A: Arr, B: Arr, M: number, N: number, K: number, transA: boolean, transB: boolean, beta: 0 | 1): void {
    if (C instanceof Float64Array || A instanceof Float64Array || B instanceof Float64Array) {
      gemmRef(C, A, B, M, N, K, transA, transB, beta);
      return;
    }
    if (M <= 0 || N <= 0) return;
    const mark = this.top;
    try {
      const pa = this.in(A, M * K);
      const pb = this.in(B, K * N);
      const pc = this.out(C, M * N, beta === 1);
      this.gemmPtr(pc, pa, pb, M, N, K, transA, transB, beta);
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  /**
   * GEMM on byte offsets (see gemm). Across threads, the larger of M and N (in tiles) is cut
   * into about CHUNKS_PER_THREAD chunks per thread of whole tiles, taken dynamically.
   */
  private gemmPtr(pc: number, pa: number, pb: number, M: number, N: number, K: number, transA: boolean, transB: boolean, beta: 0 | 1): void {
    if (this.native) {
      this.native.sgemm(pc, pa, pb, N, transA ? M : K, transB ? K : N, M, N, K, transA ? 1 : 0, transB ? 1 : 0, beta);
      return;
    }
    if (M === 1) {
      // one row (op(A) is K contiguous floats either way): a GEMV, columns split across threads
      const T = this.threadsFor(2 * N * K, GEMM_MT_FLOPS);
      const units = Math.ceil(N / GEMV_UNIT);
      const ldb = transB ? K : N;
      for (let w = 0; w < T; w++) {
        const j0 = Math.min(N, Math.floor((w * units) / T) * GEMV_UNIT);
        const j1 = Math.min(N, Math.floor(((w + 1) * units) / T) * GEMV_UNIT);
        this.setJob(w, j1 > j0 ? [Op.Gemv, pc + j0 * 4, pa, pb + (transB ? j0 * ldb : j0) * 4, ldb, j1 - j0, K, transB ? 1 : 0, beta] : [Op.None]);
      }
      this.idle(T);
      this.runAll(T);
      return;
    }
    const T = this.threadsFor(2 * M * N * K, GEMM_MT_FLOPS);
    let split = GemmSplit.None;
    let chunk = 0;
    if (T > 1) {
      const tilesM = Math.ceil(M / this.mr);
      const tilesN = Math.ceil(N / NR);
      const byCols = tilesN >= tilesM;
      const tiles = byCols ? tilesN : tilesM;
      split = byCols ? GemmSplit.Cols : GemmSplit.Rows;
      const chunks = Math.max(T, Math.min(T * CHUNKS_PER_THREAD, Math.floor((2 * M * N * K) / GEMM_CHUNK_FLOPS)));
      chunk = Math.ceil(tiles / chunks) * (byCols ? NR : this.mr);
    }
    const jobs = this.jobs;
    for (let w = 0; w < T; w++) {
      jobs.set([Op.Gemm, pc, pa, pb, N, transA ? M : K, transB ? K : N, M, N, K,
        transA ? 1 : 0, transB ? 1 : 0, beta, this.gemmScratch[w], split, chunk], w * JOB_WORDS);
    }
    this.idle(T);
    this.runAll(T);
  }

  addBias(Y: Arr, b: Arr, R: number, C: number): void {
    if (Y instanceof Float64Array || b instanceof Float64Array) return this.ref.addBias(Y, b, R, C);
    if (R <= 0 || C <= 0) return;
    const mark = this.top;
    try {
      const pb = this.in(b, C);
      const py = this.out(Y, R * C, true);
      const T = this.threadsFor(R * C, EW_MT);
      for (let w = 0; w < T; w++) {
        const r0 = Math.floor((w * R) / T);
        const r1 = Math.floor(((w + 1) * R) / T);
        this.setJob(w, r1 > r0 ? [Op.AddBias, py + r0 * C * 4, pb, r1 - r0, C, C] : [Op.None]);
      }
      this.idle(T);
      this.runAll(T);
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  sumRows(db: Arr, dY: Arr, R: number, C: number): void {
    if (db instanceof Float64Array || dY instanceof Float64Array) return this.ref.sumRows(db, dY, R, C);
    if (R <= 0 || C <= 0) return;
    const mark = this.top;
    try {
      const py = this.in(dY, R * C);
      const pd = this.out(db, C, true);
      // split columns (each column keeps its row order); units of 4 columns
      const T = this.threadsFor(R * C, EW_MT);
      const units = Math.ceil(C / 4);
      for (let w = 0; w < T; w++) {
        const c0 = Math.min(C, Math.floor((w * units) / T) * 4);
        const c1 = Math.min(C, Math.floor(((w + 1) * units) / T) * 4);
        this.setJob(w, c1 > c0 ? [Op.SumRows, pd + c0 * 4, py + c0 * 4, R, c1 - c0, C] : [Op.None]);
      }
      this.idle(T);
      this.runAll(T);
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  actForward(y: Arr, x: Arr, n: number, act: Activation): void {
    if (y instanceof Float64Array || x instanceof Float64Array) return this.ref.actForward(y, x, n, act);
    if (n <= 0) return;
    const code = actCode(act);
    const mark = this.top;
    try {
      const px = this.in(x, n);
      const py = y === x ? px : this.out(y, n, false);
      if (y === x && px !== this.offsetOf(x)) this.back(x, px, n);
      this.elementwise(Op.ActForward, [py, px], [code], n, true, ACT_MT);
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  actBackward(dx: Arr, y: Arr, dy: Arr, n: number, act: Activation): void {
    if (dx instanceof Float64Array || y instanceof Float64Array || dy instanceof Float64Array) {
      return this.ref.actBackward(dx, y, dy, n, act);
    }
    if (n <= 0) return;
    const code = actCode(act);
    const mark = this.top;
    try {
      const py = this.in(y, n);
      const pdy = this.in(dy, n);
      const pdx = dx === dy ? pdy : this.out(dx, n, false);
      if (dx === dy && pdy !== this.offsetOf(dy)) this.back(dy, pdy, n);
      this.elementwise(Op.ActBackward, [pdx, py, pdy], [code], n, true, EW_MT);
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  softmaxXent(logits: Arr, targets: Int32Array, R: number, C: number, grad: boolean, scale: number, logProbs?: Float64Array): number {
    if (logits instanceof Float64Array) return softmaxXentRef(logits, targets, R, C, grad, scale, logProbs);
    if (R <= 0) return 0;
    checkLen(targets, R);
    for (let r = 0; r < R; r++) {
      const t = targets[r];
      if (!(t >= 0 && t < C)) throw new RangeError(`softmaxXent: target ${t} at row ${r} is outside [0, ${C})`);
    }
    const mark = this.top;
    try {
      const pl = grad ? this.out(logits, R * C, true) : this.in(logits, R * C);
      const pt = this.inI32(targets, R);
      const plp = this.reserve(R * 8, 8);
      const T = Math.min(R, this.threadsFor(R * C, SOFTMAX_MT));
      const chunks = Math.max(T, Math.min(T * CHUNKS_PER_THREAD, Math.floor((R * C) / SOFTMAX_CHUNK)));
      const chunk = Math.ceil(R / chunks);
      for (let w = 0; w < T; w++) this.setJob(w, [Op.Softmax, pl, pt, plp, R, C, grad ? 1 : 0, scale, chunk]);
      this.idle(T);
      this.runAll(T);
      // Σ_r -log p(target_r) in row order, whatever the split
      const lp = this.f64;
      const o = plp >>> 3;
      let total = 0;
      for (let r = 0; r < R; r++) {
        total -= lp[o + r];
        if (logProbs) logProbs[r] = lp[o + r];
      }
      this.flush();
      return total;
    } finally {
      this.release(mark);
    }
  }

  /** Run `call` with a staging mark: outputs staged by it are copied back on success; released always. */
  private staged(call: () => void): void {
    const mark = this.top;
    try {
      call();
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  transpose(out: Arr, x: Arr, R: number, C: number): void {
    if (anyF64(out, x)) return this.ref.transpose(out, x, R, C);
    if (R <= 0 || C <= 0) return;
    this.staged(() => this.ex.transposeF32(this.out(out as Float32Array, R * C, false), this.in(x as Float32Array, R * C), R, C));
  }

  lstmForward(G: Arr, cPrev: Arr, c: Arr, tc: Arr, h: Arr, B: number, H: number): void {
    if (anyF64(G, cPrev, c, tc, h)) return this.ref.lstmForward(G, cPrev, c, tc, h, B, H);
    if (B <= 0 || H <= 0) return;
    const n = B * H;
    this.staged(() => this.ex.lstmForwardF32(
      this.out(G as Float32Array, 4 * n, true), this.in(cPrev as Float32Array, n), this.out(c as Float32Array, n, false),
      this.out(tc as Float32Array, n, false), this.out(h as Float32Array, n, false), B, H));
  }

  lstmBackward(dG: Arr, G: Arr, cPrev: Arr, tc: Arr, dh: Arr, dc: Arr, B: number, H: number): void {
    if (anyF64(dG, G, cPrev, tc, dh, dc)) return this.ref.lstmBackward(dG, G, cPrev, tc, dh, dc, B, H);
    if (B <= 0 || H <= 0) return;
    const n = B * H;
    this.staged(() => this.ex.lstmBackwardF32(
      this.out(dG as Float32Array, 4 * n, false), this.in(G as Float32Array, 4 * n), this.in(cPrev as Float32Array, n),
      this.in(tc as Float32Array, n), this.in(dh as Float32Array, n), this.out(dc as Float32Array, n, true), B, H));
  }

  gruForward(Gi: Arr, Gh: Arr, hPrev: Arr, h: Arr, B: number, H: number): void {
    if (anyF64(Gi, Gh, hPrev, h)) return this.ref.gruForward(Gi, Gh, hPrev, h, B, H);
    if (B <= 0 || H <= 0) return;
    const n = B * H;
    this.staged(() => this.ex.gruForwardF32(
      this.out(Gi as Float32Array, 3 * n, true), this.in(Gh as Float32Array, 3 * n), this.in(hPrev as Float32Array, n),
      this.out(h as Float32Array, n, false), B, H));
  }

  gruBackward(dGi: Arr, dGh: Arr, Gi: Arr, Gh: Arr, hPrev: Arr, dh: Arr, dhPrev: Arr | null, B: number, H: number): void {
    if (anyF64(dGi, dGh, Gi, Gh, hPrev, dh, dhPrev)) return this.ref.gruBackward(dGi, dGh, Gi, Gh, hPrev, dh, dhPrev, B, H);
    if (B <= 0 || H <= 0) return;
    const n = B * H;
    this.staged(() => this.ex.gruBackwardF32(
      this.out(dGi as Float32Array, 3 * n, false), this.out(dGh as Float32Array, 3 * n, false), this.in(Gi as Float32Array, 3 * n),
      this.in(Gh as Float32Array, 3 * n), this.in(hPrev as Float32Array, n), this.in(dh as Float32Array, n),
      dhPrev ? this.out(dhPrev as Float32Array, n, true) : 0, B, H));
  }

  gatherRows(out: Arr, table: Arr, ids: Int32Array, R: number, C: number): void {
    if (out instanceof Float64Array || table instanceof Float64Array) return this.ref.gatherRows(out, table, ids, R, C);
    if (R <= 0 || C <= 0) return;
    checkIds('gatherRows', ids, R, table.length, C);
    const mark = this.top;
    try {
      const pt = this.in(table, table.length - (table.length % C));
      const pi = this.inI32(ids, R);
      const po = this.out(out, R * C, false);
      this.ex.gatherRowsF32(po, pt, pi, R, C);
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  scatterAddRows(dTable: Arr, dOut: Arr, ids: Int32Array, R: number, C: number): void {
    if (dTable instanceof Float64Array || dOut instanceof Float64Array) return this.ref.scatterAddRows(dTable, dOut, ids, R, C);
    if (R <= 0 || C <= 0) return;
    checkIds('scatterAddRows', ids, R, dTable.length, C);
    const mark = this.top;
    try {
      const po = this.in(dOut, R * C);
      const pi = this.inI32(ids, R);
      const pt = this.out(dTable, dTable.length - (dTable.length % C), true);
      this.ex.scatterAddRowsF32(pt, po, pi, R, C);
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  sumSquares(x: Arr, n: number): number {
    if (x instanceof Float64Array) return this.ref.sumSquares(x, n);
    if (n <= 0) return 0;
    const mark = this.top;
    try {
      const px = this.in(x, n);
      const chunks = Math.ceil(n / this.sumsqChunk);
      const pp = this.reserve(chunks * 8, 8);
      const T = Math.min(chunks, this.threadsFor(n, EW_MT));
      for (let w = 0; w < T; w++) {
        const q0 = Math.floor((w * chunks) / T);
        const q1 = Math.floor(((w + 1) * chunks) / T);
        this.setJob(w, [Op.SumSquares, pp, px, n, q0, q1]);
      }
      this.idle(T);
      this.runAll(T);
      // chunk partials in increasing order, whatever the split
      const f64 = this.f64;
      let s = 0;
      for (let q = 0, o = pp >>> 3; q < chunks; q++) s += f64[o + q];
      return s;
    } finally {
      this.release(mark);
    }
  }

  scale(x: Arr, a: number, n: number): void {
    if (x instanceof Float64Array) return this.ref.scale(x, a, n);
    if (n <= 0) return;
    const mark = this.top;
    try {
      const px = this.out(x, n, true);
      this.elementwise(Op.Scale, [px], [a], n, false, EW_MT);
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  sgdUpdate(w: Arr, g: Arr, lr: number, n: number): void {
    if (w instanceof Float64Array || g instanceof Float64Array) return this.ref.sgdUpdate(w, g, lr, n);
    if (n <= 0) return;
    const mark = this.top;
    try {
      const pg = this.in(g, n);
      const pw = this.out(w, n, true);
      this.elementwise(Op.Sgd, [pw, pg], [lr], n, false, EW_MT);
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  adagradUpdate(w: Arr, s: Arr, g: Arr, lr: number, eps: number, n: number): void {
    if (w instanceof Float64Array || s instanceof Float64Array || g instanceof Float64Array) {
      return this.ref.adagradUpdate(w, s, g, lr, eps, n);
    }
    if (n <= 0) return;
    const mark = this.top;
    try {
      const pg = this.in(g, n);
      const ps = this.out(s, n, true);
      const pw = this.out(w, n, true);
      this.elementwise(Op.Adagrad, [pw, ps, pg], [lr, eps], n, false, EW_MT);
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  adamUpdate(w: Arr, m: Arr, v: Arr, g: Arr, lr: number, beta1: number, beta2: number, eps: number, t: number, n: number): void {
    if (w instanceof Float64Array || m instanceof Float64Array || v instanceof Float64Array || g instanceof Float64Array) {
      return this.ref.adamUpdate(w, m, v, g, lr, beta1, beta2, eps, t, n);
    }
    if (n <= 0) return;
    const c1 = 1 - Math.pow(beta1, t);
    const c2 = 1 - Math.pow(beta2, t);
    const mark = this.top;
    try {
      const pg = this.in(g, n);
      const pm = this.out(m, n, true);
      const pv = this.out(v, n, true);
      const pw = this.out(w, n, true);
      this.elementwise(Op.Adam, [pw, pm, pv, pg], [lr, beta1, beta2, 1 - beta1, 1 - beta2, eps, c1, c2], n, false, EW_MT);
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  /** y[i] = e^{x[i]} by the kernels' vectorised f32 exp (not part of Kernels; for tests). */
  exp(y: Float32Array, x: Float32Array, n: number): void {
    if (n <= 0) return;
    const mark = this.top;
    try {
      const px = this.in(x, n);
      const py = this.out(y, n, false);
      this.ex.expF32(py, px, n);
      this.flush();
    } finally {
      this.release(mark);
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  private setJob(w: number, words: number[]): void {
    this.jobs.set(words, w * JOB_WORDS);
  }

  /** Register a staged in-place argument for copy-back. */
  private back(a: Float32Array, p: number, n: number): void {
    this.backArrs.push(a);
    this.backPtrs.push(p);
    this.backLens.push(n);
  }
}

function actCode(act: Activation): number {
  const code = ACT_CODE[act];
  if (code === undefined) throw new RangeError(`activation must be one of sigmoid, tanh, relu; got ${String(act)}`);
  return code;
}

function checkLen(a: ArrayLike<number>, n: number): void {
  if (a.length < n) throw new RangeError(`wasm kernels: array of length ${a.length} is shorter than the ${n} elements the call needs`);
}

function checkIds(what: string, ids: Int32Array, R: number, tableLength: number, C: number): void {
  checkLen(ids, R);
  const rows = Math.floor(tableLength / C);
  for (let r = 0; r < R; r++) {
    const id = ids[r];
    if (!(id >= 0 && id < rows)) throw new RangeError(`${what}: id ${id} at row ${r} is outside the table's [0, ${rows}) rows`);
  }
}
