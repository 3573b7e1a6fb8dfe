"""IPython magics: `%load_ext jupyter_kf` registers `%kf_run`, `%kf_compile`, `%kf_runs`,
`%kf_status`, `%kf_snapshot`, `%kf_schedule`, `%kf_sweep` and `%kf_load` (values of a past run into this kernel).

They act on the SAVED file of the notebook the kernel runs (found from the kernel's session; or
`--notebook PATH`). `%kf_run` runs it as a pipeline in separate kernels, never in the calling one,
and shows live per-step progress in the cell output. All of them call
:class:`jupyter_kf.service.PipelineService`, the same code the REST API and the CLI call.
"""

from __future__ import annotations

from .core import KfMagics
from .load import KfLoadMagics


def load_ipython_extension(ipython) -> None:
    from .schedule import KfScheduleMagics
    from .sweep import KfSweepMagics

    ipython.register_magics(KfMagics)
    ipython.register_magics(KfScheduleMagics)
    ipython.register_magics(KfLoadMagics)
    ipython.register_magics(KfSweepMagics)


__all__ = ["KfLoadMagics", "KfMagics", "load_ipython_extension"]
