"""polars DataFrames as Arrow IPC files (uncompressed, so polars can map them on load)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from ..registry import Unfaithful


def write(value: Any, path: Path) -> None:
    if type(value) is not pl.DataFrame or any(dt == pl.Object for dt in value.dtypes):
        raise Unfaithful("Arrow IPC stores polars DataFrames without Object columns")
    value.write_ipc(path, compression="uncompressed")


def read(path: Path) -> Any:
    return pl.read_ipc(path)
