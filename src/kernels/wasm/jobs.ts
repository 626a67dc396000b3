// The jobs that the wasm backend's main thread hands to its threads: one typed definition that
// the writer (kernels.ts) and the reader (runJob, on every thread) share. A job row is
// JOB_WORDS float64 words in the shared memory: [opcode, arg0, arg1, ...] in the order JOBS
// lists the arguments; pointers are byte offsets (exact in float64 up to 2^53).

import type { WasmExports } from './api.js';

/** Every job: its opcode and its argument names in stored order. */
export const JOBS = {
  none: { op: 0, args: [] },
  /** C = beta·C + op(A)·op(B); split/chunk: how the threads share it (GemmSplit). */
  gemm: { op: 1, args: ['C', 'A', 'B', 'ldc', 'lda', 'ldb', 'M', 'N', 'K', 'transA', 'transB', 'beta', 'scratch', 'split', 'chunk'] },
  /** Rows [0, R) in chunks of `chunk` rows taken from ctrl[NEXT]. */
  softmax: { op: 2, args: ['logits', 'targets', 'logProbs', 'R', 'C', 'grad', 'scale', 'chunk'] },
  actForward: { op: 3, args: ['y', 'x', 'n', 'act'] },
  actBackward: { op: 4, args: ['dx', 'y', 'dy', 'n', 'act'] },
  addBias: { op: 5, args: ['Y', 'b', 'R', 'C', 'ld'] },
  sumRows: { op: 6, args: ['db', 'dY', 'R', 'C', 'ld'] },
  /** Partials of the fixed chunks [q0, q1) of x[0, n). */
  sumSquares: { op: 7, args: ['partials', 'x', 'n', 'q0', 'q1'] },
  scale: { op: 8, args: ['x', 'n', 'a'] },
  zero: { op: 22, args: ['x', 'n'] },
  sgd: { op: 9, args: ['w', 'g', 'n', 'lr'] },
  adagrad: { op: 10, args: ['w', 's', 'g', 'n', 'lr', 'eps'] },
  adam: { op: 11, args: ['w', 'm', 'v', 'g', 'n', 'lr', 'beta1', 'beta2', 'oneMinusBeta1', 'oneMinusBeta2', 'eps', 'c1', 'c2'] },
  /** This thread's columns of a one-row product (C and op(B) already offset). */
  gemv: { op: 12, args: ['C', 'A', 'B', 'ldb', 'N', 'K', 'transB', 'beta'] },
  /** Elements [i0, i1) of a hashed dropout mask. */
  dropoutMask: { op: 13, args: ['mask', 'i0', 'i1', 'k0', 'k1', 'thr', 'keep'] },
  mul: { op: 14, args: ['y', 'x', 'm', 'n'] },
  /** The Elman recurrence over T steps for streams [b0, b1). */
  elmanSeqForward: { op: 15, args: ['Hs', 'WhT', 'T', 'B', 'H', 'b0', 'b1', 'act', 'scratch'] },
  elmanSeqBackward: { op: 16, args: ['dA', 'Hs', 'Wh', 'T', 'B', 'H', 'b0', 'b1', 'act', 'scratch'] },
  /** Classes order[q] (i32 at `order`) for q taken from ctrl[NEXT]; rowScratch: this thread's 2·N·H floats. */
  classWordsLoss: { op: 17, args: ['logProbs', 'Z', 'Hn', 'U', 'b2', 'plan', 'C', 'N', 'H', 'order', 'grad', 'scale', 'rowScratch', 'direct'] },
  classWordsBackward: { op: 18, args: ['dHn', 'dU', 'db2', 'Z', 'Hn', 'U', 'plan', 'C', 'N', 'H', 'order', 'rowScratch', 'scratch'] },
  /** Rows [0, R) in chunks of `chunk` rows taken from ctrl[NEXT]. */
  hsLoss: { op: 19, args: ['logProbs', 'G', 'Hn', 'Wn', 'bn', 'tree', 'V', 'targets', 'rowOff', 'R', 'H', 'grad', 'scale', 'direct', 'chunk'] },
  hsBackwardRows: { op: 20, args: ['dHn', 'G', 'Wn', 'tree', 'V', 'targets', 'rowOff', 'R', 'H', 'chunk'] },
  /** Touched nodes [0, M) of the list in chunks of `chunk` nodes. */
  hsBackwardNodes: { op: 21, args: ['dWn', 'dbn', 'G', 'Hn', 'list', 'M', 'H', 'chunk'] },
} as const;

export type JobKind = keyof typeof JOBS;
/** The named arguments of a job of kind K. */
export type JobArgs<K extends JobKind> = { [F in (typeof JOBS)[K]['args'][number]]: number };

/** float64 words per job row (opcode + up to 15 arguments). */
export const JOB_WORDS = 16;

