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
    if "startedAt" not in status:
        _claim_volumes(c, wf)
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
            pod = n["id"] if c.pod_name_format == "v1" else pod_name(name, n)
            c.logs[(wf["metadata"]["namespace"], pod)] = f"log of step {task}\n" + c.step_log_tail.get(task, "")
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
    if status.get("finishedAt"):
        _collect_volumes(c, wf)


def _claim_volumes(c: FakeCluster, wf: dict) -> None:
    """Argo creates one claim per volumeClaimTemplate, named ``<workflow>-<template name>``."""
    from .kube import admit_pvc

    ns, name = wf["metadata"]["namespace"], wf["metadata"]["name"]
    for template in wf["spec"].get("volumeClaimTemplates") or []:
        claim = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"{name}-{template['metadata']['name']}", "namespace": ns},
            "spec": json.loads(json.dumps(template["spec"])),
        }
        admit_pvc(c, claim)
        c.pvcs[(ns, claim["metadata"]["name"])] = claim
        wf["status"].setdefault("persistentVolumeClaims", []).append(
            {"name": template["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}}
        )


def _collect_volumes(c: FakeCluster, wf: dict) -> None:
    """volumeClaimGC: Argo's default (OnWorkflowSuccess) keeps the claims of a failed workflow."""
    strategy = (wf["spec"].get("volumeClaimGC") or {}).get("strategy") or "OnWorkflowSuccess"
    if strategy == "OnWorkflowCompletion" or wf["status"]["phase"] == "Succeeded":
        for claim in wf["status"].get("persistentVolumeClaims") or []:
            c.pvcs.pop((wf["metadata"]["namespace"], claim["persistentVolumeClaim"]["claimName"]), None)


def pod_name(workflow: str, node: dict) -> str:
    return f"{workflow}-{node['templateName']}-{fnv32a(node['name'])}"


def advance_kfp(c: FakeCluster, run: dict) -> None:
    """One tick of a KFP run as its Argo workflow runs it: a task's driver then its executor pod
    (``child_tasks[].pod_name`` holds their Argo node IDs, as KFP's API reports them)."""
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
            elif run["_driver_errors"] and not (t.get("create_pvc") or t.get("delete_pvc")):
                message = "driver: failed to unmarshal kubernetes config: " + run["_driver_errors"][0]
                d.update(state="FAILED", end_time=now(), error={"message": message})
            elif t["display_name"] in c.fail_steps:
                d.update(state="FAILED", end_time=now(), error={"message": "task failed: exit status 1"})
            else:
                d.update(state="SUCCEEDED", end_time=now())
                if t.get("create_pvc"):  # kfp-kubernetes' createpvc task: the run volume now exists
                    _create_claim(c, t["create_pvc"], t["storage_class"], t.get("data_source"))
                if t.get("delete_pvc"):
                    c.pvcs.pop((c.namespace, run["_tasks"][t["delete_pvc"]]["create_pvc"]), None)
            for pod in d["_pods"]:
                c.logs[(c.namespace, pod)] = f"kfp log of {t['display_name']} ({pod})\n"
            c.logs[(c.namespace, d["_pods"][-1])] += c.step_log_tail.get(t["display_name"], "")
    if not terminate:
        for key, t in run["_tasks"].items():
            if t["display_name"] in details:
                continue
            keyed = {k: details.get(run["_tasks"][k]["display_name"]) for k in t["deps"]}
            if not all(v and v["state"] == "SUCCEEDED" for v in keyed.values()):
                continue
            if not _volume_bound(c, run, t):
                continue  # the pod cannot be scheduled: its claim is missing or Pending
            d = {
                "task_id": secrets.token_hex(6),
                "display_name": t["display_name"],
                "state": "RUNNING",
                "start_time": now(),
                "end_time": "1970-01-01T00:00:00Z",
                "child_tasks": [],
                "_pods": [],
            }
            wf = run["_workflow"]
            for part, template in (("driver", "system-container-driver"), ("executor", "system-container-impl")):
                node = {"name": f"{wf}.root.{key}.{part}", "templateName": template}
                node_id = f"{wf}-{fnv32a(node['name'])}"
                d["child_tasks"].append({"pod_name": node_id})
                d["_pods"].append(node_id if c.pod_name_format == "v1" else pod_name(wf, node))
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


def _volume_bound(c: FakeCluster, run: dict, task: dict) -> bool:
    if "mount" not in task:
        return True
    kind, ref = task["mount"]
    name = ref if kind == "constant" else run["_tasks"][ref].get("create_pvc")
    pvc = c.pvcs.get((c.namespace, name))
    return bool(pvc) and pvc.get("status", {}).get("phase") == "Bound"


def _create_claim(c: FakeCluster, name: str, storage_class: str, snapshot: str | None) -> None:
    from .kube import admit_pvc

    spec: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}
    if storage_class:  # "" leaves the class unset: the cluster's default
        spec["storageClassName"] = storage_class
    if snapshot:
        spec["dataSource"] = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": snapshot}
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": c.namespace},
        "spec": spec,
    }
    admit_pvc(c, claim)
    c.pvcs[(c.namespace, name)] = claim


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
