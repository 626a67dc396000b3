// The wasm backend's threads: a control block in the shared memory, one job row per thread,
// and the loop each worker runs. The platform starts the workers (Node: worker_threads in
// src/node/; the browser: Web Workers in src/web/); everything here is platform-free.
//
// Protocol: the main thread writes one job row per thread, bumps ctrl[GEN] and notifies; each
// worker runs its row and counts ctrl[PENDING] down; the main thread runs row 0 and then waits
// (Atomics.wait: the Kernels interface stays synchronous, so the main thread of the kernels must
// be one that may block — a Node thread or a browser Worker, never a page's main thread).
// Legend: T threads in use, W threads started (main included).

import type { WasmExports, WasmMemory, WasmModule } from './api.js';
import { JOB_WORDS, runJob, writeJob, type JobArgs, type JobKind } from './jobs.js';

/** int32 words of the control block, followed by W job rows. */
export const CTRL_INTS = 16;
export const CTRL_BYTES = CTRL_INTS * 4;
/** ctrl[GEN]: job generation; workers wait for it to change. */
const GEN = 0;
/** ctrl[PENDING]: workers still running the current job; the main thread waits for 0. */
const PENDING = 1;
/** ctrl[QUIT]: set before the last generation bump to stop the workers. */
const QUIT = 2;
/** ctrl[ERROR]: number of worker jobs that threw; ctrl[ERROR_OP] the opcode of the last. */
const ERROR = 3;
const ERROR_OP = 4;
/** ctrl[NEXT]: next chunk of a dynamically shared job (GEMM, softmax), taken with Atomics.add. */
const NEXT = 5;

/** Polls of ctrl[PENDING] before the main thread sleeps. */
const MAIN_SPIN = 20000;
/** Polls of ctrl[GEN] before a worker sleeps in Atomics.wait (a few microseconds). */
const WORKER_SPIN = 4000;

/** Bytes of shared memory the control block and the job rows of W threads take. */
export function poolBytes(threads: number): number {
  return CTRL_BYTES + threads * JOB_WORDS * 8;
}

/** What a worker receives at start (structured-cloned; module and memory are shared). */
export interface WorkerInit {
  module: WasmModule;
  memory: WasmMemory;
  /** This worker's thread index (1..W-1). */
  index: number;
  /** Byte offset of the control block. */
  ctrlOffset: number;
}

/** A started worker, as the platform returns it. */
export interface WorkerHandle {
  terminate(): void;
}

/** The main thread's side of the pool. */
export class ThreadPool {
  /** Started workers (W - 1 of them until dispose()). */
  readonly workers: WorkerHandle[] = [];
  private readonly ctrl: Int32Array;
  private readonly rows: Float64Array;
  private threads: number;

  constructor(private readonly wasm: WasmExports, buffer: ArrayBufferLike, readonly ctrlOffset: number, threads: number) {
    this.ctrl = new Int32Array(buffer, ctrlOffset, CTRL_INTS);
    this.rows = new Float64Array(buffer, ctrlOffset + CTRL_BYTES, threads * JOB_WORDS);
    this.threads = threads;
  }

  /** Threads in use, the main thread included (1 after dispose()). */
  get size(): number {
    return this.threads;
  }

  /** Threads to use for `work` units of a kernel that is worth splitting from `threshold` up. */
  threadsFor(work: number, threshold: number): number {
    return work >= threshold ? this.threads : 1;
  }

  /** Set thread w's job. */
  set<K extends JobKind>(w: number, kind: K, args: JobArgs<K>): void {
    writeJob(this.rows, w, kind, args);
  }

  /** Give thread w nothing to do. */
  idle(w: number): void {
    this.rows[w * JOB_WORDS] = 0;
  }

  /**
   * Run job rows 0..T-1 (row 0 on this thread) and wait for them; rows T.. are cleared first.
   * T = 1 runs row 0 alone without waking anyone.
   */
  run(T: number): void {
    for (let w = T; w < this.threads; w++) this.idle(w);
    const ctrl = this.ctrl;
    Atomics.store(ctrl, NEXT, 0);
    if (T === 1 || this.threads === 1) {
      runJob(this.wasm, ctrl, NEXT, this.rows, 0);
      return;
    }
    Atomics.store(ctrl, ERROR, 0);
    Atomics.store(ctrl, PENDING, this.threads - 1);
    Atomics.add(ctrl, GEN, 1);
    Atomics.notify(ctrl, GEN);
    try {
      runJob(this.wasm, ctrl, NEXT, this.rows, 0);
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

  /** Stop the workers; later calls run on this thread alone. Idempotent. */
  dispose(): void {
    if (this.workers.length > 0) {
      Atomics.store(this.ctrl, QUIT, 1);
      Atomics.add(this.ctrl, GEN, 1);
      Atomics.notify(this.ctrl, GEN);
      for (const w of this.workers) w.terminate();
      this.workers.length = 0;
    }
    this.threads = 1;
  }
}

/**
 * A worker's side: wait for a new generation, run this thread's job row, count down PENDING,
 * repeat until QUIT. Spins briefly before sleeping (a futex wake-up costs microseconds).
 */
export function workerLoop(wasm: WasmExports, memory: WasmMemory, index: number, ctrlOffset: number): void {
  const ctrl = new Int32Array(memory.buffer, ctrlOffset, CTRL_INTS);
  const rows = new Float64Array(memory.buffer, ctrlOffset + CTRL_BYTES, (index + 1) * JOB_WORDS);
  // Workers start before the first job (createWasmKernels awaits them), so the generation they
  // must wait past is 0; reading ctrl[GEN] here instead would race with the first job's bump.
  let seen = 0;
  for (;;) {
    let g = Atomics.load(ctrl, GEN);
    for (let spin = 0; g === seen && spin < WORKER_SPIN; spin++) g = Atomics.load(ctrl, GEN);
    if (g === seen) {
      Atomics.wait(ctrl, GEN, seen);
      continue;
    }
    seen = g;
    if (Atomics.load(ctrl, QUIT) !== 0) return;
    try {
      runJob(wasm, ctrl, NEXT, rows, index);
    } catch {
      Atomics.add(ctrl, ERROR, 1);
      Atomics.store(ctrl, ERROR_OP, rows[index * JOB_WORDS]);
    }
    if (Atomics.sub(ctrl, PENDING, 1) === 1) Atomics.notify(ctrl, PENDING);
  }
}