/** GEMM job `split`: how the threads share the product. */
export const enum GemmSplit {
  /** This row is the whole product. */
  None = 0,
  /** Chunks of `chunk` columns of C, taken in turn from ctrl[NEXT]. */
  Cols = 1,
  /** Chunks of `chunk` rows of C, taken in turn from ctrl[NEXT]. */
  Rows = 2,
}

const KIND_OF_OP: JobKind[] = [];
for (const kind of Object.keys(JOBS) as JobKind[]) {
  if (JOBS[kind].args.length >= JOB_WORDS) throw new Error(`job ${kind} has more than ${JOB_WORDS - 1} arguments`);
  KIND_OF_OP[JOBS[kind].op] = kind;
}

/** Write a job into row `row` of `rows`. */
export function writeJob<K extends JobKind>(rows: Float64Array, row: number, kind: K, args: JobArgs<K>): void {
  const o = row * JOB_WORDS;
  const spec = JOBS[kind];
  rows[o] = spec.op;
  const named = args as Record<string, number>;
  for (let i = 0; i < spec.args.length; i++) rows[o + 1 + i] = named[spec.args[i]];
}

/** Read the job in row `row`: its kind and named arguments. */
export function readJob(rows: Float64Array, row: number): { kind: JobKind; args: Record<string, number> } {
  const o = row * JOB_WORDS;
  const kind = KIND_OF_OP[rows[o]];
  if (kind === undefined) throw new Error(`wasm kernels: unknown job opcode ${rows[o]}`);
  const names = JOBS[kind].args as readonly string[];
  const args: Record<string, number> = {};
  for (let i = 0; i < names.length; i++) args[names[i]] = rows[o + 1 + i];
  return { kind, args };
}

/** Take chunk indices q = 0, 1, ... from the shared counter until `chunks` are taken. */
function eachChunk(ctrl: Int32Array, next: number, chunks: number, body: (q: number) => void): void {
  for (let q = Atomics.add(ctrl, next, 1); q < chunks; q = Atomics.add(ctrl, next, 1)) body(q);
}

/**
 * Run the job in row `row`. GEMM and softmax jobs may describe a shared problem cut into
 * chunks: every thread takes chunks from ctrl[next] until none are left, so a thread that the
 * OS schedules late does less of the work. Which thread computes a chunk does not change any
 * result bit (each output element's arithmetic is fixed).
 */
