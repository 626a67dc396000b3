// File I/O at the Node edge: atomic whole-file writes and whole-file reads with clear errors.
//
// writeFileAtomicSync writes a temporary file beside the target, fsyncs it and renames it over
// the target, so a reader sees either the old file or the complete new one, never a torn write;
// a failed write leaves the old file untouched, removes the temporary, and throws OutputError
// saying so (disk full, permission, read-only file system, missing directory). Temporaries left
// by a process that was killed (`<target>.tmp-<pid>-<hex>`) are never read as the target, and
// the next successful write of the same target removes them. readFileBytes turns the usual
// failures (missing, a directory, no permission) into InputError naming the path.

import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { InputError, OutputError } from '../errors.js';

/**
 * Write bytes to path atomically: write `${path}.tmp-<pid>-<random>` in the same directory,
 * fsync, rename over path; on any failure remove the temp file and throw OutputError (the
 * original error as its cause). A string is written as UTF-8.
 */
export function writeFileAtomicSync(path: string, bytes: Uint8Array | string): void {
  const buf = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const hook = testHook(path);
  let fd: number | undefined;
  let created = false;
  try {
    fd = openSync(tmp, 'wx', 0o666); // 'x': never clobber an existing file of the same name
    created = true;
    const end = hook?.fail ? buf.length >> 1 : buf.length;
    for (let off = 0; off < end; ) off += writeSync(fd, buf, off, end - off);
    if (hook?.fail) throw Object.assign(new Error(`${hook.fail}: injected by RNNLM_TEST_WRITE_HOOK`), { code: hook.fail });
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    if (hook?.pauseMs) {
      if (hook.pausedFlag) writeFileSync(hook.pausedFlag, tmp); // tells the test where it paused
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, hook.pauseMs);
    }
    renameSync(tmp, path);
    created = false;
  } catch (err) {
    if (fd !== undefined) {
      try { closeSync(fd); } catch { /* already failing; keep the original error */ }
    }
    if (created) {
      try { unlinkSync(tmp); } catch { /* already failing; keep the original error */ }
    }
    throw (err as NodeJS.ErrnoException).code ? writeFailure(path, err) : err;
  }
  syncDirOf(path);
  removeStaleTemporaries(path);
}

/** Why a write failed and what to do, by errno code. */
const WRITE_FAILURES: Record<string, [string, string]> = {
  ENOSPC: ['no space left on device', 'free some space, or write elsewhere'],
  EDQUOT: ['disk quota exceeded', 'free some space, or write elsewhere'],
  EFBIG: ['file too large for this file system or process limit', 'write elsewhere'],
  EACCES: ['permission denied', 'check the permissions of the directory, or write elsewhere'],
  EPERM: ['operation not permitted', 'check the permissions of the directory, or write elsewhere'],
  EROFS: ['read-only file system', 'write elsewhere'],
  ENOENT: ['the directory does not exist', 'create it, or write elsewhere'],
  ENOTDIR: ['a parent of this path is not a directory', 'check the path'],
  EISDIR: ['it is a directory', 'give the path of a file'],
};

/**
 * The OutputError for a failed atomic write of `path`: the reason, that nothing was lost (the
 * previous file, if any, is unchanged: the write went to a temporary that is gone), and the fix.
 */
export function writeFailure(path: string, err: unknown): OutputError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const [why, fix] = WRITE_FAILURES[code] ?? [(err as Error).message, 'check the path'];
  const kept = existsSync(path) ? `the previous ${path} is unchanged` : `no file was at ${path} before`;
  const e = new OutputError(`cannot write ${path}: ${why}${code && !why.includes(code) ? ` (${code})` : ''}; nothing was lost: ${kept}; ${fix}`, code);
  (e as { cause?: unknown }).cause = err;
  return e;
}

/**
 * Test hook, set by tests only (never in normal use): RNNLM_TEST_WRITE_HOOK is a JSON object
 * {"path": suffix, "nth": n, "fail": "ENOSPC"} or {"path": suffix, "nth": n, "pauseMs": ms,
 * "pausedFlag": file}: the n-th atomic write (counted from 1, default every one) of a path ending
 * in `suffix` in this process fails with that errno code after writing half its bytes, or pauses
 * for `pauseMs` between the fsync of its temporary and the rename, after writing the temporary's
 * path to `pausedFlag` (a test kills the process there).
 */
interface WriteHook { path?: string; nth?: number; fail?: string; pauseMs?: number; pausedFlag?: string }
const hookWrites = new Map<string, number>();
function testHook(path: string): WriteHook | null {
  const spec = process.env.RNNLM_TEST_WRITE_HOOK;
  if (!spec) return null;
  const h = JSON.parse(spec) as WriteHook;
  if (h.path !== undefined && !path.endsWith(h.path)) return null;
  const n = (hookWrites.get(h.path ?? '') ?? 0) + 1;
  hookWrites.set(h.path ?? '', n);
  return h.nth === undefined || h.nth === n ? h : null;
}

/** Remove `${path}.tmp-<pid>-*` files of processes that no longer run (killed mid-write). */
function removeStaleTemporaries(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isSafeInteger(pid) || pid === process.pid || processRuns(pid)) continue;
    try { unlinkSync(join(dir, name)); } catch { /* best effort */ }
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // runs, as another user
  }
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
    throw openFailure(path, err);
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** The InputError for a file that cannot be opened for reading, by its errno code. */
export function openFailure(path: string, err: unknown): InputError {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return new InputError(`cannot read ${path}: no such file; check the path`);
    case 'ENOTDIR':
      return new InputError(`cannot read ${path}: no such file (a parent of this path is not a directory); check the path`);
    case 'EISDIR':
      return new InputError(`cannot read ${path}: it is a directory, not a file; give the path of a file inside it`);
    case 'EACCES':
    case 'EPERM':
      return new InputError(`cannot read ${path}: permission denied; check the file's permissions`);
    default:
      return new InputError(`cannot read ${path}: ${(err as Error).message}`);
  }
}
