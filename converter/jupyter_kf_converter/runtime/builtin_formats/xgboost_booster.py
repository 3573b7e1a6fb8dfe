"""XGBoost ``Booster`` as its portable UBJSON model (readable by later XGBoost versions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xgboost as xgb


def write(value: Any, path: Path) -> None:
    with open(path, "wb") as f:
        f.write(value.save_raw(raw_format="ubj"))


def read(path: Path) -> Any:
    booster = xgb.Booster()
    booster.load_model(bytearray(path.read_bytes()))
    return booster
