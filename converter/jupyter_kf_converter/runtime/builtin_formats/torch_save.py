"""torch tensors and modules with ``torch.save``, pickling through cloudpickle when installed (a
module whose class the notebook defines travels by value). Tensors saved on a GPU load on the CPU
where the consumer has none."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import torch

from . import pickled


def _pickle_module() -> Any:
    try:
        import cloudpickle
    except ImportError:
        return None
    shim = types.ModuleType("jupyter_kf_cloudpickle")
    shim.Pickler = pickled._stable_pickler(cloudpickle)  # type: ignore[attr-defined]
    return shim


def write(value: Any, path: Path) -> None:
    module = _pickle_module()
    with open(path, "wb") as f:
        if module is None:
            torch.save(value, f)
        else:
            torch.save(value, f, pickle_module=module, pickle_protocol=pickled.PICKLE_PROTOCOL)


def read(path: Path) -> Any:
    location = None if torch.cuda.is_available() else "cpu"
    return torch.load(path, map_location=location, weights_only=False)  # our own step wrote it
