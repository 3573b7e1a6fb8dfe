"""Reruns, loading values, runs from a step, diffs, export/import: real kernels, a store in tmp_path."""

from runner.conftest import (  # noqa: F401  (the runner's fixtures: nb_dir, settings, service, kernel_starts)
    _stop_fork_servers,
    cli_env,
    kernel_starts,
    nb_dir,
    service,
    settings,
)
