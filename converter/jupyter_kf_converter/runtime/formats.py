"""How one value is written to and read from a file, chosen by its type (see :mod:`.registry`).

Built-in formats (``builtin_formats/``, each imported only when used):

- numpy arrays (plain or memory-mapped, not of object dtype): ``npy``, memory-mapped copy-on-write
  on load (the consumer may modify it; the file never changes);
- pandas DataFrames, when pyarrow is installed: ``parquet``, kept only if reading the file back
  gives the same frame (index, columns, dtypes, values, attrs);
- scipy.sparse matrices and arrays: ``scipy-sparse`` (``.npz``); pyarrow Tables and polars
  DataFrames: Arrow IPC files (memory-mapped on load); torch tensors and modules: ``torch.save``;
  Keras models: ``.keras`` files; XGBoost ``DMatrix`` (its binary buffer) and ``Booster`` (UBJSON
  model); LightGBM ``Booster`` (text model); scikit-learn estimators: joblib; PIL images: PNG;
- anything else, and whatever a format above cannot store faithfully: ``pickle`` (cloudpickle when
  installed, so functions and classes defined in the notebook travel by value).

A format that cannot store a value (``Unfaithful``, or any error but a full or failing disk) hands
it to the next candidate; only pickle's failure is an error.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Any, BinaryIO

from .registry import PICKLE as _PICKLE
from .registry import Unfaithful, ValueFormat, candidates as _candidates, get

__all__ = ["NPY", "PARQUET", "PICKLE", "Unfaithful", "candidates", "extension", "read", "type_name", "write"]

NPY, PARQUET, PICKLE = "npy", "parquet", "pickle"
PICKLE_PROTOCOL = 5


class HashingWriter:
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


def candidates(value: Any) -> list[str]:
    """Names of the formats to try for a value, best first; pickle is always last."""
    return [f.name for f in _candidates(value)]


def extension(fmt: str) -> str:
    """The file extension (no dot) of format ``fmt``; ``LookupError`` for a format not installed."""
    return get(fmt).extension


def _codec(fmt: ValueFormat) -> Any:
    return importlib.import_module(fmt.codec)


def write(fmt: str, value: Any, tmp: Path) -> tuple[str, int]:
    """Write ``value`` to ``tmp`` in ``fmt``; return (sha256, bytes). Raises ``Unfaithful`` when
    the format cannot store it (the caller tries the next one)."""
    spec = get(fmt)
    if spec is _PICKLE:
        with open(tmp, "wb") as raw:
            out = HashingWriter(raw)
            _codec(spec).write(value, out)
            return out.hexdigest(), out.bytes
    try:
        written = _codec(spec).write(value, tmp)
    except (Unfaithful, OSError):  # a full disk is not the format's fault: no silent fallback
        raise
    except Exception as exc:  # noqa: BLE001 - libraries raise anything for what they cannot store
        raise Unfaithful(f"{type(exc).__name__}: {exc}") from exc
    # a codec that hashed while writing (numpy) returns (sha256, bytes): the file is not read back
    return written if written is not None else file_sha256(tmp)


def read(fmt: str, path: Path) -> Any:
    """Read a value written by :func:`write` (imports only the format's own library)."""
    try:
        spec = get(fmt)
    except LookupError as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    return _codec(spec).read(path)
