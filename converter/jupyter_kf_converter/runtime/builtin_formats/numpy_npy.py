"""numpy arrays (plain or memory-mapped, no object dtype) as ``.npy``, memory-mapped on load.

Saving is one pass: the header, then the array's own memory, written and hashed at once (on two
threads for large arrays; both release the GIL), without reading the file back.
"""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from ..registry import Unfaithful

PARALLEL_HASH_BYTES = 32 << 20  # arrays this big are hashed on a thread while they are written


def write(value: Any, path: Path) -> tuple[str, int] | None:
    """Write what ``np.save`` writes; return (sha256, bytes), or None when numpy wrote it itself
    (arrays it cannot view as plain bytes: not C-contiguous, structured dtypes, 0-d)."""
    if type(value) not in (np.ndarray, np.memmap) or value.dtype.hasobject:
        raise Unfaithful("only plain arrays without Python objects are stored as .npy")
    try:
        if not value.flags.c_contiguous or value.ndim == 0:
            raise ValueError("not a plain contiguous buffer")
        data = memoryview(value).cast("B")
        head = io.BytesIO()
        npy_format.write_array_header_1_0(head, npy_format.header_data_from_array_1_0(value))
    except (ValueError, TypeError, UnicodeError, NotImplementedError):
        with open(path, "wb") as f:  # a real file: numpy writes the buffer in one go
            np.save(f, value, allow_pickle=False)
        return None
    header = head.getvalue()
    h = hashlib.sha256(header)
    with open(path, "wb") as f:
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


def read(path: Path) -> Any:
    """Copy-on-write memory map: the consumer may modify it; the file never changes."""
    try:
        return np.load(path, mmap_mode="c", allow_pickle=False)
    except (ValueError, OSError):  # e.g. a zero-size array cannot be mapped
        return np.load(path, allow_pickle=False)
