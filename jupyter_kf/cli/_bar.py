"""Progress of long work (snapshot, writing a run's inputs, prune, gc) on stderr: a bar redrawn
in place on a terminal, a plain line every few seconds (and at the end) in a pipe."""

from __future__ import annotations

import sys
import time
from typing import IO

from . import _format as fmt

WIDTH = 24


class Bar:
    """``bar(label, done, total, nbytes=None)``; call :meth:`close` when the work is over."""

    def __init__(self, stream: IO[str] | None = None, tty: bool | None = None, every: float | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every = every if every is not None else (0.1 if self.tty else 5.0)
        self._last = 0.0 if self.tty else time.monotonic()  # in a pipe: first line after a while
        self._shown = False

    def __call__(self, label: str, done: int, total: int, nbytes: tuple[int, int] | None = None) -> None:
        now = time.monotonic()
        end = total > 0 and done >= total
        if not end and now - self._last < self.every:
            return
        self._last = now
        extra = f", {fmt.size(nbytes[0])}/{fmt.size(nbytes[1])}" if nbytes else ""
        if self.tty:
            filled = int(WIDTH * done / total) if total else 0
            bar = "#" * filled + "." * (WIDTH - filled)
            self.stream.write(f"\r{label}: [{bar}] {done}/{total}{extra}".ljust(79)[:79])
            self._shown = True
        elif not end or self._shown or total:
            self.stream.write(f"{label}: {done}/{total}{extra}\n")
            self._shown = True
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()
        self._shown = False
