"""`jupyter kf ...` (also the `jupyter-kf` console script): a thin dispatcher.

Each subcommand lives in its own module exposing ``main(argv: list[str]) -> int`` and is imported
only when used, so `jupyter kf compile` never pays for papermill, jupyter_client or the server.
Exit codes: 0 success, 1 failure (invalid pipeline, failed run), 2 usage error, 130 interrupted.
"""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "compile": ("jupyter_kf_converter.cli", "Compile a tagged notebook into a pipeline (IR, step notebooks, graph)."),
    "run": ("jupyter_kf.cli.run", "Run a notebook as a pipeline (locally by default)."),
    "runs": ("jupyter_kf.cli.runs", "List runs with their status and metrics."),
    "show": ("jupyter_kf.cli.show", "Show one run: steps, durations, errors, where its outputs are."),
    "logs": ("jupyter_kf.cli.logs", "Print the log of a run, or of one of its steps."),
    "cancel": ("jupyter_kf.cli.cancel", "Cancel a running run."),
    "rerun": ("jupyter_kf.cli.rerun", "Rerun a past run from its own snapshot and parameters; compare the outcome."),
    "diff": ("jupyter_kf.cli.diff", "Compare two runs: parameters, metrics, code per step, data, environment."),
    "sweep": ("jupyter_kf.cli.sweep", "Sweep a notebook's parameters (grid, random, TPE); trials share their steps."),
    "sweeps": ("jupyter_kf.cli.sweeps", "List sweeps, show one's trials side by side, or cancel one."),
    "compare": ("jupyter_kf.cli.compare", "Compare runs side by side: parameters, metrics, durations, changes."),
    "export": ("jupyter_kf.cli.export", "Export a run as one zip: notebooks, parameters, metrics, values, env lock."),
    "import": ("jupyter_kf.cli.import_run", "Import an exported run into a folder (to inspect or rerun it)."),
    "gc": ("jupyter_kf.cli.gc", "Remove snapshots and objects that no run references."),
    "snapshot": ("jupyter_kf.cli.snapshot", "Create, list, show, diff, restore or garbage-collect snapshots."),
    "schedule": ("jupyter_kf.cli.schedule", "Create, list, show, edit, pause, resume or delete schedules."),
    "scheduler": ("jupyter_kf.cli.scheduler", "Run due schedules in the foreground (systemd unit, container)."),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: jupyter kf COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run `jupyter kf COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] in ("--version", "-V"):
        from jupyter_kf import __version__

        print(__version__)
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"jupyter kf: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
