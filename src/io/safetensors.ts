// The safetensors container format, encoded and decoded exactly and defensively.
//
// Layout of a file (all integers little-endian):
//   bytes [0, 8)          N, the header length, as an unsigned 64-bit integer
//   bytes [8, 8+N)        UTF-8 JSON header, padded with spaces (0x20) so that N % 8 == 0
//   bytes [8+N, end)      the data section: raw little-endian tensor elements
// Header:
//   { "__metadata__": { string: string },                       (optional)
//     "<name>": { "dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end] }, ... }
// Offsets are relative to the start of the data section. As in the reference implementation
// (huggingface/safetensors), the tensors must cover the data section exactly: sorted by begin
// they are contiguous from 0, with no overlaps and no gaps, and the last one ends at the end of
// the file. We write tensors in the order given (the reference sorts by alignment, then name);
// any order is valid to a reader.
//
// Pure module: no Node imports, so it also runs in a browser. Decoded data are always copied into
// fresh, aligned typed arrays; bytes are swapped explicitly on a big-endian host.

import { CheckpointError } from '../errors.js';

/** Element types. F32, F64, I32, I64 and U8 encode and decode; others are rejected by name. */
export type DType = 'F32' | 'F64' | 'I32' | 'I64' | 'U8';

/** One tensor: `data` holds product(shape) elements in row-major order; shape [] is a scalar. */
export interface Tensor {
  dtype: DType;
  /** Dimensions, each a non-negative integer; [] is a scalar (one element). */
  shape: number[];
  /** product(shape) elements; the typed array kind must match `dtype`. */
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
}

/** Default header size limit: the reference's MAX_HEADER_SIZE (100_000_000 bytes, ~95 MiB). */
export const MAX_HEADER_BYTES = 100_000_000;

interface DTypeInfo {
  /** Bytes per element. */
  size: number;
  /** The typed array that holds this dtype. */
  ctor: Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor | BigInt64ArrayConstructor | Uint8ArrayConstructor;
}

const DTYPES: Record<DType, DTypeInfo> = {
  F32: { size: 4, ctor: Float32Array },
  F64: { size: 8, ctor: Float64Array },
  I32: { size: 4, ctor: Int32Array },
  I64: { size: 8, ctor: BigInt64Array },
  U8: { size: 1, ctor: Uint8Array },
};
const DTYPE_NAMES = Object.keys(DTYPES).join(', ');

function isDType(x: unknown): x is DType {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, x);
}

/** True when the host stores multi-byte numbers little-endian (every mainstream CPU). */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverse each `size`-byte group of `bytes` in place (little-endian <-> big-endian). */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

function fmtShape(shape: readonly unknown[]): string {
  return `[${shape.map((d) => JSON.stringify(d)).join(', ')}]`;
}

/**
 * Number of elements for `shape`, or a string saying what is wrong (a dimension that is not a
 * non-negative integer, or a product beyond 2^53).
 */
function elementCount(shape: unknown): number | string {
  if (!Array.isArray(shape)) return `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`;
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      return `shape[${i}] = ${JSON.stringify(d)} is not a non-negative integer (shape ${fmtShape(shape)})`;
    }
    n *= d;
    if (!Number.isSafeInteger(n)) return `shape ${fmtShape(shape)} has more than 2^53 elements`;
  }
  return n;
}

/** The typed array kind that holds `dtype`, by name, for messages. */
function ctorName(dtype: DType): string {
  return DTYPES[dtype].ctor.name;
}

/**
 * Encode tensors (in the order given, contiguous) and optional string metadata to safetensors
 * bytes. Throws CheckpointError for an empty, duplicate or reserved name, an unknown dtype, a
 * bad shape, data of the wrong kind or length, or a non-string metadata value.
 */
