// The .wasm builds import a *shared* memory (assembly/asconfig.json: sharedMemory, for the
// threads). A page that is not cross-origin isolated has no SharedArrayBuffer, so it cannot make
// one, and an engine refuses to give a module declared shared a memory that is not. For that
// case this rewrites the one flag that says so: the memory import's limits byte, 0x03 (shared,
// with a maximum) → 0x01 (a maximum). Same length, nothing else touched; the module then runs
// single-threaded on a memory of fixed size (kernels/wasm/memory.ts). Atomic instructions stay
// valid on a memory that is not shared (the threads proposal allows it).
// Binary format: magic, version, then sections (id byte, size as unsigned LEB128, contents); the
// import section (id 2) is a vector of (module name, field name, kind, description).

/** Reads an unsigned LEB128 at `pos`; returns the value and the position after it. */
function uleb(bytes: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos >= bytes.length) throw new Error('wasm binary: truncated LEB128');
    const b = bytes[pos++];
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, pos];
    shift += 7;
  }
}

/**
 * A copy of the module whose imported memory is not shared (a module importing no shared memory
 * comes back unchanged). Throws on a binary it cannot read.
 */
export function unshareMemoryImport(module: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(module); // a copy (a Node Buffer's slice() would be a view)
  if (bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new Error('wasm binary: bad magic');
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++];
    let size: number;
    [size, pos] = uleb(bytes, pos);
    const end = pos + size;
    if (id !== 2) {
      pos = end;
      continue;
    }
    let count: number;
    [count, pos] = uleb(bytes, pos);
    for (let i = 0; i < count; i++) {
      for (let name = 0; name < 2; name++) {
        let len: number;
        [len, pos] = uleb(bytes, pos);
        pos += len;
      }
      const kind = bytes[pos++];
      if (kind === 0x00) {
        [, pos] = uleb(bytes, pos); // function: type index
      } else if (kind === 0x01) {
        pos++; // table: reference type, then limits
        pos = skipLimits(bytes, pos);
      } else if (kind === 0x02) {
        if (bytes[pos] & 0x02) bytes[pos] &= ~0x02; // memory: drop the shared bit
        pos = skipLimits(bytes, pos);
      } else if (kind === 0x03) {
        pos += 2; // global: value type, mutability
      } else if (kind === 0x04) {
        pos++; // tag: attribute, then type index
        [, pos] = uleb(bytes, pos);
      } else {
        throw new Error(`wasm binary: unknown import kind ${kind}`);
      }
    }
    return bytes;
  }
  return bytes;
}

function skipLimits(bytes: Uint8Array, pos: number): number {
  const flags = bytes[pos++];
  [, pos] = uleb(bytes, pos); // minimum
  if (flags & 0x01) [, pos] = uleb(bytes, pos); // maximum
  return pos;
}
