"""The panel's REST route and the `%kf_run` magic reach the cluster backends through the same
PipelineService as the CLI (test_surfaces.py): a real `jupyter server` subprocess and a real kernel,
both pointed at the fake Kubernetes/KFP API by the `project` fixture's environment."""

from __future__ import annotations

import os

from jupyter_client.manager import KernelManager
from server.kf_server_proc import start_server


def posted(cluster, fragment: str) -> list[dict]:
    return [r["body"] for r in cluster.requests if r["method"] == "POST" and fragment in r["path"]]


def test_rest_run_on_argo_as_the_panel_submits_it(project, cluster, tmp_path):
    (tmp_path / "server").mkdir()
    server = start_server(tmp_path / "server", project)
    try:
        status, run = server.api(
            "runs", {"notebook": "proj/demo.ipynb", "backend": "argo", "parameters": {"n": 3}}
        )
        assert status == 202, run
        assert run["backend"] == "argo"
        done = server.wait_run(run["id"], lambda r: r["status"] not in ("queued", "running"))
        assert done["status"] == "succeeded", done.get("error")
        assert done["external_id"] and {s["status"] for s in done["steps"]} == {"succeeded"}
        (wf,) = posted(cluster, "/workflows")
        assert {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}["n"] == "3"
        assert cluster.token not in server.log()
    finally:
        server.stop()


def test_kf_run_magic_on_kfp(project, cluster, tmp_path):
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(project), env={**os.environ, "JUPYTER_KF_REGISTRY": str(tmp_path / "reg.json")})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        outputs: list[str] = []

        def collect(msg: dict) -> None:
            content = msg["content"]
            if msg["msg_type"] == "error":
                outputs.append("\n".join(content["traceback"]))
            else:
                outputs.append(content.get("text") or content.get("data", {}).get("text/plain", ""))

        assert kc.execute_interactive("%load_ext jupyter_kf", timeout=60)["content"]["status"] == "ok"
        reply = kc.execute_interactive(
            "%kf_run -b kfp --notebook proj/demo.ipynb -p n=4", timeout=180, output_hook=collect
        )
        text = "\n".join(outputs)
        assert reply["content"]["status"] == "ok", text
        assert "succeeded" in text, text
        (body,) = posted(cluster, "/apis/v2beta1/runs")
        assert body["runtime_config"]["parameters"] == {"n": 4}
        assert cluster.token not in text
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
