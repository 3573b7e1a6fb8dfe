"""Secrets for steps run on this machine: the names a notebook's `secret:` tags use on Kubernetes,
resolved from the user's secrets folder or environment.

The folder (``$JUPYTER_KF_SECRETS``, default ``~/.jupyter/kf-secrets``) has the layout of a
Secret mounted in a pod: ``<folder>/<secret name>/<key>``, one file per key, its content the value.
``secret:<name>:<key>=<ENV>`` gives the step's kernel ``ENV`` from that file or, without one, from
the server's own ``ENV``; ``secret:<name>`` (files) needs the folder ``<folder>/<name>`` and gives
the kernel ``KF_SECRETS_DIR=<folder>`` (on a cluster: where the Secret is mounted).

Values go only into the environment of the step's kernel: never into a spec, a log, a run record,
a snapshot or an executed notebook. The folder must lie outside the notebook's folder (a snapshot
would copy it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from jupyter_kf_converter.ir import Pipeline
from jupyter_kf_converter.targets.options import SECRETS_ENV

SETTING = "JUPYTER_KF_SECRETS"


class SecretUnavailableError(ValueError):
    """A step's secret cannot be found on this machine (found before anything runs)."""


def secrets_folder(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get(SETTING) or "~/.jupyter/kf-secrets").expanduser().resolve()


def step_environments(
    pipeline: Pipeline, notebook_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, dict[str, str]]:
    """Each step's secret environment variables (steps without secrets are left out).

    Raises :class:`SecretUnavailableError` naming the step, the secret, the key and where it
    was looked for."""
    env = os.environ if environ is None else environ
    if not any(s.secrets for s in pipeline.steps):
        return {}
    folder = secrets_folder(env)
    if notebook_dir is not None and folder.is_relative_to(Path(notebook_dir).resolve()):
        raise SecretUnavailableError(
            f"the secrets folder {folder} ({SETTING}) is inside the notebook's folder, which every "
            "run snapshots: move it elsewhere (default ~/.jupyter/kf-secrets)"
        )
    out: dict[str, dict[str, str]] = {}
    for step in pipeline.steps:
        values: dict[str, str] = {}
        for ref in step.secrets:
            where = folder / ref.name
            if not ref.env:
                if not where.is_dir():
                    raise SecretUnavailableError(
                        f"step {step.name!r}: secret:{ref.name} (its keys as files) needs the folder "
                        f"{where}, one file per key ({SETTING} moves the secrets folder)"
                    )
                values[SECRETS_ENV] = str(folder)
            for key, var in ref.env.items():
                path = where / key
                if path.is_file():
                    values[var] = path.read_text(encoding="utf-8").removesuffix("\n")
                elif var in env:
                    values[var] = env[var]
                else:
                    raise SecretUnavailableError(
                        f"step {step.name!r}: secret {ref.name!r} key {key!r} (for {var}) is neither in "
                        f"the file {path} nor in the server's environment as {var}"
                    )
        if values:
            out[step.name] = values
    return out