export function encodeSafetensors(
  tensors: Record<string, Tensor> | Array<[string, Tensor]>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries: Array<[string, Tensor]> = Array.isArray(tensors) ? tensors : Object.entries(tensors);

  // Validate and lay out: entry i occupies data bytes [begins[i], begins[i] + sizes[i]).
  const seen = new Set<string>();
  const begins: number[] = [];
  const sizes: number[] = [];
  let dataLen = 0;
  for (const [name, t] of entries) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new CheckpointError(`cannot encode safetensors: tensor name must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    if (name === '__metadata__') {
      throw new CheckpointError('cannot encode safetensors: "__metadata__" is reserved for the metadata and cannot name a tensor');
    }
    if (seen.has(name)) throw new CheckpointError(`cannot encode safetensors: duplicate tensor name ${JSON.stringify(name)}`);
    seen.add(name);
    if (!isDType(t.dtype)) {
      throw new CheckpointError(`cannot encode safetensors: tensor ${JSON.stringify(name)} has unknown dtype ${JSON.stringify(t.dtype)} (supported: ${DTYPE_NAMES})`);
    }
    const info = DTYPES[t.dtype];
    const n = elementCount(t.shape);
    if (typeof n === 'string') throw new CheckpointError(`cannot encode safetensors: tensor ${JSON.stringify(name)}: ${n}`);
    if (!(t.data instanceof info.ctor)) {
      const got = (t.data as object | null)?.constructor?.name ?? String(t.data);
      throw new CheckpointError(`cannot encode safetensors: tensor ${JSON.stringify(name)} has dtype ${t.dtype} but its data is a ${got}; expected a ${ctorName(t.dtype)}`);
    }
    if (t.data.length !== n) {
      throw new CheckpointError(`cannot encode safetensors: tensor ${JSON.stringify(name)} has shape ${fmtShape(t.shape)} (${n} elements) but its data holds ${t.data.length} elements`);
    }
    begins.push(dataLen);
    sizes.push(n * info.size);
    dataLen += n * info.size;
  }

  // Header JSON, built by hand so the key order is exactly: __metadata__, then tensors in order.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const kv: string[] = [];
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new CheckpointError(`cannot encode safetensors: metadata value for ${JSON.stringify(k)} must be a string, got ${typeof v} ${JSON.stringify(v)}`);
      }
      kv.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    parts.push(`"__metadata__":{${kv.join(',')}}`);
  }
  entries.forEach(([name, t], i) => {
    const shape = t.shape.join(',');
    parts.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${shape}],"data_offsets":[${begins[i]},${begins[i]! + sizes[i]!}]}`);
  });
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLen = Math.ceil(json.length / 8) * 8; // pad with spaces to a multiple of 8

  // out is (8 + headerLen + dataLen) bytes.
  const out = new Uint8Array(8 + headerLen + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  const dataStart = 8 + headerLen;
  entries.forEach(([, t], i) => {
    const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const at = dataStart + begins[i]!;
    out.set(src, at);
    if (!HOST_LITTLE_ENDIAN) swapBytes(out.subarray(at, at + sizes[i]!), DTYPES[t.dtype].size);
  });
  return out;
}

/** Throw the CheckpointError for an invalid file. */
function fail(msg: string): never {
  throw new CheckpointError(`invalid safetensors: ${msg}`);
}

/** Options for decodeSafetensors. */
export interface DecodeOptions {
  /** Largest header accepted, in bytes; default MAX_HEADER_BYTES (100_000_000, as the reference). */
  maxHeaderBytes?: number;
}

