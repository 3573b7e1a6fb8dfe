"""numpy arrays (plain or memory-mapped, no object dtype) as ``.npy``, memory-mapped on load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..registry import Unfaithful


def write(value: Any, path: Path) -> None:
    if type(value) not in (np.ndarray, np.memmap) or value.dtype.hasobject:
        raise Unfaithful("only plain arrays without Python objects are stored as .npy")
    with open(path, "wb") as f:  # a real file: numpy writes the buffer in one go
        np.save(f, value, allow_pickle=False)


def read(path: Path) -> Any:
    """Copy-on-write memory map: the consumer may modify it; the file never changes."""
    try:
        return np.load(path, mmap_mode="c", allow_pickle=False)
    except (ValueError, OSError):  # e.g. a zero-size array cannot be mapped
        return np.load(path, allow_pickle=False)
