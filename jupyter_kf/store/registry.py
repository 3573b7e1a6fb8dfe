"""The registry of run store folders (``kf-stores.json`` in the Jupyter data dir), so that a run
id can be found from any surface (CLI, magics, REST) whatever folder it was run from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .._fsutil import atomic_write_text, file_lock
from ..config import Settings

if TYPE_CHECKING:
    from . import RunStore

def _read_registry(path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    stores = data.get("stores", []) if isinstance(data, dict) else []
    return [s for s in stores if isinstance(s, str)]


def register_store(store: Path, settings: Settings | None = None) -> None:
    """Add ``store`` to the registry (``kf-stores.json``) if it is not there yet."""
    reg = (settings or Settings.from_env()).registry_path()
    key = str(Path(store).resolve())
    if key in _read_registry(reg):
        return
    try:
        reg.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(reg.with_name(reg.name + ".lock")):
            stores = _read_registry(reg)
            if key not in stores:
                stores.append(key)
                atomic_write_text(reg, json.dumps({"stores": stores}, indent=1))
    except OSError:  # a read-only data dir must not stop a run
        pass


def known_stores(settings: Settings | None = None) -> list[Path]:
    """Registered store folders that still exist."""
    reg = (settings or Settings.from_env()).registry_path()
    return [Path(s) for s in _read_registry(reg) if (Path(s) / "runs.sqlite").is_file()]


def locate(run_id: str, settings: Settings | None = None, *, first: list[Path] | None = None) -> RunStore:
    """The store holding ``run_id``: ``first`` stores are tried, then every registered one."""
    from . import RunStore
    from .errors import UnknownRun

    settings = settings or Settings.from_env()
    seen: set[Path] = set()
    for cand in [*(first or []), *known_stores(settings)]:
        cand = Path(cand).resolve()
        if cand in seen or not (cand / run_id).is_dir() or not (cand / "runs.sqlite").is_file():
            seen.add(cand)
            continue
        seen.add(cand)
        store = RunStore(cand, settings=settings)
        if store.has_run(run_id):
            return store
        store.close()
    where = ", ".join(str(p) for p in sorted(seen)) or "none"
    raise UnknownRun(
        run_id,
        f"any known run store (looked in: {where}; the stores known are listed in {settings.registry_path()})",
    )
