"""Run one emitted step notebook inside a step container (KFP component or Argo container).

This is the code that executes on the cluster (and under ``kfp.local``): it needs only the
converter, nbformat and papermill in the step image. Parameter values arrive as strings from
the orchestrator's templating and are turned back into their declared types here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TRUE_WORDS = {"true", "1", "yes", "on"}
# The last line a step prints: its metrics, so a watcher can read them from the pod log alone.
METRICS_MARKER = "jupyter-kf-metrics: "
# The executed notebook, gzip + base64 on one line of the log: the watcher stores it with the run
# (the run volume is deleted after the run, and the log is the one thing every cluster keeps).
NOTEBOOK_MARKER = "jupyter-kf-notebook: "
MAX_NOTEBOOK_BYTES = 4 * 1024 * 1024  # compressed; a bigger one stays on the volume / in KFP's store
FALSE_WORDS = {"false", "0", "no", "off", ""}


class StepParameterError(ValueError):
    """A parameter value that cannot be read as its declared type."""


def coerce(name: str, value: Any, type_name: str) -> Any:
    """Turn a templated (usually string) parameter value back into ``type_name``."""
    if not isinstance(value, str):
        # Protobuf carries every number as a double: 4 may come back as 4.0.
        if type_name == "int" and isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    try:
        if type_name == "int":
            number = float(value)
            if number != int(number):
                raise ValueError(value)
            return int(number)
        if type_name == "float":
            return float(value)
        if type_name == "bool":
            word = value.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            raise ValueError(value)
        if type_name in ("list", "dict"):
            loaded = json.loads(value)
            if not isinstance(loaded, list if type_name == "list" else dict):
                raise ValueError(value)
            return loaded
        if type_name == "null":
            return None if value in ("", "None", "null") else value
    except ValueError:
        raise StepParameterError(f"parameter {name!r}: {value!r} is not a valid {type_name}") from None
    return value


@dataclass
class StepResult:
    executed: Path
    metrics: dict[str, Any] = field(default_factory=dict)


def run_step(
    *,
    step: str,
    notebook_json: str,
    workdir: str,
    kernel_name: str | None,
    parameters: dict[str, Any] | None = None,
    parameter_types: dict[str, str] | None = None,
    executed_path: str | None = None,
    values_dir: str = "kf-values",
) -> StepResult:
    """Execute the step notebook with papermill in ``workdir`` and return its metrics.

    ``kernel_name`` None: the kernel named in the notebook's kernelspec. Raises papermill's
    ``PapermillExecutionError`` when a cell fails (the executed notebook,
    with the traceback, is written first).
    """
    import nbformat
    import papermill

    types = parameter_types or {}
    values = {name: coerce(name, value, types.get(name, "str")) for name, value in (parameters or {}).items()}
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    out = Path(executed_path) if executed_path else work / "kf-steps" / f"{step}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.reads(notebook_json, as_version=4)
    kernel_name = kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3"
    try:
        papermill.execute_notebook(
            nb,
            str(out),
            parameters=values,
            kernel_name=kernel_name,
            cwd=str(work),
            log_output=True,
            progress_bar=False,
            shutdown_kernel="immediate",
        )
    finally:  # a failed step's notebook (with its traceback) comes back too
        print_notebook(out)
    metrics_file = Path(values_dir) if os.path.isabs(values_dir) else work / values_dir
    metrics_file = metrics_file / step / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    print(METRICS_MARKER + json.dumps(metrics, default=repr), flush=True)
    return StepResult(executed=out, metrics=metrics)


def print_notebook(path: Path) -> None:
    """Print the executed notebook as one marker line (see NOTEBOOK_MARKER)."""
    import base64
    import gzip

    if not path.is_file():
        return
    packed = base64.b64encode(gzip.compress(path.read_bytes())).decode("ascii")
    if len(packed) > MAX_NOTEBOOK_BYTES:
        print(f"jupyter-kf: executed notebook of {len(packed)} bytes not copied into the log: see {path}")
        return
    print(NOTEBOOK_MARKER + packed, flush=True)


def split_notebook(text: str) -> tuple[str, bytes | None]:
    """(the log without the notebook line, the executed notebook it carried or None)."""
    import base64
    import binascii
    import gzip

    notebook = None
    kept = []
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith(NOTEBOOK_MARKER):
            try:
                notebook = gzip.decompress(base64.b64decode(stripped[len(NOTEBOOK_MARKER) :]))
            except (binascii.Error, OSError, EOFError):
                kept.append("jupyter-kf: the executed notebook in this log is damaged\n")
            continue
        kept.append(line)
    return "".join(kept), notebook


def metrics_from_log(text: str) -> dict[str, Any]:
    """The metrics a step printed (its last marker line), or {}."""
    for line in reversed(text.splitlines()):
        line = line.strip()  # runners may indent what they stream
        if line.startswith(METRICS_MARKER):
            try:
                value = json.loads(line[len(METRICS_MARKER) :])
            except ValueError:
                return {}
            return value if isinstance(value, dict) else {}
    return {}


def main(argv: list[str] | None = None) -> int:
    """``python -m jupyter_kf_converter.targets.steprun``: the Argo step container's entry point."""
    ap = argparse.ArgumentParser(prog="jupyter-kf-step", description=__doc__)
    ap.add_argument("--step", required=True)
    ap.add_argument(
        "--notebook", required=True, help="Path of the emitted step notebook (.gz.b64: gzip + base64 of it)."
    )
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--kernel", default="python3")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--types", default="{}", help="JSON object: parameter name -> IR type.")
    ap.add_argument("--executed", default=None, help="Where to write the executed notebook.")
    ap.add_argument("--metrics-out", default=None, help="Write the step's metrics JSON here.")
    args = ap.parse_args(argv)
    params: dict[str, str] = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--param {item!r}: expected NAME=VALUE")
        params[name] = value
    text = Path(args.notebook).read_text()
    if args.notebook.endswith(".gz.b64"):
        from .options import unpack_notebook

        text = unpack_notebook(text)
    result = run_step(
        step=args.step,
        notebook_json=text,
        workdir=args.workdir,
        kernel_name=args.kernel,
        parameters=params,
        parameter_types=json.loads(args.types),
        executed_path=args.executed,
    )
    if args.metrics_out:
        Path(args.metrics_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.metrics_out).write_text(json.dumps(result.metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
