"""Does the editor hold edits that the saved notebook lacks? (`%kf_run` runs the saved file.)

A kernel cannot read its front-end's editor; what it knows is the code it ran. A ``pre_run_cell``
hook (set up when the magics load) records when each cell ran and its source. A cell run after the
file was last saved whose source is none of the saved cells' sources was written or edited after
the save, so a run of the saved file will not include it: `%kf_run` says so before it starts.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

_ATTR = "_jupyter_kf_executed"


def track_executions(shell: Any) -> None:
    """Record (time, source) of every cell ``shell`` runs from now on (once per shell)."""
    if shell is None or hasattr(shell, _ATTR):
        return
    executed: list[tuple[float, str]] = []
    setattr(shell, _ATTR, executed)

    def pre_run_cell(info: Any) -> None:
        executed.append((time.time(), getattr(info, "raw_cell", "") or ""))
        del executed[:-200]  # the recent past is all that can postdate a save

    shell.events.register("pre_run_cell", pre_run_cell)


def executed_since_load(shell: Any) -> list[tuple[float, str]]:
    return list(getattr(shell, _ATTR, []))


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _saved_sources(nb: Path) -> set[str]:
    cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
    out = set()
    for c in cells:
        src = c.get("source", "")
        out.add(_normal("".join(src) if isinstance(src, list) else str(src)))
    return out


def unsaved_warning(nb: Path, executed: list[tuple[float, str]], magic: str = "%kf_run") -> str | None:
    """A warning when cells in ``executed`` ran after ``nb`` was saved and are not in it; else None."""
    try:
        saved_at = nb.stat().st_mtime
        saved = _saved_sources(nb)
    except (OSError, ValueError):
        return None
    newer = [
        src
        for t, src in executed
        if t > saved_at and _normal(src) and magic not in src and _normal(src) not in saved
    ]
    if not newer:
        return None
    first = _normal(newer[-1]).splitlines()[0][:60]
    when = datetime.fromtimestamp(saved_at).strftime("%H:%M:%S")
    return (
        f"{magic}: warning: {nb.name} was saved at {when}; {len(newer)} cell(s) run in this kernel since "
        f"are not in the saved file (last: `{first}`). The run uses the saved file: save the notebook "
        "(Ctrl+S) to include your edits."
    )
