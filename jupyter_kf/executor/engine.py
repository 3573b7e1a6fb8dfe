"""The papermill engine steps run with: nbclient's, saving the executed notebook less often.

Papermill writes the whole output notebook at every cell's start and end (serialise, validate,
write: ~9 ms of CPU each, ~15 times per step). For a quick step that is most of what running it
costs the runner process, and a sweep runs hundreds of steps. Here a save during execution is
skipped when the last one is under ``SAVE_EVERY`` seconds old, so a long cell still shows its
progress; the notebook is always saved when execution starts and when it ends (succeeded or
failed), and papermill itself writes the failing cell's error after that.
"""

from __future__ import annotations

from typing import Any

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

NAME = "jupyter-kf"
SAVE_EVERY = 1.0  # seconds between saves while cells run


class ThrottledSaves(NotebookExecutionManager):
    _force = True  # the first save (notebook_start) always happens

    def save(self, **kwargs: Any) -> None:
        if self._force or (self.now() - self.last_save_time).total_seconds() >= SAVE_EVERY:
            super().save(**kwargs)

    def notebook_start(self, **kwargs: Any) -> None:
        super().notebook_start(**kwargs)
        self._force = False

    def notebook_complete(self, **kwargs: Any) -> None:
        self._force = True
        super().notebook_complete(**kwargs)


class KfEngine(NBClientEngine):
    @classmethod
    def execute_notebook(  # type: ignore[override]
        cls,
        nb: Any,
        kernel_name: str,
        output_path: Any = None,
        progress_bar: bool = True,
        log_output: bool = False,
        autosave_cell_every: int = 30,
        **kwargs: Any,
    ) -> Any:
        """Engine.execute_notebook with :class:`ThrottledSaves` as the execution manager."""
        nb_man = ThrottledSaves(
            nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


papermill_engines.register(NAME, KfEngine)
