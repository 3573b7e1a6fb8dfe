"""scipy.sparse matrices and arrays as ``.npz`` (``save_npz``); lil/dok formats fall back to pickle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scipy.sparse as sp

from ..registry import Unfaithful


def write(value: Any, path: Path) -> None:
    if not sp.issparse(value) or value.format not in ("csr", "csc", "coo", "bsr", "dia"):
        raise Unfaithful(f"save_npz does not store {type(value).__name__}")
    with open(path, "wb") as f:  # a file object: save_npz would otherwise append .npz to the name
        sp.save_npz(f, value, compressed=False)


def read(path: Path) -> Any:
    return sp.load_npz(path)
