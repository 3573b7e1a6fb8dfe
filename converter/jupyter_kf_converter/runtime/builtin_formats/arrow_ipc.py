"""pyarrow Tables as Arrow IPC files, memory-mapped on load (no copy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa


def write(value: Any, path: Path) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, value.schema) as writer:
        writer.write_table(value)


def read(path: Path) -> Any:
    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_file(source).read_all()
