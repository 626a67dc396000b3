// What the main thread and the worker threads of the wasm backend share: the exports of the
// module built from assembly/, the layout of the control block in the shared memory, and the
// job dispatcher. A job is one row of JOB_WORDS float64 words: [opcode, arg1, arg2, ...];
// pointers are byte offsets into the shared memory (exact in float64 up to 2^53).
// No Node-specific code here (a browser worker can import it unchanged).

// The few WebAssembly JS-API types this backend uses, typed here because the project's lib
// (ES2022, @types/node 20) declares no `WebAssembly`; `wasmApi` is the runtime's global object.
/** A compiled module (opaque; structured-cloneable to workers). */
export interface WasmModule {
  readonly __wasmModule?: never;
}
/** A WebAssembly.Memory; shared memories have a SharedArrayBuffer that grow() replaces. */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(deltaPages: number): number;
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<WasmInstance>;
  Memory: new (desc: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Instance: new (module: WasmModule, imports: object) => WasmInstance;
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The functions exported by assembly/index.ts (pointers are byte offsets). */
export interface WasmExports {
  heapBase(): number;
  gemmScratchBytes(): number;
  gemmMR(): number;
  sumSquaresChunk(): number;
  gemmF32(
    C: number, A: number, B: number, ldc: number, lda: number, ldb: number,
    M: number, N: number, K: number, transA: number, transB: number, beta: number, scratch: number,
  ): void;
  gemvF32(C: number, A: number, B: number, ldb: number, N: number, K: number, transB: number, beta: number): void;
  expF32(y: number, x: number, n: number): void;
  softmaxXentF32(logits: number, targets: number, lp: number, r0: number, r1: number, C: number, grad: number, scale: number): void;
  transposeF32(out: number, x: number, R: number, C: number): void;
  lstmForwardF32(G: number, cPrev: number, c: number, tc: number, h: number, B: number, H: number): void;
  lstmBackwardF32(dG: number, G: number, cPrev: number, tc: number, dh: number, dc: number, B: number, H: number): void;
  gruForwardF32(Gi: number, Gh: number, hPrev: number, h: number, B: number, H: number): void;
  gruBackwardF32(dGi: number, dGh: number, Gi: number, Gh: number, hPrev: number, dh: number, dhPrev: number, B: number, H: number): void;
  actForwardF32(y: number, x: number, n: number, act: number): void;
  actBackwardF32(dx: number, y: number, dy: number, n: number, act: number): void;
  addBiasF32(Y: number, b: number, R: number, C: number, ld: number): void;
  sumRowsF32(db: number, dY: number, R: number, C: number, ld: number): void;
  gatherRowsF32(out: number, table: number, ids: number, R: number, C: number): void;
  scatterAddRowsF32(dTable: number, dOut: number, ids: number, R: number, C: number): void;
  sumSquaresF32(partials: number, x: number, n: number, q0: number, q1: number): void;
  scaleF32(x: number, a: number, n: number): void;
  sgdF32(w: number, g: number, lr: number, n: number): void;
  adagradF32(w: number, s: number, g: number, lr: number, eps: number, n: number): void;
  adamF32(
    w: number, m: number, v: number, g: number,
    lr: number, b1: number, b2: number, a1: number, a2: number, eps: number, c1: number, c2: number, n: number,
  ): void;
}

/** Job opcodes (word 0 of a job row). */
export const enum Op {
  None = 0,
  Gemm = 1,
  Softmax = 2,
  ActForward = 3,
  ActBackward = 4,
  AddBias = 5,
  SumRows = 6,
  SumSquares = 7,
  Scale = 8,
  Sgd = 9,
  Adagrad = 10,
  Adam = 11,
  Gemv = 12,
}

/** float64 words per job row (opcode + up to 15 arguments). */
export const JOB_WORDS = 16;

/**
 * Control block: CTRL_INTS int32 words at ctrlOffset, then one job row per thread (thread 0 is
 * the main thread) at ctrlOffset + CTRL_BYTES.
 */
export const CTRL_INTS = 16;
export const CTRL_BYTES = CTRL_INTS * 4;
/** ctrl[GEN]: job generation; workers wait for it to change. */
export const GEN = 0;
/** ctrl[PENDING]: workers still running the current job; the main thread waits for 0. */
export const PENDING = 1;
/** ctrl[QUIT]: set before the last generation bump to stop the workers. */
export const QUIT = 2;
/** ctrl[ERROR]: number of worker jobs that threw; ctrl[ERROR_OP] the opcode of the last. */
export const ERROR = 3;
export const ERROR_OP = 4;
/** ctrl[NEXT]: next chunk of a dynamically shared job (GEMM, softmax), taken with Atomics.add. */
export const NEXT = 5;

/** GEMM job word 14: how the threads share the product. */
export const enum GemmSplit {
  /** This row is the whole product. */
  None = 0,
  /** Chunks of `chunk` columns of C, taken in turn from ctrl[NEXT]. */
  Cols = 1,
  /** Chunks of `chunk` rows of C, taken in turn from ctrl[NEXT]. */
  Rows = 2,
}

/** What a worker receives at start (structured-cloned; module and memory are shared). */
export interface WorkerInit {
  module: WasmModule;
  memory: WasmMemory;
  /** This worker's thread index (1..threads-1). */
  index: number;
  /** Byte offset of the control block. */
  ctrlOffset: number;
}

/**
 * Run the job stored at words [o, o + JOB_WORDS) of `job`. GEMM and softmax rows may describe a
 * shared problem cut into chunks: every thread takes chunks from ctrl[NEXT] until none are left,
 * so a thread that the OS schedules late does less of the work. Which thread computes a chunk
 * does not change any result bit (each output element's arithmetic is fixed).
 */
export function runJob(ex: WasmExports, ctrl: Int32Array, job: Float64Array, o: number): void {
  switch (job[o] as Op) {
    case Op.None:
      return;
    case Op.Gemm: {
      // [op, C, A, B, ldc, lda, ldb, M, N, K, transA, transB, beta, scratch, split, chunk]
      const C = job[o + 1], A = job[o + 2], B = job[o + 3];
      const ldc = job[o + 4], lda = job[o + 5], ldb = job[o + 6];
      const M = job[o + 7], N = job[o + 8], K = job[o + 9];
      const ta = job[o + 10], tb = job[o + 11], beta = job[o + 12], scratch = job[o + 13];
      const split = job[o + 14] as GemmSplit;
      const chunk = job[o + 15];
      if (split === GemmSplit.None) {
        ex.gemmF32(C, A, B, ldc, lda, ldb, M, N, K, ta, tb, beta, scratch);
        return;
      }
      const total = split === GemmSplit.Cols ? N : M;
      const chunks = Math.ceil(total / chunk);
      for (let q = Atomics.add(ctrl, NEXT, 1); q < chunks; q = Atomics.add(ctrl, NEXT, 1)) {
        const s = q * chunk;
        const n = Math.min(total, s + chunk) - s;
        if (split === GemmSplit.Cols) {
          // columns s..s+n of C and of op(B)
          ex.gemmF32(C + s * 4, A, B + (tb ? s * ldb : s) * 4, ldc, lda, ldb, M, n, K, ta, tb, beta, scratch);
        } else {
          // rows s..s+n of C and of op(A)
          ex.gemmF32(C + s * ldc * 4, A + (ta ? s : s * lda) * 4, B, ldc, lda, ldb, n, N, K, ta, tb, beta, scratch);
        }
      }
      return;
    }
    case Op.Gemv:
      // [op, C, A, B, ldb, N, K, transB, beta]: this thread's columns (C and op(B) offset by the caller)
      ex.gemvF32(job[o + 1], job[o + 2], job[o + 3], job[o + 4], job[o + 5], job[o + 6], job[o + 7], job[o + 8]);
      return;
    case Op.Softmax: {
      // [op, logits, targets, lp, R, C, grad, scale, chunk]: rows in chunks from ctrl[NEXT]
      const R = job[o + 4];
      const chunk = job[o + 8];
      const chunks = Math.ceil(R / chunk);
      for (let q = Atomics.add(ctrl, NEXT, 1); q < chunks; q = Atomics.add(ctrl, NEXT, 1)) {
        const r0 = q * chunk;
        ex.softmaxXentF32(job[o + 1], job[o + 2], job[o + 3], r0, Math.min(R, r0 + chunk), job[o + 5], job[o + 6], job[o + 7]);
      }
      return;
    }
    case Op.ActForward:
      ex.actForwardF32(job[o + 1], job[o + 2], job[o + 3], job[o + 4]);
      return;
    case Op.ActBackward:
      ex.actBackwardF32(job[o + 1], job[o + 2], job[o + 3], job[o + 4], job[o + 5]);
      return;
    case Op.AddBias:
      ex.addBiasF32(job[o + 1], job[o + 2], job[o + 3], job[o + 4], job[o + 5]);
      return;
    case Op.SumRows:
      ex.sumRowsF32(job[o + 1], job[o + 2], job[o + 3], job[o + 4], job[o + 5]);
      return;
    case Op.SumSquares:
      ex.sumSquaresF32(job[o + 1], job[o + 2], job[o + 3], job[o + 4], job[o + 5]);
      return;
    case Op.Scale:
      ex.scaleF32(job[o + 1], job[o + 2], job[o + 3]);
      return;
    case Op.Sgd:
      ex.sgdF32(job[o + 1], job[o + 2], job[o + 3], job[o + 4]);
      return;
    case Op.Adagrad:
      ex.adagradF32(job[o + 1], job[o + 2], job[o + 3], job[o + 4], job[o + 5], job[o + 6]);
      return;
    case Op.Adam:
      ex.adamF32(
        job[o + 1], job[o + 2], job[o + 3], job[o + 4], job[o + 5], job[o + 6],
        job[o + 7], job[o + 8], job[o + 9], job[o + 10], job[o + 11], job[o + 12], job[o + 13],
      );
      return;
    default:
      throw new Error(`wasm kernels: unknown job opcode ${job[o]}`);
  }
}

/**
 * The worker loop: wait for a new generation, run this thread's job row, count down PENDING,
 * repeat until QUIT. Spins briefly before sleeping (a futex wake-up costs microseconds).
 */
export function workerLoop(ex: WasmExports, memory: WasmMemory, index: number, ctrlOffset: number): void {
  const ctrl = new Int32Array(memory.buffer, ctrlOffset, CTRL_INTS);
  const jobs = new Float64Array(memory.buffer, ctrlOffset + CTRL_BYTES, (index + 1) * JOB_WORDS);
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
      runJob(ex, ctrl, jobs, index * JOB_WORDS);
    } catch {
      Atomics.add(ctrl, ERROR, 1);
      Atomics.store(ctrl, ERROR_OP, jobs[index * JOB_WORDS]);
    }
    if (Atomics.sub(ctrl, PENDING, 1) === 1) Atomics.notify(ctrl, PENDING);
  }
}

/** Polls of GEN before a worker sleeps in Atomics.wait (a few microseconds). */
const WORKER_SPIN = 4000;
