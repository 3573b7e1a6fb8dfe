"""Fresh kernels for steps, fast: a fork server (``zygote.py``) and a per-run pool.

Every step still gets its own new kernel process; what is saved is the ~0.3 s of imports
(paid once by the fork server) and the wait (kernels are started before a step needs them).
``warm_up()`` is cheap (stdlib only): call it first thing so the fork server imports ipykernel
while the caller does its own start-up work.
"""

from __future__ import annotations

from .forkserver import ForkServer, close_fork_servers, get_fork_server


def warm_up(python: str | None = None) -> ForkServer:
    """Start the fork server for ``python`` (default: this interpreter) in the background."""
    return get_fork_server(python)


__all__ = ["ForkServer", "close_fork_servers", "get_fork_server", "warm_up"]
