// File I/O at the Node edge: atomic whole-file writes and whole-file reads with clear errors.
//
// writeFileAtomicSync writes a temporary file beside the target, fsyncs it and renames it over
// the target, so a reader sees either the old file or the complete new one, never a torn write;
// a failed write leaves the old file untouched and removes the temporary. readFileBytes turns the
// usual failures (missing, a directory, no permission) into InputError naming the path.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { InputError } from '../errors.js';

/**
 * Write bytes to path atomically: write `${path}.tmp-<pid>-<random>` in the same directory,
 * fsync, rename over path; on any failure remove the temp file and rethrow the original error.
 * A string is written as UTF-8.
 */
export function writeFileAtomicSync(path: string, bytes: Uint8Array | string): void {
  const buf = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fd: number | undefined;
  let created = false;
  try {
    fd = openSync(tmp, 'wx', 0o666); // 'x': never clobber an existing file of the same name
    created = true;
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
    created = false;
  } catch (err) {
    if (fd !== undefined) {
      try { closeSync(fd); } catch { /* already failing; keep the original error */ }
    }
    if (created) {
      try { unlinkSync(tmp); } catch { /* already failing; keep the original error */ }
    }
    throw err;
  }
  syncDirOf(path);
}

/** Best effort: fsync the directory holding `path` so the rename itself is durable (POSIX). */
function syncDirOf(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dirname(path), 'r');
    fsyncSync(fd);
  } catch {
    // Not supported everywhere (e.g. Windows); the data itself is already synced.
  } finally {
    if (fd !== undefined) try { closeSync(fd); } catch { /* ignore */ }
  }
}

/**
 * Read a whole file. Throws InputError naming the path when it is missing ("no such file"), a
 * directory, or unreadable; the returned array is a plain Uint8Array view of the file's bytes.
 */
export function readFileBytes(path: string): Uint8Array {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    switch (code) {
      case 'ENOENT':
        throw new InputError(`cannot read ${path}: no such file; check the path`);
      case 'ENOTDIR':
        throw new InputError(`cannot read ${path}: no such file (a parent of this path is not a directory); check the path`);
      case 'EISDIR':
        throw new InputError(`cannot read ${path}: it is a directory, not a file; give the path of a file inside it`);
      case 'EACCES':
      case 'EPERM':
        throw new InputError(`cannot read ${path}: permission denied; check the file's permissions`);
      default:
        throw new InputError(`cannot read ${path}: ${(err as Error).message}`);
    }
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
