"""Terminal formatting shared by the `jupyter kf` commands: tables, durations, statuses, sizes.

Colour only on a terminal and never when ``NO_COLOR`` is set; everything reads fine in a pipe.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

_COLORS = {
    "succeeded": "32",  # green
    "cached": "36",  # cyan
    "running": "33",  # yellow
    "queued": "2",
    "pending": "2",
    "failed": "31",  # red
    "interrupted": "35",  # magenta
    "cancelled": "35",
    "skipped": "2",
}
_SYMBOLS = {
    "succeeded": "✓",
    "cached": "≡",
    "running": "▶",
    "queued": "·",
    "pending": "·",
    "failed": "✗",
    "interrupted": "!",
    "cancelled": "⊘",
    "skipped": "-",
}


def use_color(stream: IO[str] | None = None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def paint(text: str, code: str | None, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color and code else text


def status_text(status: Any, *, color: bool = False, symbol: bool = False) -> str:
    """A run or step status as text (``"failed"``), optionally coloured and with a symbol."""
    s = str(getattr(status, "value", status))
    text = f"{_SYMBOLS.get(s, '?')} {s}" if symbol else s
    return paint(text, _COLORS.get(s), color)


def duration(seconds: float | None) -> str:
    """``0.42s``, ``12.3s``, ``2m05s``, ``1h02m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    m, s = divmod(int(round(seconds)), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def elapsed(run_or_step: Any) -> float | None:
    """Duration of a finished run/step, or the time so far of a running one."""
    d = run_or_step.duration
    if d is None and run_or_step.started_at is not None and run_or_step.finished_at is None:
        from datetime import timezone

        d = (datetime.now(timezone.utc) - run_or_step.started_at).total_seconds()
    return d


def timestamp(dt: datetime | None) -> str:
    """Local time, ``2026-11-21 15:27:04``; ``-`` when unknown."""
    return "-" if dt is None else dt.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def value(v: Any, width: int = 24) -> str:
    """A metric or parameter value in one short cell."""
    if v is None:
        return "-"
    if isinstance(v, float):
        text = f"{v:.4g}"
    else:
        text = str(v)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def visible_len(s: str) -> int:
    """Length of ``s`` on a terminal (colour codes take no room)."""
    import re

    return len(re.sub(r"\x1b\[[0-9;]*m", "", s))


def shorten_left(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut at the start (the end of a path matters most)."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()) -> str:
    """A plain-text table; ``right`` lists the column indexes to right-align."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(visible_len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for r in cells:
        parts = []
        for i, c in enumerate(r):
            pad = " " * (widths[i] - visible_len(c))
            parts.append(pad + c if i in right else c + pad)
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def display_path(p: Path | str | None) -> str:
    """A path relative to the current folder when it is inside it, else absolute."""
    if p is None:
        return "-"
    p = Path(p)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    """Parse ``argv``; on ``--help`` or a usage error return the exit code (0 or 2) instead."""
    try:
        return parser.parse_args(list(argv))
    except SystemExit as e:
        return int(e.code or 0)


def pipe_closed() -> int:
    """For ``except BrokenPipeError``: the reader (``| head``) left; exit quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    return 0


def error(prog: str, message: object, code: int = 1) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code
