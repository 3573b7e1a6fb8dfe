"""What the controllers would do: snapshots become ready, workflows and KFP runs progress."""

from __future__ import annotations

import json
import secrets

from .cluster import FakeCluster
from .common import now


def advance_snapshot(c: FakeCluster, obj: dict) -> None:
    if obj["status"].get("readyToUse") or obj["status"].get("error"):
        return
    ns = obj["metadata"]["namespace"]
    claim = obj["spec"]["source"].get("persistentVolumeClaimName")
    pvc = c.pvcs.get((ns, claim))
    if pvc is None:
        obj["status"]["error"] = {
            "time": now(),
            "message": f'failed to get input parameters to create snapshot: persistentvolumeclaims "{claim}" not found',
        }
        return
    if pvc["spec"].get("storageClassName") in c.unsnapshottable_classes:
        return  # no CSI snapshotter for that driver: the snapshot never becomes ready
    obj["_reads"] += 1
    if obj["_reads"] >= c.snapshot_ready_after:
        obj["status"] = {
            "readyToUse": True,
            "restoreSize": pvc["status"]["capacity"]["storage"],
            "creationTime": now(),
            "boundVolumeSnapshotContentName": "snapcontent-" + obj["metadata"]["uid"],
        }


def fnv32a(text: str) -> int:
    h = 2166136261
    for b in text.encode():
        h = ((h ^ b) * 16777619) % (1 << 32)
    return h


def advance_workflow(c: FakeCluster, wf: dict) -> None:
    """One tick: finish running nodes, start the ones whose dependencies succeeded."""
    status = wf.setdefault("status", {})
    if c.hold or status.get("phase") in ("Succeeded", "Failed", "Error"):
        return
    name = wf["metadata"]["name"]
    entry = next(t for t in wf["spec"]["templates"] if t["name"] == wf["spec"]["entrypoint"])
    if "dag" not in entry:
        return  # only DAG workflows are simulated
    dag = entry["dag"]
    nodes = status.setdefault("nodes", {})
    by_task = {n["displayName"]: n for n in nodes.values() if n.get("type") == "Pod"}
    status["phase"] = "Running"
    status.setdefault("startedAt", now())
    stop = wf["spec"].get("shutdown") == "Stop"
    for n in by_task.values():
        if n["phase"] == "Running":
            task = n["displayName"]
            if stop:
                n.update(phase="Failed", message="Stopped with strategy 'Stop'", finishedAt=now())
            elif task in c.fail_steps:
                n.update(phase="Failed", message="Error (exit code 1)", finishedAt=now())
            else:
                n.update(
                    phase="Succeeded",
                    finishedAt=now(),
                    outputs={"parameters": [{"name": "metrics", "value": json.dumps({"ran": task})}]},
                )
            c.logs[(wf["metadata"]["namespace"], pod_name(name, n))] = f"log of step {task}\n"
    if not stop:
        for task in dag["tasks"]:
            if task["name"] in by_task:
                continue
            deps = task.get("dependencies", [])
            if all(by_task.get(d, {}).get("phase") == "Succeeded" for d in deps):
                node_name = f"{name}.{task['name']}"
                node_id = f"{name}-{fnv32a(node_name)}"
                nodes[node_id] = {
                    "id": node_id,
                    "name": node_name,
                    "displayName": task["name"],
                    "type": "Pod",
                    "templateName": task["template"],
                    "phase": "Running",
                    "startedAt": now(),
                }
                by_task[task["name"]] = nodes[node_id]
    phases = {t["name"]: by_task.get(t["name"], {}).get("phase") for t in dag["tasks"]}
    if any(p == "Running" for p in phases.values()):
        return
    if all(p == "Succeeded" for p in phases.values()):
        status.update(phase="Succeeded", finishedAt=now())
    elif stop or any(p == "Failed" for p in phases.values()):
        status.update(
            phase="Failed",
            finishedAt=now(),
            message="Stopped with strategy 'Stop'" if stop else "child failed",
        )


