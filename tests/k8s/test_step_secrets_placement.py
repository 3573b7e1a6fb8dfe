"""`secret:`, `node:`, `toleration:`, `gpu-vendor:` and `shm:` tags on both cluster targets.

Argo manifests are checked as the fake API checks them (Argo's schema through Hera's models, plus
the Kubernetes models for the pod-level pieces); KFP specs are parsed strictly with the protos of
every supported KFP release, so a field an older driver would refuse is refused at compile time.
"""

from __future__ import annotations


import pytest
import yaml
from jupyter_kf_converter import compile_notebook
from jupyter_kf_converter.tags import parse_tags
from jupyter_kf_converter.targets import compile_target
from jupyter_kf_converter.targets.options import TargetError
from kf_testing import build_notebook

from jupyter_kf.k8s.kfp_api import pipeline_spec_body

from .fakeapi.schemas import _core_model_causes, workflow_causes
from .kfp_protos import RELEASES, strict_parse

CELLS = [
    ("rows = 3", ["step:load", "secret:db-creds:password=DB_PASSWORD,user=DB_USER", "node:pool=cpu"]),
    (
        "total = rows * 2",
        ["step:train", "secret:api-keys", "limit:gpu:1", "gpu-vendor:amd", "toleration:dedicated=ml:NoSchedule",
         "toleration:spot", "node:cloud.google.com/gke-nodepool=gpu-pool", "shm:2Gi"],
    ),
    ("print(total)", ["step:report"]),
]


def pipeline(cells=CELLS, metadata=None):
    nb = build_notebook(cells)
    nb.metadata["jupyter_kf"] = metadata or {"secrets": ["registry:token=REGISTRY_TOKEN"]}
    p = compile_notebook(nb, notebook_path="secret-demo.ipynb")
    assert p.valid, p.problems
    return p


@pytest.mark.parametrize(
    "tag,complaint",
    [
        ("secret:DB", "lower-case DNS name"),
        ("secret:db:password", "not 'password'"),
        ("secret:db:password=1X", "not 'password=1X'"),
        ("node:pool", "node:<label>=<value>"),
        ("toleration:gpu:Sometimes", "toleration:<key>"),
        ("gpu-vendor:intel", "gpu-vendor:nvidia or gpu-vendor:amd"),
        ("shm:lots", "shm:<size>"),
    ],
)
def test_malformed_tags_say_what_is_expected(tag, complaint):
    problems = parse_tags(["step:a", tag]).problems
    assert len(problems) == 1 and problems[0].tag == tag and complaint in problems[0].message


def test_a_bad_notebook_secret_setting_names_the_setting():
    nb = build_notebook(CELLS)
    nb.metadata["jupyter_kf"] = {"secrets": ["Not A Secret"]}
    p = compile_notebook(nb, notebook_path="x.ipynb")
    assert not p.valid and any(pr.name == "jupyter_kf.secrets" for pr in p.problems)


def test_steps_get_their_own_and_the_notebooks_secrets_and_placement():
    p = pipeline()
    load, train, report = p.steps
    assert [(s.name, s.env) for s in load.secrets] == [
        ("registry", {"token": "REGISTRY_TOKEN"}),
        ("db-creds", {"password": "DB_PASSWORD", "user": "DB_USER"}),
    ]
    assert [(s.name, s.env) for s in report.secrets] == [("registry", {"token": "REGISTRY_TOKEN"})]
    assert train.placement.shm == "2Gi" and train.placement.gpu_vendor == "amd"
    assert train.placement.tolerations == [
        {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},
        {"key": "spot", "operator": "Exists"},
    ]


def _template(workflow, step):
    return next(t for t in workflow["spec"]["templates"] if t["name"] == f"step-{step}")


