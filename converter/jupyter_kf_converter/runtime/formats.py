"""How one value is written to and read from a file, chosen by its type.

- numpy arrays (plain or memory-mapped, not of object dtype): ``.npy``, memory-mapped
  copy-on-write on load (the consumer may modify it; the file never changes);
- pandas DataFrames, when pyarrow is installed: ``.parquet``, kept only if reading the file back
  gives the same frame (index, columns, dtypes, values, attrs); otherwise pickle;
- anything else: ``.pkl`` with cloudpickle when installed (functions and classes defined in the
  notebook travel by value), else the standard pickle.

numpy, pandas, pyarrow and cloudpickle are imported only when a value needs them: a value can only
be an array if numpy is already in ``sys.modules``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import pickle
import re
import sys
import threading
import types
import warnings
from collections import ChainMap
from pathlib import Path
from typing import Any, BinaryIO

NPY, PARQUET, PICKLE = "npy", "parquet", "pickle"
EXTENSIONS = {NPY: "npy", PARQUET: "parquet", PICKLE: "pkl"}
PICKLE_PROTOCOL = 5


class _HashingWriter:
    """A write-only file wrapper that hashes and counts what goes through it (one pass over data)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw, self._hash, self.bytes = raw, hashlib.sha256(), 0

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._hash.update(view)
        self.bytes += view.nbytes
        return self._raw.write(view)

    def flush(self) -> None:
        self._raw.flush()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def type_name(value: Any) -> str:
    """``module.QualName`` of the value's type (``int`` for builtins), as shown in messages."""
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def file_sha256(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


# ipykernel compiles each cell under a per-process file name, /tmp/ipykernel_<pid>/<cell hash>.py.
_KERNEL_CELL_FILE = re.compile(r"ipykernel_\d+[\\/](?P<cell>[^\\/]+)$")


def _pickle_to(out: Any, value: Any) -> None:
    """Pickle with cloudpickle when installed (by value for notebook functions), else pickle."""
    try:
        import cloudpickle
    except ImportError:
        pickle.dump(value, out, protocol=PICKLE_PROTOCOL)
        return
    _stable_pickler(cloudpickle)(out, protocol=PICKLE_PROTOCOL).dump(value)


@functools.lru_cache(maxsize=1)
def _stable_pickler(cloudpickle: Any) -> Any:
    """cloudpickle's Pickler, but code compiled in a kernel cell is named by its cell, not by the
    kernel's process id, so a function defined in a step pickles to the same bytes on every run
    (its hash, and so its consumers' cache keys, stay stable)."""
    base = cloudpickle.Pickler
    reduce_code = base.dispatch_table.get(types.CodeType)
    if reduce_code is None:  # cloudpickle internals changed: keep its behaviour
        return base

    def reduce_stable(code: types.CodeType) -> Any:
        match = _KERNEL_CELL_FILE.search(code.co_filename)
        if match:
            code = code.replace(co_filename=f"<kernel cell {match['cell']}>")
        return reduce_code(code)

    class StablePickler(base):  # type: ignore[misc,valid-type]
        dispatch_table = ChainMap({types.CodeType: reduce_stable}, base.dispatch_table)

    return StablePickler


def _is_plain_array(value: Any) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and type(value) in (np.ndarray, np.memmap) and not value.dtype.hasobject


def _is_plain_frame(value: Any) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and type(value) is pd.DataFrame and importlib.util.find_spec("pyarrow") is not None


def candidates(value: Any) -> list[str]:
    """Formats to try for a value, best first; pickle is always last."""
    if _is_plain_array(value):
        return [NPY, PICKLE]
    if _is_plain_frame(value):
        return [PARQUET, PICKLE]
    return [PICKLE]


class Unfaithful(Exception):
    """The format cannot represent this value exactly; the caller falls back to the next one."""


def write(fmt: str, value: Any, tmp: Path) -> tuple[str, int]:
    """Write ``value`` to ``tmp`` in ``fmt``; return (sha256, bytes). Raises ``Unfaithful``."""
    if fmt == PARQUET:
        return _write_parquet(value, tmp)
    if fmt == NPY:
        return write_npy(value, tmp)
    with open(tmp, "wb") as raw:
        out = _HashingWriter(raw)
        _pickle_to(out, value)
        return out.hexdigest(), out.bytes


PARALLEL_HASH_BYTES = 32 << 20  # arrays this big are hashed on a thread while they are written


def write_npy(value: Any, tmp: Path) -> tuple[str, int]:
    """Save an array as ``.npy`` (what ``np.save`` writes) and return (sha256, bytes) in one
    pass: the header, then the array's own memory, written and hashed at once on two threads
    (both release the GIL), without reading the file back. Arrays this cannot view as plain
    bytes (not C-contiguous, structured dtypes memoryview refuses) go through ``np.save``."""
    import numpy as np
    from numpy.lib import format as npy_format

    try:
        if not value.flags.c_contiguous or value.ndim == 0:
            raise ValueError("not a plain contiguous buffer")
        data = memoryview(value).cast("B")
        head = io.BytesIO()
        npy_format.write_array_header_1_0(head, npy_format.header_data_from_array_1_0(value))
    except (ValueError, TypeError, UnicodeError, NotImplementedError):
        with open(tmp, "wb") as f:  # a real file: numpy writes the buffer in one go
            np.save(f, value, allow_pickle=False)
        return file_sha256(tmp)
    header = head.getvalue()
    h = hashlib.sha256(header)
    with open(tmp, "wb") as f:
        f.write(header)
        if data.nbytes < PARALLEL_HASH_BYTES:
            h.update(data)
            f.write(data)
        else:
            hasher = threading.Thread(target=h.update, args=(data,), name="kf-npy-hash")
            hasher.start()
            try:
                f.write(data)
            finally:
                hasher.join()
    return h.hexdigest(), len(header) + data.nbytes


def _write_parquet(frame: Any, tmp: Path) -> tuple[str, int]:
    import pandas as pd

    try:
        with warnings.catch_warnings():  # e.g. "mixed type column names": we fall back, not warn
            warnings.simplefilter("ignore")
            frame.to_parquet(tmp, engine="pyarrow")
            back = pd.read_parquet(tmp, engine="pyarrow")
    except Exception as exc:  # pyarrow raises several types for what it cannot represent
        raise Unfaithful(f"parquet cannot store this frame: {exc}") from exc
    if not same_frame(frame, back):
        raise Unfaithful("the frame read back from parquet differs (index, columns, dtypes or values)")
    return file_sha256(tmp)


def same_frame(a: Any, b: Any) -> bool:
    """True when two DataFrames are equal including index/column types, names and dtypes."""
    try:
        return bool(
            type(a.index) is type(b.index)
            and a.index.equals(b.index)
            and list(a.index.names) == list(b.index.names)
            and _index_dtypes(a.index) == _index_dtypes(b.index)
            and type(a.columns) is type(b.columns)
            and a.columns.equals(b.columns)
            and list(a.columns.names) == list(b.columns.names)
            and _index_dtypes(a.columns) == _index_dtypes(b.columns)
            and list(a.dtypes) == list(b.dtypes)
            and a.equals(b)
            and a.attrs == b.attrs
        )
    except Exception:  # e.g. attrs holding arrays: not comparable, so not provably faithful
        return False


def _index_dtypes(index: Any) -> list[Any]:
    return list(index.dtypes) if hasattr(index, "levels") else [index.dtype]


def read(fmt: str, path: Path) -> Any:
    """Read a value written by :func:`write`."""
    if fmt == NPY:
        import numpy as np

        try:
            return np.load(path, mmap_mode="c", allow_pickle=False)
        except (ValueError, OSError):  # e.g. a zero-size array cannot be mapped
            return np.load(path, allow_pickle=False)
    if fmt == PARQUET:
        import pandas as pd

        return pd.read_parquet(path, engine="pyarrow")
    if fmt == PICKLE:
        with open(path, "rb") as f:
            return pickle.load(f)
    raise ValueError(f"unknown value format {fmt!r} for {path}")
