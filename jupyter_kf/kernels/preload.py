"""Which modules the fork server may import ahead for a pipeline's step kernels.

Step kernels are forked from the fork server, so a module it has imported is already loaded in
every kernel: `import pandas` in each step then costs nothing instead of ~0.4 s of CPU (the demo
pipeline imports numpy, pandas and scikit-learn in every one of its six steps). A step still sees
only the names it binds: a preloaded module is in ``sys.modules``, not in the step's namespace.

Only packages known to behave when their importer forks are preloaded (their native thread
pools re-initialise in the child; numpy's global random state is reseeded in each kernel):
nothing that starts Python threads, touches a GPU or picks a GUI backend at import.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

FORK_SAFE = frozenset({"numpy", "pandas", "scipy", "sklearn", "pyarrow", "statsmodels"})


def _imported(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython syntax (magics): the kernel imports what it needs itself
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def modules_to_preload(pipeline: Pipeline, work_dir: Path | str | None = None) -> list[str]:
    """Fork-safe modules the pipeline's code imports, in first-seen order; a name the run's
    folder shadows (``<name>.py`` or ``<name>/`` there) is left to the kernel."""
    cells = [*pipeline.imports, *pipeline.functions, *(c for s in pipeline.steps for c in s.cells)]
    seen: list[str] = []
    for cell in cells:
        if cell.cell_type != "code":
            continue
        for name in _imported(cell.source):
            top = name.split(".")[0]
            if top not in FORK_SAFE or name in seen:
                continue
            if work_dir is not None and (
                (Path(work_dir) / f"{top}.py").exists() or (Path(work_dir) / top).is_dir()
            ):
                continue
            seen.append(name)
    return seen
