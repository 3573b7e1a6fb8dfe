"""XGBoost ``DMatrix`` in XGBoost's own binary buffer format (a DMatrix cannot be pickled: it
holds a pointer into the library). Data, labels, weights and feature names travel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xgboost as xgb

from ..registry import Unfaithful


def write(value: Any, path: Path) -> None:
    if type(value) is not xgb.DMatrix:  # e.g. QuantileDMatrix keeps no data to write
        raise Unfaithful(f"only a plain DMatrix can be saved, not {type(value).__name__}")
    value.save_binary(str(path), silent=True)


def read(path: Path) -> Any:
    return xgb.DMatrix(str(path))
