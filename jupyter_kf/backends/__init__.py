"""Backends by name: ``local`` (always), ``kfp`` and ``argo`` (imported only when asked for).

A backend module ``jupyter_kf.backends.<name>`` exposes a :class:`~.base.Backend` subclass named
in :data:`BACKENDS`; :func:`get_backend` imports it on first use, so the CLI and the server never
pay for the Kubernetes libraries unless a cluster backend is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..models import BackendInfo

if TYPE_CHECKING:
    from ..store import RunStore
    from .base import Backend

# name -> (module, class)
BACKENDS: dict[str, tuple[str, str]] = {
    "local": ("jupyter_kf.backends.local", "LocalBackend"),
    "kfp": ("jupyter_kf.backends.kfp", "KfpBackend"),
    "argo": ("jupyter_kf.backends.argo", "ArgoBackend"),
    "kfp-local": ("jupyter_kf.backends.kfp_local", "KfpLocalBackend"),
}


class UnknownBackend(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown backend {name!r} (known: {', '.join(BACKENDS)})")
        self.name = name


def backend_class(name: str) -> type[Backend]:
    """The Backend class registered as ``name`` (ImportError if its module is missing)."""
    try:
        module, cls = BACKENDS[name]
    except KeyError:
        raise UnknownBackend(name) from None
    return getattr(importlib.import_module(module), cls)


def get_backend(name: str, store: RunStore) -> Backend:
    return backend_class(name)(store)


def require_ready(name: str, store: RunStore) -> BackendInfo:
    """The info of backend ``name``; raises ``BackendNotReady`` when it is not available and
    configured (missing packages, no cluster settings), ``UnknownBackend`` for an unknown name."""
    from .base import BackendNotReady

    info = get_backend(name, store).info()
    if not (info.available and info.configured):
        raise BackendNotReady(name, info.reason)
    return info


def backend_infos(store: RunStore) -> list[BackendInfo]:
    """Every registered backend with its availability; a backend that fails to load says why."""
    out = []
    for name in BACKENDS:
        try:
            out.append(get_backend(name, store).info())
        except Exception as exc:  # missing module or optional dependency
            out.append(
                BackendInfo(
                    name=name, available=False, configured=False, reason=f"{type(exc).__name__}: {exc}"
                )
            )
    return out


__all__ = ["BACKENDS", "UnknownBackend", "backend_class", "backend_infos", "get_backend", "require_ready"]
