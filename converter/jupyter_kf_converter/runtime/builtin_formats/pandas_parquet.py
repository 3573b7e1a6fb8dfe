"""pandas DataFrames as Parquet (pyarrow), kept only when reading the file back gives the same frame."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from ..registry import Unfaithful


def write(value: Any, path: Path) -> None:
    if type(value) is not pd.DataFrame or importlib.util.find_spec("pyarrow") is None:
        raise Unfaithful("parquet needs a plain DataFrame and pyarrow")
    try:
        with warnings.catch_warnings():  # e.g. "mixed type column names": we fall back, not warn
            warnings.simplefilter("ignore")
            value.to_parquet(path, engine="pyarrow")
            back = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # pyarrow raises several types for what it cannot represent
        raise Unfaithful(f"parquet cannot store this frame: {exc}") from exc
    if not same_frame(value, back):
        raise Unfaithful("the frame read back from parquet differs (index, columns, dtypes or values)")


def read(path: Path) -> Any:
    return pd.read_parquet(path, engine="pyarrow")


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
