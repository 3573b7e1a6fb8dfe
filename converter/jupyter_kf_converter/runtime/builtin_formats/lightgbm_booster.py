"""LightGBM ``Booster`` as LightGBM's text model (all iterations, best iteration kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb


def write(value: Any, path: Path) -> None:
    path.write_text(value.model_to_string(num_iteration=-1), encoding="utf-8")


def read(path: Path) -> Any:
    return lgb.Booster(model_str=path.read_text(encoding="utf-8"))
