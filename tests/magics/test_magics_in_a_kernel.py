"""The magics in a real kernel: `%kf_run` runs the pipeline in other kernels and shows each step."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat

PIPE = [
    ("import os", ["imports"]),
    ("n = 3", ["pipeline-parameters"]),
    ("xs = list(range(n))\nprint('pid', os.getpid())", ["step:make"]),
    ("total = sum(xs)\nprint('pid', os.getpid())", ["step:add"]),
    ("total", ["pipeline-metrics"]),
]


def step_pids(run_dir: Path) -> dict[str, int]:
    pids = {}
    for path in sorted((run_dir / "steps").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
        pids[path.stem] = int(text.split("pid", 1)[1].split()[0])
    return pids


def test_kf_run_runs_the_saved_notebook_in_other_kernels(kernel, tmp_path, make_notebook):
    make_notebook(PIPE, name="pipe.ipynb", folder=tmp_path / "work")
    assert kernel.execute("%load_ext jupyter_kf").status == "ok"
    me = kernel.execute("import os; print(os.getpid())")
    my_pid = int(me.texts()[0])

    res = kernel.execute("%kf_run --notebook pipe.ipynb -p n=5")
    assert res.status == "ok", res.error
    # live progress: one display, updated in place as the steps advance
    shown = res.of("display_data")
    updates = res.of("update_display_data")
    assert len(shown) == 1 and len(updates) >= 2
    display_id = shown[0]["content"]["transient"]["display_id"]
    assert all(u["content"]["transient"]["display_id"] == display_id for u in updates)
    states = [u["content"]["data"]["text/plain"] for u in updates]
    assert any("running" in s for s in states)
    final = states[-1]
    assert "succeeded" in final.splitlines()[0]
    for step in ("make", "add"):
        assert any(line.split()[1:3] == [step, "succeeded"] for line in final.splitlines()[1:]), final
    assert "total=10" in final  # the summary's metrics (0+1+2+3+4)
    assert "text/html" in updates[-1]["content"]["data"]

    # the steps ran in kernels of their own, never in the calling one
    store = tmp_path / "work" / "kf-runs"
    (run_dir,) = [p for p in store.iterdir() if (p / "steps").is_dir()]
    pids = step_pids(run_dir)
    assert set(pids) == {"make", "add"}
    assert my_pid not in pids.values()

    # the same run through the other magics
    runs = kernel.execute("%kf_runs --notebook pipe.ipynb")
    assert run_dir.name in "".join(runs.texts())
    status = kernel.execute("%kf_status --notebook pipe.ipynb")
    assert run_dir.name in "".join(status.texts()) and "total=10" in "".join(status.texts())


def test_kf_run_finds_the_notebook_from_the_session(kernel, tmp_path, make_notebook):
    nb = make_notebook(PIPE, name="pipe.ipynb", folder=tmp_path / "work")
    kernel.execute("%load_ext jupyter_kf")
    # what jupyter_server sets for the kernels it starts
    kernel.execute(f"import os; os.environ['JPY_SESSION_NAME'] = {json.dumps(str(nb))}")
    res = kernel.execute("%kf_run --detach")
    assert res.status == "ok", res.error
    # stdout only: stderr warns that the cell above (not in the notebook) ran after its save
    out = "".join(m["content"]["text"] for m in res.of("stream") if m["content"]["name"] == "stdout")
    assert "started" in out and "%kf_status" in out
    run_id = out.split()[1]
    status = kernel.execute(
        "import time\nfrom jupyter_kf.service import PipelineService\n"
        f"s = PipelineService('.')\nfor _ in range(600):\n    r = s.get_run({run_id!r})\n"
        "    if r.status.finished: break\n    time.sleep(0.2)\nprint(r.status.value)"
    )
    assert status.texts()[-1].strip() == "succeeded"


def test_a_clear_error_when_the_notebook_is_unknown(kernel):
    kernel.execute("%load_ext jupyter_kf")
    res = kernel.execute("%kf_run")
    assert res.status == "error"
    err = "".join(m["content"]["text"] for m in res.of("stream") if m["content"]["name"] == "stderr")
    assert err.startswith("UsageError: %kf_run: cannot tell which notebook")
    assert "--notebook" in err and "JPY_SESSION_NAME" in err


def test_kf_compile_shows_the_graph_and_problems(kernel, tmp_path, make_notebook):
    make_notebook([("a = 1", ["step:first"]), ("print(missing)", ["step:second"])], name="bad.ipynb",
                  folder=tmp_path / "work")
    kernel.execute("%load_ext jupyter_kf")
    res = kernel.execute("%kf_compile --notebook bad.ipynb")
    assert res.status == "ok", res.error
    data = [m["content"]["data"] for m in res.of("display_data")]
    assert any("image/svg+xml" in d and "first" in d["image/svg+xml"] for d in data)
    problems = [d["text/plain"] for d in data if "missing" in d.get("text/plain", "")]
    assert problems and "cell 2" in problems[0] and "step second" in problems[0]  # counted from 1


def test_kf_snapshot(kernel, tmp_path, make_notebook):
    make_notebook(PIPE, name="pipe.ipynb", folder=tmp_path / "work")
    kernel.execute("%load_ext jupyter_kf")
    res = kernel.execute("%kf_snapshot --notebook pipe.ipynb")
    assert res.status == "ok", res.error
    assert "snapshot" in "".join(res.texts())
    listed = kernel.execute("%kf_snapshot --list --notebook pipe.ipynb")
    assert "".join(res.texts()).split()[1] in "".join(listed.texts())


def test_interrupting_the_kernel_cancels_the_run(kernel, tmp_path, make_notebook):
    make_notebook(
        [("import time", ["imports"]), ("a = 1", ["step:first"]), ("time.sleep(60)\nb = a", ["step:sleepy"])],
        name="slow.ipynb", folder=tmp_path / "work",
    )
    kernel.execute("%load_ext jupyter_kf")
    interrupted = []

    def interrupt_when_sleeping(msg):
        text = msg["content"].get("data", {}).get("text/plain", "")
        if not interrupted and any(ln.split()[1:3] == ["sleepy", "running"] for ln in text.splitlines()[1:]):
            interrupted.append(True)
            kernel.km.interrupt_kernel()

    t0 = time.monotonic()
    res = kernel.execute("%kf_run --notebook slow.ipynb", on_message=interrupt_when_sleeping)
    assert interrupted and time.monotonic() - t0 < 45  # did not wait for the 60 s sleep
    out = "".join(res.texts())
    assert "cancelling run" in out
    final = res.of("update_display_data")[-1]["content"]["data"]["text/plain"]
    assert "cancelled" in final.splitlines()[0]
    assert any(ln.split()[1:3] == ["sleepy", "cancelled"] for ln in final.splitlines()[1:]), final


def test_plain_text_progress_outside_a_kernel(tmp_path, make_notebook, monkeypatch, capsys):
    """In terminal IPython (no front-end to update a display) each step change is a printed line."""
    from IPython.testing.globalipapp import get_ipython

    nb = make_notebook(PIPE, name="pipe.ipynb", folder=tmp_path / "term")
    monkeypatch.setenv("JUPYTER_KF_REGISTRY", str(tmp_path / "kf-stores.json"))
    monkeypatch.chdir(nb.parent)
    ip = get_ipython()
    ip.run_line_magic("load_ext", "jupyter_kf")
    capsys.readouterr()
    ip.run_line_magic("kf_run", "--notebook pipe.ipynb")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("run ") and "pipe" in out[0]
    for step in ("make", "add"):
        assert any(ln.split()[1:3] == [step, "running"] for ln in out), out
        assert any(ln.split()[1:3] == [step, "succeeded"] for ln in out), out
    summary = out[out.index(next(ln for ln in out if ln.startswith("run ") and "succeeded" in ln)):]
    assert any(ln.startswith("metrics: ") and "total=3" in ln for ln in summary), summary
    assert any(ln.startswith("outputs: kf-runs/") for ln in summary), summary
    assert "executed notebooks:" in summary
