"""Property-based fuzz of the REST API, driven by openapi.yaml, against a real `jupyter server`.

The server runs as a subprocess on a free loopback port with a token, in a temporary root with a
small notebook that has already run once. Every operation gets valid and invalid inputs
(schemathesis, bounded in examples and time), one at a time and in stateful sequences; the answers
must never be 5xx, never hang, and must match the status codes, content types and schemas the spec
declares; afterwards no run is left queued or running.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from jupyter_kf.handlers.spec import SPEC_PATH

from .kf_server_proc import ServerProc, start_server, write_notebook

MAX_EXAMPLES = 15
REQUEST_TIMEOUT = 40  # s; the longest legal hold is a 30 s long poll


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProc]:
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "root"
    root.mkdir()
    write_notebook(root / "pipe.ipynb", [("n = 2", ["pipeline-parameters"]), ("x = n * 2", ["step:only"])])
    server = start_server(base, root)
    try:
        # one finished run, so run-listing operations have something to show
        status, run = server.api("runs", {"notebook": "pipe.ipynb"})
        assert status == 202, run
        server.wait_run(run["id"], until=lambda r: r["status"] not in ("queued", "running"))
        server.run_id = run["id"]
        yield server
    finally:
        server.stop()
        assert server.token not in server.log().replace(f"token={server.token}", ""), "token leaked into the log"


@pytest.fixture(scope="module")
def served_schema(server):
    schema = schemathesis.openapi.from_url(
        f"{server.url}/jupyter-kf/api/openapi.yaml", headers={"Authorization": f"token {server.token}"}
    )
    schema.config.update(base_url=f"{server.url}/jupyter-kf/api")
    return schema


def _operations() -> list[tuple[str, str]]:
    spec = yaml.safe_load(SPEC_PATH.read_text())
    return [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m in ("get", "post")]


def fuzz_operation(strategy, token: str) -> None:
    """Bounded, reproducible property-based calls of one operation, each checked against the spec."""

    @given(case=strategy)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)
    def fuzz(case):
        case.call_and_validate(
            headers={"Authorization": f"token {token}"},
            checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
            timeout=REQUEST_TIMEOUT,
        )

    fuzz()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(("method", "path"), _operations())
def test_api_fuzz(served_schema, server, method, path, mode):
    fuzz_operation(served_schema[path][method].as_strategy(generation_mode=mode), server.token)


@pytest.mark.parametrize(
    ("method", "path"),
    [(m, p) for m, p in _operations() if "{run_id}" in p and not p.endswith("/retry")],
)
def test_api_fuzz_on_a_real_run(served_schema, server, method, path):
    """The same, with the id of a real finished run, so step names and bodies reach deeper."""
    strategy = served_schema[path][method].as_strategy(path_parameters={"run_id": server.run_id})
    fuzz_operation(strategy, server.token)


def test_api_stateful(served_schema, server):
    """Sequences of calls, each using what an earlier answer returned (schemathesis infers the
    links: a run id from POST runs into GET/cancel/retry of that run, a schedule id...)."""
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    token = server.token

    class Machine(served_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"token {token}"}, "timeout": REQUEST_TIMEOUT}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=checks, transport_kwargs=kwargs)

    Machine.run(
        settings=settings(
            max_examples=10, stateful_step_count=5, deadline=None, derandomize=True, database=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_no_run_is_left_running_after_the_fuzz(server):
    """Whatever the fuzz started ends: queued runs get a slot, running ones finish (issue 18)."""
    import time

    deadline = time.monotonic() + 120
    while True:
        status, listed = server.api("runs?limit=500")
        assert status == 200, listed
        active = [r["id"] for r in listed["runs"] if r["status"] in ("queued", "running")]
        if not active:
            break
        assert time.monotonic() < deadline, f"runs still active after the fuzz: {active}"
        time.sleep(0.5)
