// Tests for the safetensors codec (src/io/safetensors.ts) and atomic file I/O (src/node/atomic.ts):
// bit-exact round trips, a hand-computed byte-level fixture, one test per kind of corruption
// (each must throw CheckpointError naming the problem), unaligned input, and atomic writes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CheckpointError, InputError } from '../src/errors.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from '../src/io/safetensors.js';
import { readFileBytes, writeFileAtomicSync } from '../src/node/atomic.js';

/** The raw bytes of a typed array, for bit-exact comparison (NaN payloads, -0). */
function rawBytes(a: Tensor['data']): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Bytes of a file with header `json` (padded with spaces to a multiple of 8) and data section `data`. */
function rawFile(json: string, data: Uint8Array = new Uint8Array(0), pad = true): Uint8Array {
  const h = new TextEncoder().encode(json);
  const n = pad ? Math.ceil(h.length / 8) * 8 : h.length;
  const out = new Uint8Array(8 + n + data.length).fill(0x20, 8, 8 + n);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(h, 8);
  out.set(data, 8 + n);
  return out;
}

/** Assert decode throws CheckpointError whose message matches every pattern. */
function assertBad(bytes: Uint8Array, ...patterns: RegExp[]): void {
  assert.throws(() => decodeSafetensors(bytes), (err: unknown) => {
    assert.ok(err instanceof CheckpointError, `expected CheckpointError, got ${String(err)}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

function sampleTensors(): Array<[string, Tensor]> {
  // F32 (2,3) with a quiet NaN with payload, a signalling-NaN bit pattern, -0, +-Inf, denormal.
  const f32bits = new Uint32Array([0x7fc00001, 0xff800001, 0x80000000, 0x7f800000, 0xff800000, 0x00000001]);
  const f32 = new Float32Array(f32bits.buffer);
  // F64 (4,) with NaN payload, -0, the smallest denormal, pi.
  const f64bits = new BigUint64Array([0x7ff8000000000123n, 0x8000000000000000n, 1n, 0x400921fb54442d18n]);
  const f64 = new Float64Array(f64bits.buffer);
  return [
    ['embed.W_e', { dtype: 'F32', shape: [2, 3], data: f32 }],
    ['w64', { dtype: 'F64', shape: [4], data: f64 }],
    ['ids', { dtype: 'I32', shape: [1, 3], data: new Int32Array([-2147483648, 0, 2147483647]) }],
    ['empty', { dtype: 'F32', shape: [0], data: new Float32Array(0) }],
    ['empty2d', { dtype: 'I32', shape: [3, 0], data: new Int32Array(0) }],
    ['scalar', { dtype: 'F64', shape: [], data: new Float64Array([-0]) }],
    ['step', { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) }],
    ['bytes', { dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) }],
  ];
}

test('round trip is bit-exact for every dtype, empty shapes and scalars, with metadata', () => {
  const input = sampleTensors();
  const meta = { format: 'rnnlm', vocab: '["a","b","\\n","é"]', empty: '', __proto__x: 'ok' };
  const bytes = encodeSafetensors(input, meta);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, meta);
  assert.deepEqual([...tensors.keys()], input.map(([n]) => n)); // file order == written order
  for (const [name, t] of input) {
    const got = tensors.get(name)!;
    assert.equal(got.dtype, t.dtype, name);
    assert.deepEqual(got.shape, t.shape, name);
    assert.equal(got.data.constructor, t.data.constructor, name);
    assert.equal(got.data.length, t.data.length, name);
    assert.deepEqual(rawBytes(got.data), rawBytes(t.data), name);
  }
  // Header is padded to a multiple of 8 with spaces; data starts aligned.
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  // Record form gives the same bytes as the array form.
  assert.deepEqual(encodeSafetensors(Object.fromEntries(input), meta), bytes);
});

test('metadata key "__proto__" stays an ordinary entry', () => {
  const meta: Record<string, string> = {};
  Object.defineProperty(meta, '__proto__', { value: 'v', enumerable: true, writable: true, configurable: true });
  const { metadata } = decodeSafetensors(encodeSafetensors([], meta));
  assert.equal(Object.getPrototypeOf(metadata), Object.prototype);
  assert.deepEqual(Object.entries(metadata), [['__proto__', 'v']]);
});

test('a tiny file matches a hand-computed byte sequence', () => {
  const bytes = encodeSafetensors(
    [['a', { dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) }]],
    { k: 'v' },
  );
  // JSON is 79 bytes: 26 for `{"__metadata__":{"k":"v"},` and 53 for the tensor entry and `}`;
  // padded with one space to N = 80 = 0x50.
  const json = '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  assert.equal(json.length, 79);
  const expected = [
    0x50, 0, 0, 0, 0, 0, 0, 0, // N = 80, u64 little-endian
    ...[...json].map((c) => c.charCodeAt(0)),
    0x20, // padding to a multiple of 8
    0x00, 0x00, 0x80, 0x3f, // 1.0f  = 0x3f800000, little-endian
    0x00, 0x00, 0x00, 0xc0, // -2.0f = 0xc0000000, little-endian
  ];
  assert.equal(expected.length, 8 + 80 + 8);
  assert.deepEqual([...bytes], expected);
  // Without metadata: 54 bytes of JSON, padded with two spaces to 56.
  const bare = encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) } });
  assert.equal(bare[0], 56);
  assert.equal(new TextDecoder().decode(bare.subarray(8, 64)), '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  ');
});

test('no tensors and no metadata encodes to "{}" padded to 8', () => {
  const bytes = encodeSafetensors([]);
  assert.deepEqual([...bytes], [8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20]);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.equal(tensors.size, 0);
  assert.deepEqual(metadata, {});
});

test('decoding from a Uint8Array at an odd byteOffset works and copies into aligned arrays', () => {
  const input = sampleTensors();
  const bytes = encodeSafetensors(input);
  const backing = new Uint8Array(bytes.length + 8);
  backing.set(bytes, 3);
  const view = backing.subarray(3, 3 + bytes.length);
  const { tensors } = decodeSafetensors(view);
  for (const [name, t] of input) {
    const got = tensors.get(name)!;
    assert.equal(got.data.byteOffset % got.data.BYTES_PER_ELEMENT, 0);
    assert.deepEqual(rawBytes(got.data), rawBytes(t.data), name);
  }
  // The result does not alias the input.
  backing.fill(0);
  assert.equal((tensors.get('ids')!.data as Int32Array)[2], 2147483647);
});

test('a file written by the reference layout (sorted, not in header order) decodes', () => {
  // Header lists "b" first but "a" comes first in the data; decoded map is in data order.
  const data = new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0x80, 0x3f]);
  const f = rawFile('{"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}', data);
  const { tensors } = decodeSafetensors(f);
  assert.deepEqual([...tensors.keys()], ['a', 'b']);
  assert.deepEqual([...(tensors.get('a')!.data as Int32Array)], [1, 2]);
  assert.deepEqual([...(tensors.get('b')!.data as Float32Array)], [1]);
});

// --- corruption: each must throw CheckpointError saying what is wrong -----------------------------

const GOOD = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
const DATA8 = new Uint8Array(8);

test('truncated file: shorter than 8 bytes', () => {
  assertBad(new Uint8Array(0), /truncated/, /0 bytes/);
  assertBad(new Uint8Array(7), /truncated/, /7 bytes/);
});

test('oversized header: 2^40 and beyond the option limit', () => {
  const f = new Uint8Array(16);
  new DataView(f.buffer).setBigUint64(0, 2n ** 40n, true);
  assertBad(f, /oversized header/, /1099511627776/, /100000000/);
  const max = new Uint8Array(16);
  new DataView(max.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
  assertBad(max, /oversized header/, /18446744073709551615/);
  // Within the limit but longer than the file.
  const long = rawFile(GOOD, DATA8);
  new DataView(long.buffer).setBigUint64(0, 1000n, true);
  assertBad(long, /header length 1000 bytes/, /only 64 bytes follow/);
  // The option lowers the limit.
  assert.throws(() => decodeSafetensors(rawFile(GOOD, DATA8), { maxHeaderBytes: 16 }), /oversized header: header length 56 bytes exceeds the limit of 16/);
});

test('truncated data section: offsets past the end', () => {
  const full = rawFile(GOOD, DATA8);
  assertBad(full.subarray(0, full.length - 3), /tensor "a"/, /\[0, 8\]/, /outside the data section/, /5 bytes/);
  assertBad(rawFile('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', DATA8), /outside the data section/, /8 bytes/);
});

test('bad header: not UTF-8, not JSON, not an object', () => {
  const f = rawFile(GOOD, DATA8);
  f[12] = 0xff;
  assertBad(f, /not valid UTF-8/);
  assertBad(rawFile('{"a": {', DATA8), /not valid JSON/);
  assertBad(rawFile('[1,2]'), /must start with '\{'/);
  assertBad(rawFile('  {}'), /must start with '\{'/);
  assertBad(rawFile('{} x'), /not valid JSON/);
});

test('bad tensor entries: missing fields, dtype, shape, offsets', () => {
  assertBad(rawFile('{"a":5}'), /tensor "a": entry must be an object/);
  assertBad(rawFile('{"a":{"dtype":"F32","shape":[2]}}', DATA8), /tensor "a": missing field "data_offsets"/);
  assertBad(rawFile('{"a":{"shape":[2],"data_offsets":[0,8]}}', DATA8), /missing field "dtype"/);
  assertBad(rawFile('{"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}}', DATA8), /unsupported dtype "BF16"/, /F32, F64, I32/);
  assertBad(rawFile('{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}', DATA8), /shape\[0\] = 2.5 is not a non-negative integer/);
  assertBad(rawFile('{"a":{"dtype":"F32","shape":[1,-2],"data_offsets":[0,8]}}', DATA8), /shape\[1\] = -2/);
  assertBad(rawFile('{"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}', DATA8), /shape must be an array/);
  assertBad(rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}', DATA8), /data_offsets must be \[begin, end\]/, /\[0\]/);
  assertBad(rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,"8"]}}', DATA8), /data_offsets must be \[begin, end\]/);
  assertBad(rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[-1,7]}}', DATA8), /data_offsets must be \[begin, end\]/);
  assertBad(rawFile('{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', DATA8), /\[8, 0\] end before they begin/);
  assertBad(rawFile('{"a":{"dtype":"F32","shape":[1e300,1e300],"data_offsets":[0,8]}}', DATA8), /not a non-negative integer|more than 2\^53/);
  assertBad(rawFile('{"a":{"dtype":"F32","shape":[4194304,4194304,4194304],"data_offsets":[0,8]}}', DATA8), /more than 2\^53 elements/);
});

test('shape/offset mismatch', () => {
  assertBad(
    rawFile('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', DATA8),
    /tensor "a"/, /\[0, 8\] span 8 bytes/, /shape \[3\] of F32 needs 3 x 4 = 12 bytes/,
  );
  assertBad(rawFile('{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}', DATA8), /needs 2 x 8 = 16 bytes/);
});

test('overlapping tensors, gaps and trailing bytes', () => {
  const d12 = new Uint8Array(12);
  assertBad(
    rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', d12),
    /overlapping tensors/, /"b" at \[4, 12\] overlaps "a" at \[0, 8\]/,
  );
  // Two tensors at the same place (aliasing).
  assertBad(
    rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}', DATA8),
    /overlapping tensors/,
  );
  assertBad(
    rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', d12),
    /gap in data section: bytes \[4, 8\) before tensor "b"/,
  );
  assertBad(rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', DATA8), /gap in data section: bytes \[0, 4\)/);
  assertBad(rawFile(GOOD, d12), /data section is 12 bytes but the tensors cover only 8; 4 trailing bytes/);
  assertBad(rawFile('{}', DATA8), /data section is 8 bytes but the tensors cover only 0/);
});

test('bad metadata: not an object, non-string values', () => {
  assertBad(rawFile('{"__metadata__":{"epoch":3}}'), /metadata value for "epoch" must be a string, got 3/);
  assertBad(rawFile('{"__metadata__":{"x":null}}'), /metadata value for "x" must be a string, got null/);
  assertBad(rawFile('{"__metadata__":["a"]}'), /"__metadata__" must be an object/);
});

test('encoding validates names, dtypes, shapes and data', () => {
  const t = (): Tensor => ({ dtype: 'F32', shape: [2], data: new Float32Array(2) });
  const bad = (fn: () => unknown, re: RegExp): void => {
    assert.throws(fn, (e: unknown) => e instanceof CheckpointError && re.test(e.message));
  };
  bad(() => encodeSafetensors([['', t()]]), /non-empty string/);
  bad(() => encodeSafetensors([['a', t()], ['a', t()]]), /duplicate tensor name "a"/);
  bad(() => encodeSafetensors([['__metadata__', t()]]), /reserved/);
  bad(() => encodeSafetensors([['a', { dtype: 'F32', shape: [3], data: new Float32Array(2) }]]), /shape \[3\] \(3 elements\) but its data holds 2 elements/);
  bad(() => encodeSafetensors([['a', { dtype: 'F32', shape: [-1], data: new Float32Array(0) }]]), /shape\[0\] = -1/);
  bad(() => encodeSafetensors([['a', { dtype: 'F32', shape: [2], data: new Float64Array(2) }]]), /dtype F32 but its data is a Float64Array; expected a Float32Array/);
  bad(() => encodeSafetensors([['a', { dtype: 'BF16' as never, shape: [2], data: new Float32Array(2) }]]), /unknown dtype "BF16"/);
  bad(() => encodeSafetensors([['a', t()]], { epoch: 3 as unknown as string }), /metadata value for "epoch" must be a string/);
});

test('encoding reads typed arrays at any offset into their buffer', () => {
  const backing = new Float32Array([9, 1, 2, 3, 9]);
  const view = backing.subarray(1, 4);
  const { tensors } = decodeSafetensors(encodeSafetensors([['v', { dtype: 'F32', shape: [3], data: view }]]));
  assert.deepEqual([...(tensors.get('v')!.data as Float32Array)], [1, 2, 3]);
});

// --- atomic file I/O ---------------------------------------------------------------------------

function withTmpDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'rnnlm-safetensors-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('atomic write: creates, overwrites, leaves no temp file; readFileBytes reads it back', () => {
  withTmpDir((dir) => {
    const p = join(dir, 'model.safetensors');
    const bytes = encodeSafetensors(sampleTensors(), { k: 'v' });
    writeFileAtomicSync(p, bytes);
    assert.deepEqual(readdirSync(dir), ['model.safetensors']);
    const back = readFileBytes(p);
    assert.ok(back instanceof Uint8Array);
    assert.deepEqual(new Uint8Array(back), bytes);
    writeFileAtomicSync(p, 'second, é');
    assert.equal(readFileSync(p, 'utf8'), 'second, é');
    assert.deepEqual(readdirSync(dir), ['model.safetensors']);
  });
});

test('atomic write: failures throw, keep the old file, and leave no temp file', () => {
  withTmpDir((dir) => {
    // Target directory missing.
    assert.throws(() => writeFileAtomicSync(join(dir, 'missing', 'x.bin'), 'data'), { code: 'ENOENT' });
    // Parent is a file.
    const file = join(dir, 'old.bin');
    writeFileSync(file, 'old contents');
    assert.throws(() => writeFileAtomicSync(join(file, 'x.bin'), 'data'), { code: 'ENOTDIR' });
    assert.equal(readFileSync(file, 'utf8'), 'old contents');
    // Target is a non-empty directory: the temp file is written, the rename fails, the temp is removed.
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    writeFileSync(join(sub, 'keep'), 'kept');
    assert.throws(() => writeFileAtomicSync(sub, 'data'));
    assert.equal(readFileSync(join(sub, 'keep'), 'utf8'), 'kept');
    assert.deepEqual(readdirSync(dir).sort(), ['old.bin', 'sub']);
  });
});

test('atomic write: a write that fails midway (file size limit) keeps the old file', { skip: process.platform === 'win32' ? 'needs sh and ulimit' : false }, () => {
  withTmpDir((dir) => {
    const p = join(dir, 'model.bin');
    writeFileSync(p, 'old contents');
    const mod = new URL('../src/node/atomic.js', import.meta.url).href;
    const script = `import { writeFileAtomicSync } from ${JSON.stringify(mod)};
      try { writeFileAtomicSync(process.argv[1], new Uint8Array(1 << 20)); console.log('no error'); }
      catch (e) { console.log('error ' + e.code); }`;
    // ulimit -f 8: at most 4-8 KiB per file; Node ignores SIGXFSZ, so write() fails with EFBIG.
    const r = spawnSync('/bin/sh', ['-c', 'ulimit -f 8 && exec "$0" --input-type=module -e "$1" "$2"', process.execPath, script, p], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /error EFBIG/);
    assert.equal(readFileSync(p, 'utf8'), 'old contents');
    assert.deepEqual(readdirSync(dir), ['model.bin']);
  });
});

test('readFileBytes: InputError naming the path for missing files and directories', () => {
  withTmpDir((dir) => {
    const missing = join(dir, 'nope.safetensors');
    assert.throws(() => readFileBytes(missing), (e: unknown) =>
      e instanceof InputError && e.message.includes(missing) && /no such file/.test(e.message));
    assert.throws(() => readFileBytes(dir), (e: unknown) =>
      e instanceof InputError && e.message.includes(dir) && /directory/.test(e.message));
    writeFileSync(join(dir, 'f'), 'x');
    assert.throws(() => readFileBytes(join(dir, 'f', 'g')), (e: unknown) =>
      e instanceof InputError && /no such file/.test(e.message));
    assert.ok(!existsSync(missing));
  });
});
