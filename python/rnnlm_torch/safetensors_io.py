"""The safetensors container, read and written for PyTorch tensors.

Layout (all integers little-endian)::

    bytes [0, 8)        N, the header length, unsigned 64-bit
    bytes [8, 8+N)      UTF-8 JSON header, padded with spaces so that N % 8 == 0
    bytes [8+N, end)    the data section: raw little-endian tensor elements

    header = {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [...],
              "data_offsets": [begin, end]}, ...}

When the ``safetensors`` package is importable it does the tensor work (``safetensors.torch``
``save`` / ``load``). Debian ships no such package and PyPI may be out of reach, so otherwise
the small reader and writer below do it: they validate what rnnlm's decoder validates (header
bounds, dtypes, shapes against offsets, tensors covering the data section exactly) and write
the header exactly as rnnlm's ``encodeSafetensors`` does (``__metadata__`` first, then the
tensors in the order given, compact JSON), so the same tensors and metadata give the same bytes
as the TypeScript side. The metadata is always read from the header here (both packages agree
on it).
"""

from __future__ import annotations

import ctypes
import json
import struct
import sys
from typing import Dict, Iterable, List, Mapping, NoReturn, Optional, Tuple, Union

import torch

from .errors import CheckpointError

try:  # the real package, when installed
    import safetensors.torch as _st  # type: ignore[import-not-found]
except ImportError:  # Debian has none: use the small implementation below
    _st = None

#: safetensors dtype name -> torch dtype.
DTYPES: Dict[str, torch.dtype] = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in DTYPES.items()}

#: The reference implementation's header size limit (100,000,000 bytes).
MAX_HEADER_BYTES = 100_000_000

Tensors = Union[Mapping[str, torch.Tensor], Iterable[Tuple[str, torch.Tensor]]]


def _check_host() -> None:
    if sys.byteorder != "little":
        raise CheckpointError("safetensors data are little-endian; this small reader/writer runs on little-endian hosts only")


def _fail(msg: str) -> NoReturn:
    raise CheckpointError(f"invalid safetensors: {msg}")


