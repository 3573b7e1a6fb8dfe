"""`%kf_load [RUN] [STEP] [NAMES...]`: bring values of a run into this kernel."""

from __future__ import annotations

from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..run_values import RUN_ID
from .locate import NotebookNotFound, find_notebook


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@magics_class
class KfLoadMagics(Magics):
    """`%kf_load`: values of a past run as variables of this kernel."""

    @magic_arguments()
    @argument("args", nargs="*", metavar="[RUN] [STEP] [NAMES...]",
              help="Run id (default: this notebook's latest successful run), step (default: the last), "
              "names (default: every value the step saw).")
    @argument("--notebook", default=None, help="The notebook whose runs to look at (default: this one).")
    @line_magic
    def kf_load(self, line: str = ""):
        """Load values of a run (memory-mapped arrays where possible) and list what was loaded."""
        from ..run_values import latest_successful, load_values, parse_load_args
        from ..service import PipelineService

        args = parse_argstring(self.kf_load, line)
        explicit_run = bool(args.args) and bool(RUN_ID.match(args.args[0]))
        try:
            nb = find_notebook(args.notebook, self.shell.user_ns if self.shell else None, magic="%kf_load")
        except NotebookNotFound:
            if not explicit_run:
                raise UsageError("%kf_load: give a RUN id, or run it in a notebook (or with --notebook)") from None
            nb = None
        service = PipelineService(nb.parent if nb else Path.cwd())
        try:
            def steps_of(run_id: str | None) -> list[str]:
                run = service.get_run(run_id) if run_id else latest_successful(service, nb.name)
                return [s.name for s in run.steps]

            run_id, step, names = parse_load_args(args.args, steps_of)
            loaded = load_values(service, run_id, step, names, notebook=nb.name if nb else None)
        except (LookupError, ValueError, OSError) as exc:
            raise UsageError(f"%kf_load: {exc}") from None
        finally:
            service.close()
        self.shell.push({v.name: v.value for v in loaded}, interactive=False)
        width = max([4] + [len(v.name) for v in loaded])
        tw = max([4] + [len(v.type) for v in loaded])
        lines = [f"{'NAME':<{width}}  {'TYPE':<{tw}}  {'SIZE':>9}  STEP / RUN"]
        for v in loaded:
            lines.append(f"{v.name:<{width}}  {v.type:<{tw}}  {_size(v.bytes):>9}  {v.step} / {v.run}")
        print("\n".join(lines) if loaded else "nothing to load")
