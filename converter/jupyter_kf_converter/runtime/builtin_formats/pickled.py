"""pickle, with cloudpickle when installed (functions and classes of the notebook travel by value).

Code compiled in a kernel cell is named by its cell, not by the kernel's process id, so a function
defined in a step pickles to the same bytes on every run (its hash, and its consumers' cache keys,
stay stable).
"""

from __future__ import annotations

import functools
import pickle
import re
import types
from collections import ChainMap
from pathlib import Path
from typing import Any

PICKLE_PROTOCOL = 5

# ipykernel compiles each cell under a per-process file name, /tmp/ipykernel_<pid>/<cell hash>.py.
_KERNEL_CELL_FILE = re.compile(r"ipykernel_\d+[\\/](?P<cell>[^\\/]+)$")


def write(value: Any, out: Any) -> None:
    """Pickle with cloudpickle when installed (by value for notebook functions), else pickle."""
    try:
        import cloudpickle
    except ImportError:
        pickle.dump(value, out, protocol=PICKLE_PROTOCOL)
        return
    _stable_pickler(cloudpickle)(out, protocol=PICKLE_PROTOCOL).dump(value)


@functools.lru_cache(maxsize=1)
def _stable_pickler(cloudpickle: Any) -> Any:
    """cloudpickle's Pickler, but code compiled in a kernel cell is named by its cell, not by the
    kernel's process id, so a function defined in a step pickles to the same bytes on every run
    (its hash, and so its consumers' cache keys, stay stable)."""
    base = cloudpickle.Pickler
    reduce_code = base.dispatch_table.get(types.CodeType)
    if reduce_code is None:  # cloudpickle internals changed: keep its behaviour
        return base

    def reduce_stable(code: types.CodeType) -> Any:
        match = _KERNEL_CELL_FILE.search(code.co_filename)
        if match:
            code = code.replace(co_filename=f"<kernel cell {match['cell']}>")
        return reduce_code(code)

    class StablePickler(base):  # type: ignore[misc,valid-type]
        dispatch_table = ChainMap({types.CodeType: reduce_stable}, base.dispatch_table)

    return StablePickler



def read(path: Path) -> Any:
    with open(path, "rb") as f:
        return pickle.load(f)