def read_header(data: bytes) -> Tuple[dict, int]:
    """The parsed JSON header and the offset where the data section starts."""
    if len(data) < 8:
        _fail(f"truncated file: {len(data)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES:
        _fail(f"oversized header: header length {n} bytes exceeds the limit of {MAX_HEADER_BYTES} bytes")
    if 8 + n > len(data):
        _fail(f"truncated file or oversized header: header length {n} bytes but only {len(data) - 8} bytes follow the 8-byte length")
    try:
        text = data[8 : 8 + n].decode("utf-8")
    except UnicodeDecodeError:
        _fail(f"header ({n} bytes) is not valid UTF-8")
    if not text.startswith("{"):
        _fail(f"header must start with '{{', got {text[:20]!r}")
    try:
        header = json.loads(text)
    except json.JSONDecodeError as e:
        _fail(f"header is not valid JSON ({e.msg})")
    if not isinstance(header, dict):
        _fail("header must be a JSON object")
    return header, 8 + n


def read_metadata(header: dict) -> Dict[str, str]:
    """``__metadata__`` as a dict of strings (empty when absent)."""
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        _fail('"__metadata__" must be an object of string values')
    return dict(meta)


def decode(data: bytes) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Tensors (CPU, owning their memory, in data order) and metadata of safetensors bytes."""
    header, start = read_header(data)
    metadata = read_metadata(header)
    if _st is not None:
        return dict(_st.load(bytes(data))), metadata
    _check_host()
    data_len = len(data) - start
    entries: List[Tuple[int, int, str, str, List[int]]] = []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        where = f"tensor {json.dumps(name)}"
        if not isinstance(e, dict) or not {"dtype", "shape", "data_offsets"} <= e.keys():
            _fail(f'{where}: entry must be an object with "dtype", "shape" and "data_offsets"')
        dtype, shape, offsets = e["dtype"], e["shape"], e["data_offsets"]
        if dtype not in DTYPES:
            _fail(f"{where}: unsupported dtype {json.dumps(dtype)} (supported: {', '.join(DTYPES)})")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            _fail(f"{where}: shape must be an array of non-negative integers, got {json.dumps(shape)}")
        if (
            not isinstance(offsets, list) or len(offsets) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in offsets)
        ):
            _fail(f"{where}: data_offsets must be [begin, end], two non-negative integers, got {json.dumps(offsets)}")
        begin, end = offsets
        count = 1
        for d in shape:
            count *= d
        need = count * torch.empty(0, dtype=DTYPES[dtype]).element_size()
        if end - begin != need:
            _fail(f"{where}: data_offsets [{begin}, {end}] span {end - begin} bytes but shape {shape} of {dtype} needs {need} bytes")
        if end > data_len:
            _fail(f"{where}: data_offsets [{begin}, {end}] lie outside the data section, which is {data_len} bytes")
        entries.append((begin, end, name, dtype, shape))
    entries.sort()
    pos = 0
    for begin, end, name, _, _ in entries:
        if begin < pos:
            _fail(f"overlapping tensors: {json.dumps(name)} at [{begin}, {end}] overlaps the tensor before it")
        if begin > pos:
            _fail(f"gap in data section: bytes [{pos}, {begin}) before tensor {json.dumps(name)} belong to no tensor")
        pos = end
    if pos != data_len:
        _fail(f"data section is {data_len} bytes but the tensors cover only {pos}")
    tensors: Dict[str, torch.Tensor] = {}
    for begin, end, name, dtype, shape in entries:
        if end == begin:
            tensors[name] = torch.empty(shape, dtype=DTYPES[dtype])
        else:
            buf = bytearray(data[start + begin : start + end])  # own, aligned copy
            tensors[name] = torch.frombuffer(buf, dtype=DTYPES[dtype]).reshape(shape)
    return tensors, metadata


def _raw_bytes(t: torch.Tensor) -> bytes:
    """The little-endian bytes of a contiguous CPU tensor."""
    return ctypes.string_at(t.data_ptr(), t.numel() * t.element_size()) if t.numel() > 0 else b""


def encode(tensors: Tensors, metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """Safetensors bytes of ``tensors`` (in the order given) and string ``metadata``."""
    items = list(tensors.items()) if isinstance(tensors, Mapping) else list(tensors)
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise CheckpointError("cannot encode safetensors: metadata keys and values must be strings")
    # Each tensor its own contiguous CPU copy (the real package refuses shared storage: a tied model's weights).
    items = [(name, t.detach().to("cpu").contiguous().clone()) for name, t in items]
    if _st is not None:
        return _st.save(dict(items), metadata=dict(metadata) if metadata is not None else None)
    _check_host()
    dumps = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731  (JSON.stringify's escaping)
    parts: List[str] = []
    if metadata is not None:
        parts.append('"__metadata__":{' + ",".join(f"{dumps(k)}:{dumps(v)}" for k, v in metadata.items()) + "}")
    seen = set()
    offset = 0
    chunks: List[bytes] = []
    for name, t in items:
        if not isinstance(name, str) or not name or name == "__metadata__" or name in seen:
            raise CheckpointError(f"cannot encode safetensors: bad or duplicate tensor name {name!r}")
        seen.add(name)
        if t.dtype not in _NAMES:
            raise CheckpointError(f"cannot encode safetensors: tensor {name!r} has unsupported dtype {t.dtype}")
        raw = _raw_bytes(t)
        shape = ",".join(str(d) for d in t.shape)
        parts.append(f'{dumps(name)}:{{"dtype":"{_NAMES[t.dtype]}","shape":[{shape}],"data_offsets":[{offset},{offset + len(raw)}]}}')
        offset += len(raw)
        chunks.append(raw)
    header = ("{" + ",".join(parts) + "}").encode("utf-8")
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + b"".join(chunks)


def implementation() -> str:
    """Which implementation reads and writes the tensors: 'safetensors <version>' or 'built-in'."""
    if _st is None:
        return "built-in"
    import safetensors  # type: ignore[import-not-found]

    return f"safetensors {getattr(safetensors, '__version__', '?')}"
