"""`secret:` tags on the local backend: the names a cluster step gets from a Kubernetes Secret
resolve from the user's secrets folder (``JUPYTER_KF_SECRETS``, laid out like a mounted Secret)
or environment, reach only the step's kernel, and are written nowhere: not in the store, the run
folder, the logs, the executed notebooks or the compiled specs."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest
from jupyter_kf_converter.targets import compile_target

from jupyter_kf.executor.secrets import SecretUnavailableError, step_environments
from jupyter_kf.models import RunRequest, RunStatus
from jupyter_kf.service import PipelineService

from .conftest import KF, cli_env

IMPORTS = ("import json, os", ["imports"])
USE = (
    "pw_len = len(os.environ['DB_PASSWORD'])\n"
    "user_len = len(os.environ['DB_USER'])\n"
    "tok_len = len(open(os.path.join(os.environ['KF_SECRETS_DIR'], 'api-keys', 'token')).read())\n"
    "print('lengths', pw_len, user_len, tok_len)\n"
    "json.dump([pw_len, user_len, tok_len], open('lens.json', 'w'))",
    ["step:use", "secret:db-creds:password=DB_PASSWORD,user=DB_USER", "secret:api-keys"],
)
AFTER = (
    "json.dump(['DB_PASSWORD' in os.environ, 'KF_SECRETS_DIR' in os.environ], open('after.json', 'w'))",
    ["step:after", "prev:use"],
)


@pytest.fixture
def values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    folder = tmp_path / "secrets"  # outside the notebook's folder (tmp_path/nb)
    out = {k: f"{k}-{secrets.token_hex(12)}" for k in ("password", "user", "token")}
    (folder / "db-creds").mkdir(parents=True)
    (folder / "db-creds" / "password").write_text(out["password"] + "\n")
    (folder / "api-keys").mkdir()
    (folder / "api-keys" / "token").write_text(out["token"])
    monkeypatch.setenv("JUPYTER_KF_SECRETS", str(folder))
    monkeypatch.setenv("DB_USER", out["user"])  # no file for this key: from the environment
    return out


def test_secrets_reach_only_their_step_and_are_written_nowhere(
    tmp_path: Path, nb_dir: Path, settings, make_notebook, values
) -> None:
    make_notebook([IMPORTS, USE, AFTER], "s.ipynb", nb_dir)
    service = PipelineService(nb_dir, settings)
    try:
        run = service.run(RunRequest(notebook="s.ipynb"))
        assert run.status == RunStatus.succeeded, run.error
        work = service.store_of(run.id).work_dir(run.id)
        lens = json.loads((work / "lens.json").read_text())
        assert lens == [len(values["password"]), len(values["user"]), len(values["token"])]
        assert json.loads((work / "after.json").read_text()) == [False, False]
        pipeline = service.compile(nb_dir / "s.ipynb")
        logs = service.step_log(run.id, "use") + service.step_log(run.id, "after")
    finally:
        service.close()
    assert "lengths" in logs
    texts = [logs, compile_target(pipeline, "argo", image="i"), compile_target(pipeline, "kfp", image="i")]
    files = [p for p in nb_dir.rglob("*") if p.is_file()]
    assert any(p.name == "use.ipynb" for p in files) and any(p.suffix == ".log" for p in files)
    texts += [p.read_bytes().decode("utf-8", "replace") for p in files]
    for name, value in values.items():
        assert not [t for t in texts if value in t], f"the {name} value was written somewhere"


def test_a_missing_secret_is_refused_before_anything_runs(
    tmp_path: Path, nb_dir: Path, settings, make_notebook, values, monkeypatch
) -> None:
    monkeypatch.delenv("DB_USER")
    make_notebook([IMPORTS, USE, AFTER], "m.ipynb", nb_dir)
    service = PipelineService(nb_dir, settings)
    try:
        with pytest.raises(SecretUnavailableError, match=r"step 'use': secret 'db-creds' key 'user' \(for DB_USER\)"):
            service.run(RunRequest(notebook="m.ipynb"))
    finally:
        service.close()
    assert not any(nb_dir.rglob("work"))
    proc = subprocess.run([KF, "run", "m.ipynb"], cwd=nb_dir, env=cli_env(tmp_path), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and "neither in the file" in proc.stderr, proc.stderr


def test_a_secrets_folder_inside_the_notebooks_folder_is_refused(tmp_path: Path, make_notebook) -> None:
    from jupyter_kf_converter import compile_notebook
    from kf_testing import build_notebook

    pipeline = compile_notebook(build_notebook([IMPORTS, USE]), notebook_path="s.ipynb")
    (tmp_path / "nb" / "secrets" / "api-keys").mkdir(parents=True)
    env = {"JUPYTER_KF_SECRETS": str(tmp_path / "nb" / "secrets"), "DB_PASSWORD": "x", "DB_USER": "y"}
    with pytest.raises(SecretUnavailableError, match="inside the notebook's folder"):
        step_environments(pipeline, tmp_path / "nb", env)
    assert step_environments(pipeline, tmp_path / "elsewhere", env)["use"]["DB_PASSWORD"] == "x"