def pod_name(workflow: str, node: dict) -> str:
    return f"{workflow}-{node['templateName']}-{fnv32a(node['name'])}"


def advance_kfp(c: FakeCluster, run: dict) -> None:
    if c.hold or run["state"] in ("SUCCEEDED", "FAILED", "CANCELED"):
        return
    details = {t["display_name"]: t for t in run["run_details"]["task_details"]}
    terminate = run.get("_terminate")
    run["state"] = "RUNNING"
    for key, t in run["_tasks"].items():
        d = details.get(t["display_name"])
        if d and d["state"] == "RUNNING":
            if terminate:
                d.update(state="CANCELED", end_time=now())
            elif t["display_name"] in c.fail_steps:
                d.update(state="FAILED", end_time=now(), error={"message": "task failed: exit status 1"})
            else:
                d.update(state="SUCCEEDED", end_time=now())
                if t.get("pvc"):  # kfp-kubernetes' createpvc task: the run volume now exists
                    _restore_pvc(c, t["pvc"], t.get("data_source"))
            c.logs[(c.namespace, d["child_tasks"][-1]["pod_name"])] = (
                f"kfp log of {t['display_name']}\n" + c.step_log_tail.get(t["display_name"], "")
            )
    if not terminate:
        for key, t in run["_tasks"].items():
            if t["display_name"] in details:
                continue
            keyed = {k: details.get(run["_tasks"][k]["display_name"]) for k in t["deps"]}
            if all(v and v["state"] == "SUCCEEDED" for v in keyed.values()):
                pod = f"{run['display_name'].split()[0]}-{key}-{secrets.token_hex(3)}"
                d = {
                    "task_id": secrets.token_hex(6),
                    "display_name": t["display_name"],
                    "state": "RUNNING",
                    "start_time": now(),
                    "end_time": "1970-01-01T00:00:00Z",
                    "child_tasks": [{"pod_name": pod + "-driver"}, {"pod_name": pod}],
                }
                run["run_details"]["task_details"].append(d)
                details[t["display_name"]] = d
    states = [details.get(t["display_name"], {}).get("state") for t in run["_tasks"].values()]
    if "RUNNING" in states:
        return
    if all(s == "SUCCEEDED" for s in states):
        run.update(state="SUCCEEDED", finished_at=now())
    elif terminate:
        run.update(state="CANCELED", finished_at=now())
    elif "FAILED" in states:
        failed = [
            t["display_name"]
            for t in run["_tasks"].values()
            if details.get(t["display_name"], {}).get("state") == "FAILED"
        ]
        run.update(
            state="FAILED", finished_at=now(), error={"message": f"task(s) failed: {', '.join(failed)}"}
        )


def _restore_pvc(c: FakeCluster, name: str, snapshot: str | None) -> None:
    spec: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}
    if snapshot:
        spec["dataSource"] = {
            "apiGroup": "snapshot.storage.k8s.io",
            "kind": "VolumeSnapshot",
            "name": snapshot,
        }
    c.pvcs[(c.namespace, name)] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": c.namespace},
        "spec": spec,
        "status": {"phase": "Bound", "capacity": {"storage": "5Gi"}},
    }


def finished(obj: dict) -> bool:
    """Whether a workflow or KFP run has ended."""
    if "run_id" in obj:
        return obj["state"] in ("SUCCEEDED", "FAILED", "CANCELED")
    return (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Error")


def tick(c: FakeCluster, *, to_end: bool = False, max_ticks: int = 50) -> None:
    """Let the controllers work while ``c.hold`` keeps reads from doing so: one step of every
    workflow and KFP run, or (``to_end``) as many as it takes for all of them to end."""
    with c.lock:
        held, c.hold = c.hold, False
        try:
            for _ in range(max_ticks if to_end else 1):
                for wf in c.workflows.values():
                    advance_workflow(c, wf)
                for run in c.runs.values():
                    advance_kfp(c, run)
                if all(finished(o) for o in [*c.workflows.values(), *c.runs.values()]):
                    break
        finally:
            c.hold = held
