"""A real IPython kernel (jupyter_client) to run the magics in, as a user's notebook would."""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager


@dataclass
class Result:
    """What one execute request produced on iopub."""

    status: str
    messages: list[dict] = field(default_factory=list)
    error: dict | None = None

    def texts(self, kinds=("stream", "display_data", "update_display_data", "execute_result")) -> list[str]:
        out = []
        for m in self.messages:
            if m["msg_type"] in kinds:
                c = m["content"]
                out.append(c.get("text") or c.get("data", {}).get("text/plain", ""))
        return out

    def of(self, *kinds: str) -> list[dict]:
        return [m for m in self.messages if m["msg_type"] in kinds]


class Kernel:
    def __init__(self, km: KernelManager) -> None:
        self.km = km
        self.client = km.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def execute(self, code: str, timeout: float = 180, on_message=None) -> Result:
        """Run ``code``; ``on_message(msg)`` sees each of its iopub messages as it arrives."""
        msg_id = self.client.execute(code)
        result = Result(status="?")
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no output from the kernel for {timeout}s running {code!r}") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            if msg["msg_type"] == "error":
                result.error = msg["content"]
            result.messages.append(msg)
            if on_message is not None:
                on_message(msg)
        while True:
            reply = self.client.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        result.status = reply["content"]["status"]
        return result


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    """A python3 kernel whose cwd is ``tmp_path/work``, with its own jupyter-kf registry."""
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "JUPYTER_KF_REGISTRY": str(tmp_path / "kf-stores.json"), "JPY_SESSION_NAME": ""}
    env.pop("JPY_SESSION_NAME")
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(work), env=env)
    k = Kernel(km)
    try:
        yield k
    finally:
        k.client.stop_channels()
        km.shutdown_kernel(now=True)
