"""`%kf_sweep`: a parameter sweep of this notebook's pipeline; `%kf_sweep ID` shows one."""

from __future__ import annotations


from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .core import POLL_S, KfMagics, parse_param


@magics_class
class KfSweepMagics(KfMagics):
    @magic_arguments()
    @argument("sweep", nargs="?", default=None, help="A sweep id: show its trials (with --cancel: cancel it).")
    @argument("-p", "--param", dest="space", action="append", default=[], metavar="SPEC",
              help="Swept parameter: NAME=A,B,C | NAME=LOW:HIGH | NAME=LOW:HIGH:log | NAME=LOW:HIGH:STEP.")
    @argument("--objective", default=None, metavar="METRIC[:max|min]", help="A pipeline metric (default :max).")
    @argument("--trials", type=int, default=None, help="Trial budget.")
    @argument("--max-time", type=float, default=None, help="Time budget in seconds.")
    @argument("--algorithm", choices=["grid", "random", "tpe"], default="tpe")
    @argument("--parallel", type=int, default=None, help="Trials at once.")
    @argument("--set", dest="fixed", action="append", default=[], metavar="NAME=VALUE", help="Fix a parameter.")
    @argument("--seed", type=int, default=None)
    @argument("--detach", action="store_true", help="Start the sweep and return at once.")
    @argument("--cancel", action="store_true", help="Cancel the sweep given.")
    @argument("--notebook", default=None, help="The notebook (default: this one).")
    @line_magic
    def kf_sweep(self, line: str = ""):
        """Sweep the SAVED notebook's pipeline parameters, e.g.
        `%kf_sweep -p n_estimators=10:300:log -p model=forest,svm --objective accuracy --trials 40`;
        trials run in separate kernels and share every step no swept parameter reaches.
        Interrupting the cell cancels every trial."""
        from ..cli.sweep import objective, progress_line, render
        from ..models import SweepRequest
        from ..sweeps import parse_spec

        args = parse_argstring(self.kf_sweep, line)
        nb = self._notebook(args.notebook, "kf_sweep")
        sweeps = self._service(nb.parent).sweeps
        if args.sweep:
            sweep = self._call(sweeps.cancel if args.cancel else sweeps.get, args.sweep)
            print(render(sweep))
            return
        if not args.objective:
            raise UsageError("give --objective METRIC[:max|min] (and -p SPEC for each swept parameter)")
        try:
            metric, direction = objective(args.objective)
            request = SweepRequest(
                notebook=str(nb), space=[parse_spec(s.strip("\"'")) for s in args.space], objective=metric,
                direction=direction, algorithm=args.algorithm, trials=args.trials, max_time=args.max_time,
                parallel=args.parallel, parameters=dict(parse_param(p) for p in args.fixed), seed=args.seed,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        sweep = self._call(sweeps.submit, request)
        print(f"sweep {sweep.id}: {request.algorithm}, budget {sweep.budget or '-'} trials")
        if args.detach:
            print(f"started; see it with %kf_sweep {sweep.id}")
            return sweep
        shown = 0
        try:
            while True:
                sweep = sweeps.wait(sweep.id, POLL_S)
                if sweep.done != shown:
                    shown = sweep.done
                    print(progress_line(sweep), flush=True)
                if sweep.status.finished:
                    break
        except KeyboardInterrupt:
            sweeps.cancel(sweep.id)
            sweep = sweeps.wait(sweep.id, 60)
            print(f"cancelled sweep {sweep.id}")
        print(render(sweep))
        return sweep


__all__ = ["KfSweepMagics"]
