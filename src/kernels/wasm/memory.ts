// The wasm backend's memory: one WebAssembly.Memory, a bump heap in it, and the staging that
// lets a kernel take any Float32Array. Layout (byte offsets): [0, heapBase) the module's static
// data; then what reserve() hands out in order — the thread pool's control block, one GEMM
// packing scratch per thread, and every alloc()'d buffer — and, above those, a call's staging.
//
// A shared memory (threads) grows as needed: growing replaces memory.buffer, but every earlier
// SharedArrayBuffer stays valid, so views handed out before stay usable. A memory that is not
// shared (a page that is not cross-origin isolated) would detach every view on grow, so it is
// created at its full size once and never grows.

import { ConfigError } from '../../errors.js';
import { wasmApi, type WasmMemory } from './api.js';

const PAGE_BYTES = 65536;
/** Must equal maximumMemory in assembly/asconfig.json (4 GiB: the wasm32 limit). */
export const MAX_PAGES = 65536;
/** Must be ≥ initialMemory in assembly/asconfig.json. */
const INITIAL_PAGES = 64;

export interface HeapOptions {
  /** A shared, growable memory (needed by threads); else a fixed one of `fixedBytes`. */
  shared: boolean;
  /** Size of a memory that is not shared (default 1 GiB, halved until the engine agrees). */
  fixedBytes?: number;
}

/** Out of wasm memory: the model or batch does not fit in the 4 GiB (or fixed) memory. */
export class WasmOutOfMemoryError extends ConfigError {}

export class WasmHeap {
  readonly memory: WasmMemory;
  readonly shared: boolean;
  /** Pages the memory may reach. */
  readonly maxPages: number;
  /** Every buffer object memory.buffer has returned (a shared memory's grow makes a new one). */
  private readonly buffers = new Set<ArrayBufferLike>();
  private buffer!: ArrayBufferLike;
  f32!: Float32Array;
  i32!: Int32Array;
  f64!: Float64Array;
  /** Bump pointer: first free byte. */
  private top = 0;
  /** Highest `top` so far: memory from here up has never been written (still zero). */
  private dirtyEnd = 0;
  /** Staged Float32Arrays to copy back after the current call: (array, byte offset, length). */
  private readonly backArrs: Float32Array[] = [];
  private readonly backPtrs: number[] = [];
  private readonly backLens: number[] = [];

  constructor(opts: HeapOptions) {
    this.shared = opts.shared;
    if (opts.shared) {
      this.memory = new wasmApi.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
      this.maxPages = MAX_PAGES;
    } else {
      let pages = Math.min(MAX_PAGES, Math.ceil((opts.fixedBytes ?? 2 ** 30) / PAGE_BYTES));
      let memory: WasmMemory | null = null;
      for (; memory === null; pages = Math.floor(pages / 2)) {
        try {
          memory = new wasmApi.Memory({ initial: pages, maximum: pages });
        } catch (err) {
          if (pages <= INITIAL_PAGES) throw err;
        }
      }
      this.memory = memory;
      this.maxPages = memory.buffer.byteLength / PAGE_BYTES;
    }
    this.refresh();
  }

  /** Start the heap at `base` (the module's heap base). */
  start(base: number): void {
    this.top = base;
    this.dirtyEnd = base;
  }

  /** Bytes in use (static data, control block, scratch, heap). */
  get used(): number {
    return this.top;
  }

  /** The staging mark: release(mark) frees everything reserved after it. */
  get mark(): number {
    return this.top;
  }

  /** The memory's buffer right now (a SharedArrayBuffer when shared). */
  get current(): ArrayBufferLike {
    return this.buffer;
  }

  private refresh(): void {
    this.buffer = this.memory.buffer;
    this.buffers.add(this.buffer);
    this.f32 = new Float32Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
  }

  /** Reserve `bytes` at the top of the heap, aligned; grows a shared memory when needed. */
  reserve(bytes: number, align: number): number {
    const p = Math.ceil(this.top / align) * align;
    const end = p + bytes;
    if (end > this.buffer.byteLength) {
      const have = this.buffer.byteLength / PAGE_BYTES;
      const need = Math.ceil(end / PAGE_BYTES);
      if (need > this.maxPages) {
        throw new WasmOutOfMemoryError(
          `wasm kernels: out of memory: this needs ${gib(end)} of wasm memory and the limit is ${gib(this.maxPages * PAGE_BYTES)}` +
          `${this.shared ? ' (the wasm32 maximum)' : ' (a memory that is not shared cannot grow: serve the page cross-origin isolated)'}; use a smaller model or batch`,
        );
      }
      // grow by at least a quarter to keep the number of grows (and buffer objects) small
      this.memory.grow(Math.min(this.maxPages - have, Math.max(need - have, Math.ceil(have / 4))));
      this.refresh();
    }
    this.top = end;
    if (end > this.dirtyEnd) this.dirtyEnd = end;
    return p;
  }

  /** A zeroed view of n floats on the heap. */
  alloc(n: number): Float32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`alloc: n must be a non-negative integer, got ${n}`);
    const dirtyEnd = this.dirtyEnd;
    const p = this.reserve(n * 4, 64);
    // bytes at or above dirtyEnd were never handed out: still the zeros of a fresh memory
    if (p < dirtyEnd) this.f32.fill(0, p >>> 2, Math.min((p >>> 2) + n, dirtyEnd >>> 2));
    return new Float32Array(this.buffer, p, n);
  }

  /** Byte offset of `a` in this memory, or -1 when `a` lives elsewhere. */
  offsetOf(a: ArrayBufferView): number {
    if (this.buffers.has(a.buffer)) return a.byteOffset;
    if (this.memory.buffer !== this.buffer) {
      this.refresh();
      if (this.buffers.has(a.buffer)) return a.byteOffset;
    }
    return -1;
  }

  // ---- staging: every kernel wrapper runs inside staged() ---------------------------------

  /**
   * Run `call`; arrays it staged with in/out are released afterwards, and outputs are copied
   * back to their arrays when it returns normally. Returns what `call` returns.
   */
  staged<R>(call: () => R): R {
    const mark = this.top;
    try {
      const r = call();
      this.flush();
      return r;
    } finally {
      this.release(mark);
    }
  }

  /** Pointer to the first n floats of a (read only by the kernel): in place, or a staged copy. */
  in(a: Float32Array, n: number): number {
    checkLen(a, n);
    const o = this.offsetOf(a);
    if (o >= 0) return o;
    const p = this.reserve(n * 4, 16);
    this.f32.set(n === a.length ? a : a.subarray(0, n), p >>> 2);
    return p;
  }

  /** Pointer to the first n floats of a, which the kernel writes (copyIn: and reads). */
  out(a: Float32Array, n: number, copyIn: boolean): number {
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
  inI32(a: Int32Array, n: number): number {
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
}

export function checkLen(a: ArrayLike<number>, n: number): void {
  if (a.length < n) throw new RangeError(`wasm kernels: array of length ${a.length} is shorter than the ${n} elements the call needs`);
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
