// The WebAssembly side of the wasm backend as TypeScript sees it: the few JS-API types it uses
// (typed here because the core's lib, ES2022, declares no `WebAssembly`), the functions the
// module built from assembly/ exports, and the feature probes every platform runs.
// No platform-specific code: Node (src/node/) and the browser (src/web/) share this file.

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

/** The runtime's WebAssembly object, or undefined where there is none. */
export const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly as WasmApi;

/** The functions exported by assembly/index.ts (pointers are byte offsets into the memory). */
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
  zeroF32(x: number, n: number): void;
  sumSquaresRowsF32(x: number, width: number, rows: number, count: number): number;
  rowsOpF32(op: number, w: number, g: number, s: number, a: number, eps: number, width: number, rows: number, count: number): void;
  scaleF32(x: number, a: number, n: number): void;
  sgdF32(w: number, g: number, lr: number, n: number): void;
  adagradF32(w: number, s: number, g: number, lr: number, eps: number, n: number): void;
  adamF32(
    w: number, m: number, v: number, g: number,
    lr: number, b1: number, b2: number, a1: number, a2: number, eps: number, c1: number, c2: number, n: number,
  ): void;
  dropoutMaskF32(mask: number, i0: number, i1: number, k0: number, k1: number, thr: number, keep: number): void;
  mulF32(y: number, x: number, m: number, n: number): void;
  elmanSeqForwardF32(Hs: number, WhT: number, T: number, B: number, H: number, b0: number, b1: number, act: number, scratch: number): void;
  elmanSeqBackwardF32(dA: number, Hs: number, Wh: number, T: number, B: number, H: number, b0: number, b1: number, act: number, scratch: number): void;
  classWordsLossF32(
    lp: number, Z: number, Hn: number, U: number, b2: number, plan: number, C: number, N: number, H: number,
    order: number, q: number, grad: number, scale: number, scratch: number, direct: number,
  ): void;
  classWordsBackwardF32(
    dHn: number, dU: number, db2: number, Z: number, Hn: number, U: number, plan: number, C: number, N: number, H: number,
    order: number, q: number, scratch: number, gemmScratch: number,
  ): void;
  hsLossF32(
    lp: number, G: number, Hn: number, Wn: number, bn: number, tree: number, V: number, targets: number, rowOff: number,
    r0: number, r1: number, H: number, grad: number, scale: number, direct: number,
  ): void;
  hsBackwardRowsF32(dHn: number, G: number, Wn: number, tree: number, V: number, targets: number, rowOff: number, r0: number, r1: number, H: number): void;
  hsBackwardNodesF32(dWn: number, dbn: number, G: number, Hn: number, list: number, q0: number, q1: number, H: number): void;
  directAddF32(Z: number, ld: number, table: number, keys: number, O: number, S: number, r0: number, r1: number, n: number): void;
  directGradF32(gtab: number, flags: number, list: number, dZ: number, ld: number, keys: number, O: number, S: number, R: number, n: number): void;
  directGradClassWordsF32(gtab: number, flags: number, list: number, Z: number, plan: number, C: number, keys: number, O: number, S: number): void;
  directGradHsF32(
    gtab: number, flags: number, list: number, G: number, tree: number, V: number, targets: number, rowOff: number,
    keys: number, O: number, S: number, R: number,
  ): void;
  sparseSumSquaresF32(gtab: number, list: number): number;
  sparseUpdateF32(
    kind: number, w: number, m: number, v: number, gtab: number, flags: number, list: number, gs: number,
    lr: number, b1: number, b2: number, a1: number, a2: number, eps: number, c1: number, c2: number,
  ): void;
}

/** The smallest module that uses a relaxed-SIMD instruction: () -> v128 = f32x4.relaxed_madd(0, 0, 0). */
export const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x3d, 0x01, 0x3b, 0x00, // code section: one body of 0x3b bytes, no locals
  0xfd, 0x0c, ...new Array<number>(16).fill(0), // v128.const 0
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd (0xfd 0x105)
  0x0b, // end
]);

/** The smallest module that uses SIMD: () -> v128 = v128.const 0. */
export const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x16, 0x01, 0x14, 0x00,
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0x0b,
]);

/** Whether this runtime has WebAssembly and validates fixed-width SIMD modules. */
export function simdSupported(): boolean {
  return wasmApi !== undefined && wasmApi.validate(SIMD_PROBE);
}

/** Whether this runtime validates relaxed-SIMD modules as it is (no engine flag is touched). */
export function relaxedSimdValidates(): boolean {
  return wasmApi !== undefined && wasmApi.validate(RELAXED_PROBE);
}

/** Whether shared memory (threads) is available: SharedArrayBuffer and Atomics.wait. */
export function sharedMemorySupported(): boolean {
  return typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object';
}
