"""Runs through the REST API: start (202 at once), watch, logs, executed notebooks, cancel, retry."""

from __future__ import annotations

import os
import time

import nbformat

SLOW = [
    ("import time", ["imports"]),
    ("seconds = 60", ["pipeline-parameters"]),
    ("started = True", ["step:first"]),
    ("time.sleep(seconds)\nslept = seconds", ["step:sleepy", "prev:first"]),
    ("after = slept + 1", ["step:after"]),
]

FLAKY = [
    ("n = 0", ["pipeline-parameters"]),
    ("base = 10", ["step:base"]),
    ("assert n > 0, 'n must be positive'\nscaled = base * n", ["step:scale"]),
    ("result = scaled + 1", ["step:finish"]),
    ("result", ["pipeline-metrics"]),
]


def outputs_text(nb: dict) -> str:
    texts = [o.get("text", "") for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    return "".join("".join(t) if isinstance(t, list) else t for t in texts)


async def test_a_run_completes_and_its_notebooks_are_retrievable(api, pipe_nb, root, wait_run):
    t0 = time.monotonic()
    status, run = await api("POST", "runs", {"notebook": pipe_nb, "parameters": {"n": 4}})
    answered_in = time.monotonic() - t0
    assert status == 202, run
    assert run["status"] in ("queued", "running") and answered_in < 5
    assert [s["name"] for s in run["steps"]] == ["make", "add"]

    run = await wait_run(run["id"])
    assert run["status"] == "succeeded", run
    assert run["parameters"] == {"n": 4}
    for step in run["steps"]:
        assert step["status"] == "succeeded" and step["duration"] > 0
    metrics = {k: v for s in run["steps"] for k, v in s["metrics"].items()} | run["metrics"]
    assert metrics["total"] == 6  # 0+1+2+3

    status, log = await api("GET", f"runs/{run['id']}/steps/add/log")
    assert status == 200, log
    assert log["run"] == run["id"] and log["step"] == "add"
    assert "total 6" in log["text"]  # what the step printed

    status, got = await api("GET", f"runs/{run['id']}/steps/add/notebook")
    assert status == 200, got
    assert "total 6" in outputs_text(got["content"])  # what the step printed
    # the path is inside the server root, so JupyterLab opens it directly
    assert got["path"] and not os.path.isabs(got["path"])
    on_disk = nbformat.read(root / got["path"], as_version=4)
    assert on_disk.metadata["jupyter_kf"]["step"] == "add"

    # the steps ran in other processes than the server
    status, make = await api("GET", f"runs/{run['id']}/steps/make/notebook")
    assert status == 200
    pid = int(outputs_text(make["content"]).split("pid", 1)[1].split()[0])
    assert pid != os.getpid()

    status, listed = await api("GET", "runs")
    assert status == 200 and run["id"] in [r["id"] for r in listed["runs"]]
    status, listed = await api("GET", "runs", params={"notebook": pipe_nb})
    assert [r["id"] for r in listed["runs"]] == [run["id"]]


async def test_unknown_runs_and_steps_are_404(api, pipe_nb, wait_run):
    for path in ("runs/20200101-000000-dead", "runs/nope/steps/a/log", "runs/nope/steps/a/notebook",
                 "runs/nope/events"):
        status, body = await api("GET", path)
        assert status == 404, (path, body)
    for path in ("runs/nope/cancel", "runs/nope/retry"):
        status, body = await api("POST", path, {})
        assert status == 404, (path, body)


async def test_invalid_pipelines_bad_parameters_and_backends_are_422(api, write_nb, pipe_nb):
    bad = write_nb([("print(undefined_thing)", ["step:only"])], name="bad.ipynb")
    status, body = await api("POST", "runs", {"notebook": bad})
    assert status == 422, body
    assert body["problems"] and body["problems"][0]["step"] == "only"

    status, body = await api("POST", "runs", {"notebook": pipe_nb, "parameters": {"nope": 1}})
    assert status == 422 and body["field"] == "parameters", body
    assert "nope" in body["message"]

    status, body = await api("POST", "runs", {"notebook": pipe_nb, "backend": "martian"})
    assert status == 422 and body["field"] == "backend", body


async def test_cancel_stops_a_running_run(api, write_nb, wait_run):
    path = write_nb(SLOW, name="slow.ipynb")
    status, run = await api("POST", "runs", {"notebook": path})
    assert status == 202, run
    run = await wait_run(run["id"], until=lambda r: r["steps"][1]["status"] == "running", timeout=90)

    status, body = await api("POST", f"runs/{run['id']}/retry", {})
    assert status == 409, body  # still running

    # the server stays responsive while the run goes on in the background
    for _ in range(5):
        t0 = time.monotonic()
        status, _ = await api("GET", "backends")
        assert status == 200 and time.monotonic() - t0 < 2

    t0 = time.monotonic()
    status, body = await api("POST", f"runs/{run['id']}/cancel")
    assert status == 200, body
    run = await wait_run(run["id"], timeout=30)
    assert time.monotonic() - t0 < 30  # well before the 60 s sleep ends
    assert run["status"] == "cancelled", run
    steps = {s["name"]: s["status"] for s in run["steps"]}
    assert steps["first"] == "succeeded"
    assert steps["sleepy"] == "cancelled"
    assert steps["after"] in ("skipped", "cancelled")

    status, body = await api("POST", f"runs/{run['id']}/cancel")  # cancelling again changes nothing
    assert status == 200 and body["status"] == "cancelled"


async def test_retry_reruns_the_failed_part_with_new_parameters(api, write_nb, wait_run):
    path = write_nb(FLAKY, name="flaky.ipynb")
    status, run = await api("POST", "runs", {"notebook": path})
    assert status == 202
    run = await wait_run(run["id"])
    assert run["status"] == "failed"
    steps = {s["name"]: s for s in run["steps"]}
    assert steps["scale"]["status"] == "failed" and "n must be positive" in steps["scale"]["error"]

    status, log = await api("GET", f"runs/{run['id']}/steps/scale/log")
    assert status == 200 and isinstance(log["text"], str)
    status, nb = await api("GET", f"runs/{run['id']}/steps/scale/notebook")  # kept on failure too
    assert status == 200
    errors = [o for c in nb["content"]["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors and "n must be positive" in errors[0]["evalue"]

    status, body = await api("POST", f"runs/{run['id']}/retry", {"parameters": {"n": "x"}})
    assert status == 422, body  # wrong type for an int parameter

    status, retried = await api("POST", f"runs/{run['id']}/retry", {"parameters": {"n": 2}})
    assert status == 202, retried
    assert retried["retry_of"] == run["id"] and retried["id"] != run["id"]
    retried = await wait_run(retried["id"])
    assert retried["status"] == "succeeded", retried
    steps = {s["name"]: s for s in retried["steps"]}
    assert steps["base"]["status"] == "cached"  # not rerun
    assert steps["scale"]["status"] == steps["finish"]["status"] == "succeeded"
    metrics = {k: v for s in retried["steps"] for k, v in s["metrics"].items()} | retried["metrics"]
    assert metrics["result"] == 21


async def test_retry_of_must_be_a_run_of_this_server(api, pipe_nb):
    status, body = await api("POST", "runs", {"notebook": pipe_nb, "retry_of": "20200101-000000-dead"})
    assert status == 422 and body["field"] == "retry_of", body