def test_argo_manifest_carries_secret_references_placement_and_shm_and_the_fake_api_accepts_it():
    options = {"image": "img:1", "tolerations": [{"key": "nb", "operator": "Exists"}], "node_selector": {"a": "b"}}
    wf = yaml.safe_load(compile_target(pipeline(), "argo", **options))
    assert workflow_causes(wf) == []
    load, train, report = (_template(wf, s) for s in ("load", "train", "report"))
    env = {e["name"]: e.get("valueFrom", e.get("value")) for e in load["container"]["env"]}
    assert env["DB_PASSWORD"] == {"secretKeyRef": {"name": "db-creds", "key": "password"}}
    assert env["REGISTRY_TOKEN"] == {"secretKeyRef": {"name": "registry", "key": "token"}}
    assert load["nodeSelector"] == {"a": "b", "pool": "cpu"} and "tolerations" not in load
    assert "nodeSelector" not in report and "tolerations" not in report  # the workflow's apply
    assert train["container"]["resources"]["limits"] == {"amd.com/gpu": "1"}
    assert {"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in train["tolerations"]
    assert train["tolerations"][0] == {"key": "nb", "operator": "Exists"}
    mounts = {m["mountPath"]: m["name"] for m in train["container"]["volumeMounts"]}
    volumes = {v["name"]: v for v in train["volumes"]}
    assert volumes[mounts["/kf/secrets/api-keys"]]["secret"] == {"secretName": "api-keys"}
    assert volumes[mounts["/dev/shm"]]["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
    assert {"name": "KF_SECRETS_DIR", "value": "/kf/secrets"} in train["container"]["env"]
    # the pod-level pieces against the Kubernetes models themselves
    assert _core_model_causes({"name": "main", **train["container"]}, "V1Container") == []
    for v in train["volumes"]:
        assert _core_model_causes(v, "V1Volume") == []
    for t in train["tolerations"]:
        assert _core_model_causes(t, "V1Toleration") == []


def test_the_fake_api_refuses_a_secret_reference_the_real_api_would():
    wf = yaml.safe_load(compile_target(pipeline(), "argo", image="img:1"))
    _template(wf, "load")["container"]["env"][0]["valueFrom"]["secretKeyRef"]["keyName"] = "password"
    assert workflow_causes(wf)


def _kfp(p, **options):
    body = pipeline_spec_body(compile_target(p, "kfp", image="img:1", **options))
    return body.get("pipeline_spec", body), body["platform_spec"]


def test_kfp_spec_with_secrets_and_placement_parses_on_every_supported_release():
    no_shm = [(src, [t for t in tags if not t.startswith("shm:")]) for src, tags in CELLS]
    spec, platform = _kfp(pipeline(no_shm))
    for release in RELEASES:
        assert strict_parse(release, spec, platform) == [], release
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    load, train = executors["exec-load"], executors["exec-train"]
    assert {s["secretName"]: s["keyToEnv"] for s in load["secretAsEnv"]}["db-creds"] == [
        {"secretKey": "password", "envVar": "DB_PASSWORD"},
        {"secretKey": "user", "envVar": "DB_USER"},
    ]
    assert train["secretAsVolume"] == [{"secretName": "api-keys", "mountPath": "/kf/secrets/api-keys", "optional": False}]
    assert train["nodeSelector"] == {"labels": {"cloud.google.com/gke-nodepool": "gpu-pool"}}
    assert {"key": "amd.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in train["tolerations"]
    accelerator = spec["deploymentSpec"]["executors"]["exec-train"]["container"]["resources"]["accelerator"]
    assert accelerator == {"type": "amd.com/gpu", "count": "1"}
    for tol in train["tolerations"]:
        assert _core_model_causes(tol, "V1Toleration") == []


def test_kfp_shm_needs_kfp_2_3_and_says_so():
    with pytest.raises(TargetError, match=r"executor exec-train: shm:<size> .* needs KFP 2.3.0 .*kfp_backend=2.3.0"):
        _kfp(pipeline())
    spec, platform = _kfp(pipeline(), kfp_backend="2.3.0")
    for release in ("2.3.0", "2.4.1", "2.5.0"):
        assert strict_parse(release, spec, platform) == [], release
    assert strict_parse("2.2.0", spec, platform)  # what the refusal spares an older cluster
    mount = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-train"]["emptyDirMounts"]
    assert mount == [{"volumeName": "kf-shm", "mountPath": "/dev/shm", "medium": "Memory", "sizeLimit": "2Gi"}]


def _kfp_run(settings, cluster, store, p):
    from jupyter_kf.backends.kfp import KfpBackend
    from jupyter_kf.models import Run, RunRequest
    from jupyter_kf.store import utcnow

    from .test_cluster_backends import NOTEBOOK

    run = store.create_run(
        Run(id=store.new_run_id(), pipeline=p.name, notebook=NOTEBOOK, backend="kfp", created_at=utcnow()),
        p, capture_env=False,
    )  # fmt: skip
    return KfpBackend(store, settings, poll_interval=0.01).start(p, run, RunRequest(notebook=NOTEBOOK)).wait(30)


def test_kfp_backend_refuses_shm_for_an_old_kfp_and_runs_it_on_a_newer_one(settings, cluster, store):
    from jupyter_kf.models import RunStatus

    from .test_cluster_backends import posted

    final = _kfp_run(settings, cluster, store, pipeline())
    assert final.status == RunStatus.failed and "shm:<size>" in final.error and "KFP 2.3.0" in final.error
    assert posted(cluster, "/apis/v2beta1/runs") == [] and cluster.snapshots == {}
    assert [k for k in cluster.pvcs if k[1] != "home-pvc"] == []  # its run volume is gone too
    cluster.kfp_release = "2.3.0"  # the fake's drivers now parse executor configs with 2.3.0's protos
    final = _kfp_run(settings.model_copy(update={"kfp_backend": "2.3.0"}), cluster, store, pipeline())
    assert final.status == RunStatus.succeeded, final.error
    (created,) = posted(cluster, "/apis/v2beta1/runs")
    executors = created["pipeline_spec"]["platform_spec"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert executors["exec-train"]["emptyDirMounts"][0]["mountPath"] == "/dev/shm"


def test_an_exported_spec_warns_when_parallel_steps_share_its_read_write_once_volume():
    parallel = [("a = 1", ["step:left"]), ("b = 2", ["step:right"]), ("c = a + b", ["step:both"])]
    p = compile_notebook(build_notebook(parallel), notebook_path="par.ipynb")
    for target in ("kfp", "argo"):
        with pytest.warns(UserWarning, match="the run volume is ReadWriteOnce but steps 'left' and 'right'"):
            compile_target(p, target, image="i")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile_target(p, "argo", image="i", access_modes=["ReadWriteMany"])
        compile_target(pipeline(), "argo", image="i")  # load -> train -> report: never two at once
