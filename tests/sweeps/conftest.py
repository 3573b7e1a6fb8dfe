"""Fixtures for sweep tests: the local runner's (real kernels, a real store in tmp_path, a registry
of stores per test), shared rather than copied."""

from runner.conftest import _stop_fork_servers, nb_dir, service, settings  # noqa: F401