export function runJob(wasm: WasmExports, ctrl: Int32Array, next: number, rows: Float64Array, row: number): void {
  const { kind, args: a } = readJob(rows, row);
  switch (kind) {
    case 'none':
      return;
    case 'gemm': {
      const g = a as JobArgs<'gemm'>;
      if (g.split === GemmSplit.None) {
        wasm.gemmF32(g.C, g.A, g.B, g.ldc, g.lda, g.ldb, g.M, g.N, g.K, g.transA, g.transB, g.beta, g.scratch);
        return;
      }
      const byCols = g.split === GemmSplit.Cols;
      const total = byCols ? g.N : g.M;
      eachChunk(ctrl, next, Math.ceil(total / g.chunk), (q) => {
        const s = q * g.chunk;
        const n = Math.min(total, s + g.chunk) - s;
        if (byCols) {
          // columns s..s+n of C and of op(B)
          wasm.gemmF32(g.C + s * 4, g.A, g.B + (g.transB ? s * g.ldb : s) * 4, g.ldc, g.lda, g.ldb, g.M, n, g.K, g.transA, g.transB, g.beta, g.scratch);
        } else {
          // rows s..s+n of C and of op(A)
          wasm.gemmF32(g.C + s * g.ldc * 4, g.A + (g.transA ? s : s * g.lda) * 4, g.B, g.ldc, g.lda, g.ldb, n, g.N, g.K, g.transA, g.transB, g.beta, g.scratch);
        }
      });
      return;
    }
    case 'gemv': {
      const g = a as JobArgs<'gemv'>;
      wasm.gemvF32(g.C, g.A, g.B, g.ldb, g.N, g.K, g.transB, g.beta);
      return;
    }
    case 'softmax': {
      const s = a as JobArgs<'softmax'>;
      eachChunk(ctrl, next, Math.ceil(s.R / s.chunk), (q) => {
        const r0 = q * s.chunk;
        wasm.softmaxXentF32(s.logits, s.targets, s.logProbs, r0, Math.min(s.R, r0 + s.chunk), s.C, s.grad, s.scale);
      });
      return;
    }
    case 'actForward': {
      const j = a as JobArgs<'actForward'>;
      wasm.actForwardF32(j.y, j.x, j.n, j.act);
      return;
    }
    case 'actBackward': {
      const j = a as JobArgs<'actBackward'>;
      wasm.actBackwardF32(j.dx, j.y, j.dy, j.n, j.act);
      return;
    }
    case 'addBias': {
      const j = a as JobArgs<'addBias'>;
      wasm.addBiasF32(j.Y, j.b, j.R, j.C, j.ld);
      return;
    }
    case 'sumRows': {
      const j = a as JobArgs<'sumRows'>;
      wasm.sumRowsF32(j.db, j.dY, j.R, j.C, j.ld);
      return;
    }
    case 'sumSquares': {
      const j = a as JobArgs<'sumSquares'>;
      wasm.sumSquaresF32(j.partials, j.x, j.n, j.q0, j.q1);
      return;
    }
    case 'zero': {
      const j = a as JobArgs<'zero'>;
      wasm.zeroF32(j.x, j.n);
      return;
    }
    case 'scale': {
      const j = a as JobArgs<'scale'>;
      wasm.scaleF32(j.x, j.a, j.n);
      return;
    }
    case 'sgd': {
      const j = a as JobArgs<'sgd'>;
      wasm.sgdF32(j.w, j.g, j.lr, j.n);
      return;
    }
    case 'adagrad': {
      const j = a as JobArgs<'adagrad'>;
      wasm.adagradF32(j.w, j.s, j.g, j.lr, j.eps, j.n);
      return;
    }
    case 'dropoutMask': {
      const j = a as JobArgs<'dropoutMask'>;
      wasm.dropoutMaskF32(j.mask, j.i0, j.i1, j.k0, j.k1, j.thr, j.keep);
      return;
    }
    case 'mul': {
      const j = a as JobArgs<'mul'>;
      wasm.mulF32(j.y, j.x, j.m, j.n);
      return;
    }
    case 'elmanSeqForward': {
      const j = a as JobArgs<'elmanSeqForward'>;
      wasm.elmanSeqForwardF32(j.Hs, j.WhT, j.T, j.B, j.H, j.b0, j.b1, j.act, j.scratch);
      return;
    }
    case 'elmanSeqBackward': {
      const j = a as JobArgs<'elmanSeqBackward'>;
      wasm.elmanSeqBackwardF32(j.dA, j.Hs, j.Wh, j.T, j.B, j.H, j.b0, j.b1, j.act, j.scratch);
      return;
    }
    case 'classWordsLoss': {
      const j = a as JobArgs<'classWordsLoss'>;
      eachChunk(ctrl, next, j.C, (q) => {
        wasm.classWordsLossF32(j.logProbs, j.Z, j.Hn, j.U, j.b2, j.plan, j.C, j.N, j.H, j.order, q, j.grad, j.scale, j.rowScratch, j.direct);
      });
      return;
    }
    case 'adam': {
      const j = a as JobArgs<'adam'>;
      wasm.adamF32(j.w, j.m, j.v, j.g, j.lr, j.beta1, j.beta2, j.oneMinusBeta1, j.oneMinusBeta2, j.eps, j.c1, j.c2, j.n);
      return;
    }
    case 'classWordsBackward': {
      const j = a as JobArgs<'classWordsBackward'>;
      eachChunk(ctrl, next, j.C, (q) => {
        wasm.classWordsBackwardF32(j.dHn, j.dU, j.db2, j.Z, j.Hn, j.U, j.plan, j.C, j.N, j.H, j.order, q, j.rowScratch, j.scratch);
      });
      return;
    }
    case 'hsLoss': {
      const j = a as JobArgs<'hsLoss'>;
      eachChunk(ctrl, next, Math.ceil(j.R / j.chunk), (q) => {
        const r0 = q * j.chunk;
        wasm.hsLossF32(j.logProbs, j.G, j.Hn, j.Wn, j.bn, j.tree, j.V, j.targets, j.rowOff, r0, Math.min(j.R, r0 + j.chunk), j.H, j.grad, j.scale, j.direct);
      });
      return;
    }
    case 'hsBackwardRows': {
      const j = a as JobArgs<'hsBackwardRows'>;
      eachChunk(ctrl, next, Math.ceil(j.R / j.chunk), (q) => {
        const r0 = q * j.chunk;
        wasm.hsBackwardRowsF32(j.dHn, j.G, j.Wn, j.tree, j.V, j.targets, j.rowOff, r0, Math.min(j.R, r0 + j.chunk), j.H);
      });
      return;
    }
    case 'hsBackwardNodes': {
      const j = a as JobArgs<'hsBackwardNodes'>;
      eachChunk(ctrl, next, Math.ceil(j.M / j.chunk), (q) => {
        const q0 = q * j.chunk;
        wasm.hsBackwardNodesF32(j.dWn, j.dbn, j.G, j.Hn, j.list, q0, Math.min(j.M, q0 + j.chunk), j.H);
      });
      return;
    }
  }
}
