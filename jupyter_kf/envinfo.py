"""The environment a run executed in (written to ``<run>/env.json``) and its fingerprint.

The installed-distributions scan costs ~0.15 s, so it is done once per process.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._fsutil import atomic_write_text


@lru_cache(maxsize=1)
def installed_packages() -> tuple[tuple[str, str], ...]:
    """Installed distributions as sorted (normalized name, version) pairs."""
    from importlib.metadata import distributions

    seen: dict[str, str] = {}
    for d in distributions():
        name = (d.metadata["Name"] or "").strip()
        if name:
            key = name.lower().replace("_", "-").replace(".", "-")
            seen.setdefault(key, d.version or "")  # the first on sys.path wins, as for imports
    return tuple(sorted(seen.items()))


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
