"""`jupyter kf export` -> `jupyter kf import` into another folder -> `jupyter kf rerun` succeeds;
an archive whose paths would lead outside the target is refused and writes nothing."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from jupyter_kf.cli import export as export_cli
from jupyter_kf.cli import import_run as import_cli
from jupyter_kf.models import RunRequest, RunStatus

from .conftest import cli_env
from .test_rerun import PIPE

KF = str(Path(sys.executable).with_name("jupyter-kf"))


def rewritten(src: Path, dst: Path, change) -> Path:
    """A copy of the zip ``src`` with ``change(name, data) -> (name, data) | None`` applied to each member."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            out = change(info.filename, zin.read(info))
            if out is not None:
                zout.writestr(out[0], out[1])
    return dst


def resized(doc: bytes) -> bytes:
    """snapshot.json with one file's recorded size changed (its id no longer matches)."""
    d = json.loads(doc)
    d["entries"]["data.csv"]["size"] += 1
    return json.dumps(d).encode()


def test_export_import_rerun_in_another_folder(service, make_notebook, nb_dir, tmp_path, monkeypatch, capsys):
    make_notebook(PIPE, "pipe.ipynb", nb_dir)
    (nb_dir / "data.csv").write_text("x\n1\n2\n3\n")
    first = service.run(RunRequest(notebook="pipe.ipynb", parameters={"scale": 3}))
    assert first.status == RunStatus.succeeded, first.error
    monkeypatch.chdir(nb_dir)
    full, lean = tmp_path / "run.zip", tmp_path / "lean.zip"
    assert export_cli.main([first.id, "-o", str(full), "--with-data"]) == 0
    assert export_cli.main([first.id, "-o", str(lean)]) == 0
    with zipfile.ZipFile(full) as z:
        names = set(z.namelist())
        meta = json.loads(z.read("kf-export.json"))
    assert {"pipeline.json", "env.json", "env-lock.txt", "snapshot.json", "notebook/pipe.ipynb"} <= names
    assert {"steps/load.ipynb", "steps/report.ipynb", "values/load/manifest.json", "values/load/arr.npy"} <= names
    assert meta["run"]["parameters"] == {"scale": 3} and meta["run"]["metrics"] == {"total": 18.0}
    with zipfile.ZipFile(lean) as z:
        assert len([n for n in z.namelist() if n.startswith("objects/")]) == 1  # the notebook only

    # unsafe archives: refused before anything is written
    target = tmp_path / "target"
    target.mkdir()
    evil = {
        "dotdot": lambda n, d: ("values/../../evil.txt", d) if n == "env-lock.txt" else (n, d),
        "absolute": lambda n, d: ("/tmp/evil.txt", d) if n == "env-lock.txt" else (n, d),
        "manifest": lambda n, d: (n, d.replace(b'"data.csv"', b'"../data.csv"')) if n == "snapshot.json" else (n, d),
        "altered": lambda n, d: (n, resized(d)) if n == "snapshot.json" else (n, d),
        "value name": lambda n, d: (n, d.replace(b'"arr"', b'"../../arr"')) if n == "values/load/manifest.json" else (n, d),
    }
    for kind, change in evil.items():
        bad = rewritten(full, tmp_path / f"{kind}.zip", change)
        assert import_cli.main([str(bad), "-C", str(target)]) == 2, kind
        err = capsys.readouterr().err
        assert "nothing was imported" in err, (kind, err)
        why = {"dotdot": "leads outside", "absolute": "not a relative path", "manifest": "leads outside",
               "altered": "was altered", "value name": "not a Python name"}[kind]
        assert why in err, (kind, err)
        assert list(target.iterdir()) == [], kind
    link = tmp_path / "link.zip"
    shutil.copy(full, link)
    with zipfile.ZipFile(link, "a") as z:
        info = zipfile.ZipInfo("notebook/escape")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    assert import_cli.main([str(link), "-C", str(target)]) == 2
    assert "is a symbolic link" in capsys.readouterr().err and list(target.iterdir()) == []

    # the original folder is gone: the colleague has only the archive
    shutil.rmtree(nb_dir)
    other, lean_dir = tmp_path / "colleague", tmp_path / "lean"
    other.mkdir()
    lean_dir.mkdir()
    assert import_cli.main([str(full), "-C", str(other)]) == 0
    assert import_cli.main([str(lean), "-C", str(lean_dir)]) == 0
    assert (other / "pipe.ipynb").is_file() and (other / "kf-runs").is_dir()
    env = cli_env(tmp_path)
    show = subprocess.run([KF, "show", first.id], cwd=other, env=env, capture_output=True, text=True)
    assert show.returncode == 0 and "total=18" in show.stdout, show.stderr
    res = subprocess.run([KF, "rerun", first.id, "--no-cache"], cwd=other, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "reproduced: values 4/4 identical, metrics identical" in res.stderr
    refused = subprocess.run([KF, "rerun", first.id], cwd=lean_dir, env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "exported without --with-data" in refused.stderr


@pytest.mark.parametrize("name", ["../x", "/abs", "a/../../b", "C:/x", "a\\..\\b", ""])
def test_unsafe_names_are_refused(name):
    from jupyter_kf.archive import ArchiveError, safe_relative

    with pytest.raises(ArchiveError):
        safe_relative(name, "member")
