"""`%kf_schedule`: schedule this notebook's pipeline, list, pause, resume or delete its schedules."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .core import KfMagics, parse_param


@magics_class
class KfScheduleMagics(KfMagics):
    def _schedules(self, folder):
        from ..schedules import ScheduleService

        services = self.__dict__.setdefault("_schedule_services", {})
        if folder not in services:
            services[folder] = ScheduleService(self._service(folder))
        return services[folder]

    @magic_arguments()
    @argument("cron", nargs="?", default=None, help="Cron expression in quotes, e.g. \"0 3 * * *\".")
    @argument("--every", default=None, help="An interval instead of cron: 90s, 15m, 6h, 1d.")
    @argument("--tz", default=None, help="IANA time zone of the cron expression (default UTC).")
    @argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE", help="Parameter (repeatable).")
    @argument("-b", "--backend", default=None, help="local (default), kfp or argo.")
    @argument("--missed", choices=["run_once", "skip"], default=None, help="Due times missed while down.")
    @argument("--overlap", choices=["skip", "queue", "allow"], default=None, help="When a run is still going.")
    @argument("--pause", metavar="ID", default=None, help="Pause a schedule.")
    @argument("--resume", metavar="ID", default=None, help="Resume a schedule.")
    @argument("--delete", metavar="ID", default=None, help="Delete a schedule.")
    @argument("--notebook", default=None, help="The notebook (default: this one).")
    @line_magic
    def kf_schedule(self, line: str = ""):
        """Schedule the SAVED notebook as a pipeline (`%kf_schedule "0 3 * * *" --tz Europe/Berlin`);
        without arguments, list its schedules with their next due times and last runs.

        Runs start while the Jupyter server (or `jupyter kf scheduler`) is running.
        """
        from ..cli.schedule import parse_every, schedule_table, show_text
        from ..models import ScheduleRequest

        args = parse_argstring(self.kf_schedule, line)
        nb = self._notebook(args.notebook, "kf_schedule")
        service = self._schedules(nb.parent)
        for action in ("pause", "resume", "delete"):
            sid = getattr(args, action)
            if sid:
                result = self._call(getattr(service, action), sid)
                print(f"deleted schedule {sid}" if action == "delete" else show_text(result))
                return
        if args.cron is None and args.every is None:
            items = self._call(service.list, nb.name)
            print(schedule_table(items) if items else f"{nb.name} has no schedules: add one with %kf_schedule \"0 3 * * *\"")
            return
        cron = args.cron.strip("\"'") if args.cron else None
        fields = {"cron": cron, "timezone": args.tz, "backend": args.backend, "missed": args.missed,
                  "overlap": args.overlap, "parameters": dict(parse_param(p) for p in args.param) or None}
        try:
            fields["interval"] = parse_every(args.every) if args.every else None
            request = ScheduleRequest(notebook=str(nb), **{k: v for k, v in fields.items() if v is not None})
        except ValueError as exc:
            raise UsageError(_first_error(exc)) from None
        print(show_text(self._call(service.create, request)))


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        err = errors(include_url=False)[0]
        return f"{'.'.join(map(str, err['loc']))}: {err['msg'].removeprefix('Value error, ')}"
    return str(exc)
