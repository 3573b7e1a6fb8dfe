"""The environment a run executed in (written to ``<run>/env.json``) and its fingerprint.

Scanning the installed distributions costs ~0.15 s, which would sit on the path of every fully
cached rerun; so the scan is kept on disk (``<jupyter runtime dir>/jupyter-kf/``) with the
``sys.path`` folders it came from and their mtimes. Installing or removing a distribution adds or
removes a ``*.dist-info`` folder, which changes its folder's mtime, so an unchanged environment
costs one stat per ``sys.path`` entry and a small JSON read. Done at most once per process.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._fsutil import atomic_write_text

SCAN_VERSION = 1  # bump when what a scan records changes


def _path_state() -> list[tuple[str, int | None]]:
    """(folder, mtime_ns) of each ``sys.path`` entry, as importlib.metadata searches them."""
    state: list[tuple[str, int | None]] = []
    for entry in sys.path:
        path = os.path.abspath(entry or ".")  # "" is the current folder
        try:
            state.append((path, os.stat(path).st_mtime_ns))
        except OSError:
            state.append((path, None))
    return state


def scan_cache_file(paths: list[str]) -> Path:
    """Where the scan of an environment whose ``sys.path`` is ``paths`` is kept."""
    from jupyter_core.paths import jupyter_runtime_dir

    digest = hashlib.sha256("\0".join([sys.executable, *paths]).encode()).hexdigest()[:20]
    return Path(jupyter_runtime_dir()) / "jupyter-kf" / f"packages-{digest}.json"


def _scan() -> tuple[tuple[str, str], ...]:
    from importlib.metadata import distributions

    seen: dict[str, str] = {}
    for d in distributions():
        name = (d.metadata["Name"] or "").strip()
        if name:
            key = name.lower().replace("_", "-").replace(".", "-")
            seen.setdefault(key, d.version or "")  # the first on sys.path wins, as for imports
    return tuple(sorted(seen.items()))


@lru_cache(maxsize=1)
def installed_packages() -> tuple[tuple[str, str], ...]:
    """Installed distributions as sorted (normalized name, version) pairs (kept on disk)."""
    state = _path_state()
    stamp = [SCAN_VERSION, state]
    try:
        cache = scan_cache_file([p for p, _ in state])
    except (ImportError, OSError):  # no usable Jupyter runtime dir: scan every time
        return _scan()
    try:
        doc = json.loads(cache.read_text())
        if doc.get("stamp") == json.loads(json.dumps(stamp)):
            return tuple((str(n), str(v)) for n, v in doc["packages"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    packages = _scan()
    try:
        atomic_write_text(cache, json.dumps({"stamp": stamp, "packages": packages}))
    except OSError:  # a read-only runtime dir: the scan is still right, just not kept
        pass
    return packages


@lru_cache(maxsize=1)
def packages_hash() -> str:
    """sha256 over the installed distributions' names and versions."""
    text = "\n".join(f"{n}=={v}" for n, v in installed_packages())
    return hashlib.sha256(text.encode()).hexdigest()


def python_version() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}"


def capture(kernel_name: str) -> dict[str, Any]:
    """The environment record of a run."""
    return {
        "python": python_version(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "kernel": kernel_name,
        "packages_hash": packages_hash(),
        "packages": dict(installed_packages()),
    }


def write_env(run_dir: Path, kernel_name: str) -> Path:
    """Write ``env.json`` into the run folder and return its path."""
    path = Path(run_dir) / "env.json"
    atomic_write_text(path, json.dumps(capture(kernel_name), indent=1, sort_keys=True))
    return path
