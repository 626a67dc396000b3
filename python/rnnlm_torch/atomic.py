"""Whole-file reads with clear errors, and atomic writes (as rnnlm's src/io/atomic.ts).

``write_atomic`` writes ``<path>.tmp-<pid>-<random>`` in the target's directory, fsyncs it,
``os.replace``-s it over the target and fsyncs the directory: a reader sees the old file or the
complete new one, never a torn write; on failure the temporary file is removed.
"""

from __future__ import annotations

import errno
import os
import secrets

from .errors import InputError


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same directory, fsync, replace)."""
    tmp = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(6)}"
    created = False
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        created = True
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        created = False
    finally:
        if created:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    _sync_dir(os.path.dirname(os.path.abspath(path)))


def _sync_dir(directory: str) -> None:
    """Best effort: make the rename itself durable (POSIX)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_bytes(path: str) -> bytes:
    """The whole file; InputError naming the path when it is missing, a directory or unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise InputError(f"cannot read {path}: no such file; check the path") from None
    except IsADirectoryError:
        raise InputError(f"cannot read {path}: it is a directory, not a file; give the path of a file inside it") from None
    except PermissionError:
        raise InputError(f"cannot read {path}: permission denied; check the file's permissions") from None
    except OSError as e:
        if e.errno == errno.ENOTDIR:
            raise InputError(f"cannot read {path}: no such file (a parent of this path is not a directory); check the path") from None
        raise InputError(f"cannot read {path}: {e.strerror}") from None