/**
 * Decode safetensors bytes (any byteOffset). Every header field is validated and the data are
 * copied into fresh typed arrays; the input is not retained. Tensors come back in file order
 * (by data offset). Throws CheckpointError naming the problem and the numbers involved.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  opts: DecodeOptions = {},
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const maxHeaderBytes = opts.maxHeaderBytes ?? MAX_HEADER_BYTES;
  if (!Number.isSafeInteger(maxHeaderBytes) || maxHeaderBytes < 0) {
    throw new CheckpointError(`maxHeaderBytes must be a non-negative integer, got ${maxHeaderBytes}`);
  }

  // --- header length -------------------------------------------------------------------------
  if (bytes.length < 8) fail(`truncated file: ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(maxHeaderBytes)) {
    fail(`oversized header: header length ${n64} bytes exceeds the limit of ${maxHeaderBytes} bytes`);
  }
  const headerLen = Number(n64);
  if (8 + headerLen > bytes.length) {
    fail(`truncated file or oversized header: header length ${headerLen} bytes but only ${bytes.length - 8} bytes follow the 8-byte length`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;

  // --- header JSON ---------------------------------------------------------------------------
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    return fail(`header (${headerLen} bytes) is not valid UTF-8`);
  }
  if (!text.startsWith('{')) {
    fail(`header must start with '{', got ${JSON.stringify(text.slice(0, 20))}`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message}): ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail(`header must be a JSON object, got ${Array.isArray(header) ? 'an array' : JSON.stringify(header)}`);
  }
  const fields = header as Record<string, unknown>;

  // --- metadata ------------------------------------------------------------------------------
  const metadata: Record<string, string> = {};
  if (Object.prototype.hasOwnProperty.call(fields, '__metadata__')) {
    const m = fields['__metadata__'];
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      fail(`"__metadata__" must be an object of string values, got ${JSON.stringify(m)}`);
    }
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`metadata value for ${JSON.stringify(k)} must be a string, got ${JSON.stringify(v)}`);
      // defineProperty, so a key such as "__proto__" stays an ordinary entry.
      Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }

  // --- tensor entries ------------------------------------------------------------------------
  interface Entry { name: string; dtype: DType; shape: number[]; begin: number; end: number }
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(fields)) {
    if (name === '__metadata__') continue;
    const where = `tensor ${JSON.stringify(name)}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      fail(`${where}: entry must be an object with "dtype", "shape" and "data_offsets", got ${JSON.stringify(raw)}`);
    }
    const e = raw as Record<string, unknown>;
    for (const f of ['dtype', 'shape', 'data_offsets']) {
      if (!Object.prototype.hasOwnProperty.call(e, f)) fail(`${where}: missing field "${f}"`);
    }
    if (!isDType(e['dtype'])) fail(`${where}: unsupported dtype ${JSON.stringify(e['dtype'])} (supported: ${DTYPE_NAMES})`);
    const dtype = e['dtype'] as DType;
    const count = elementCount(e['shape']);
    if (typeof count === 'string') fail(`${where}: ${count}`);
    const shape = e['shape'] as number[];
    const off = e['data_offsets'];
    if (
      !Array.isArray(off) || off.length !== 2 ||
      !off.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)
    ) {
      fail(`${where}: data_offsets must be [begin, end], two non-negative integers, got ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    if (end < begin) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    const need = count * DTYPES[dtype].size;
    if (end - begin !== need) {
      fail(`${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape ${fmtShape(shape)} of ${dtype} needs ${count} x ${DTYPES[dtype].size} = ${need} bytes`);
    }
    if (end > dataLen) {
      fail(`${where}: data_offsets [${begin}, ${end}] lie outside the data section, which is ${dataLen} bytes`);
    }
    entries.push({ name, dtype, shape: shape.slice(), begin, end });
  }

  // --- coverage: sorted by (begin, end), contiguous from 0 to dataLen ------------------------
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Entry | undefined;
  for (const e of entries) {
    if (e.begin < pos) {
      fail(`overlapping tensors: ${JSON.stringify(e.name)} at [${e.begin}, ${e.end}] overlaps ${JSON.stringify(prev!.name)} at [${prev!.begin}, ${prev!.end}]`);
    }
    if (e.begin > pos) {
      fail(`gap in data section: bytes [${pos}, ${e.begin}) before tensor ${JSON.stringify(e.name)} belong to no tensor`);
    }
    pos = e.end;
    prev = e;
  }
  if (pos !== dataLen) {
    fail(`data section is ${dataLen} bytes but the tensors cover only ${pos}; ${dataLen - pos} trailing bytes belong to no tensor`);
  }

  // --- data: copy into fresh (aligned) buffers, little-endian to host order -------------------
  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    const info = DTYPES[e.dtype];
    const copy = bytes.slice(dataStart + e.begin, dataStart + e.end); // own buffer, offset 0
    if (!HOST_LITTLE_ENDIAN) swapBytes(copy, info.size);
    const data = new info.ctor(copy.buffer, 0, (e.end - e.begin) / info.size); // (product(shape),)
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}
