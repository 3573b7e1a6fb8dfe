"""A run costs what it changes: a fully cached run writes no input file, a finished run keeps
only what it wrote (new and changed files), and the snapshot is never changed by a step."""

from __future__ import annotations

import json
import os

import pytest

from pathlib import Path

from jupyter_kf.models import RunRequest, RunStatus

STEPS = [
    ("import os", ["imports"]),
    (
        "with open('data/big.bin', 'rb') as f:\n    n = len(f.read())\n"
        "with open('data/small.txt', 'a') as f:\n    f.write('more')\n"
        "with open('made.txt', 'w') as f:\n    f.write('new')",
        ["step:read"],
    ),
    ("total = n + 1", ["step:use"]),
    ("total", ["pipeline-metrics"]),
]


def files_under(folder) -> set[str]:
    return {
        os.path.relpath(os.path.join(d, f), folder)
        for d, _, fs in os.walk(folder)
        for f in fs
        if "kf-values" not in d
    }


def overlay_expected() -> str | None:
    """Why this machine cannot mount a run's overlay (None: it should, and a test fails if not)."""
    try:
        if "overlay" not in Path("/proc/filesystems").read_text():
            return "the kernel has no overlay file system"
        if os.geteuid() != 0 and Path("/proc/sys/kernel/unprivileged_userns_clone").read_text().strip() == "0":
            return "unprivileged user namespaces are off"
    except OSError:
        return "not Linux"
    return None


@pytest.fixture(params=["overlay", "copy"])
def materialize(request, settings, monkeypatch):
    """Both ways a run gets its inputs: an overlay (forced where the kernel has one, so a broken
    mount fails here instead of falling back to copies) and copies."""
    from jupyter_kf.snapshots import tree

    settings.materialize = request.param
    if request.param == "overlay":
        why = overlay_expected()
        if why:
            pytest.skip(f"{why}: runs copy their inputs here")
        monkeypatch.setattr(tree, "overlay_available", lambda store: True)
    return request.param


def test_cached_run_writes_no_input_and_a_finished_run_keeps_only_what_it_wrote(
    materialize, service, make_notebook, nb_dir
):
    make_notebook(STEPS, "vol.ipynb", nb_dir)
    (nb_dir / "data").mkdir()
    (nb_dir / "data" / "big.bin").write_bytes(os.urandom(300_000))
    (nb_dir / "data" / "small.txt").write_text("x")
    (nb_dir / "data" / "other.txt").write_text("untouched")

    first = service.run(RunRequest(notebook="vol.ipynb"))
    assert first.status == RunStatus.succeeded, first.error
    assert first.metrics == {"total": 300_001}
    store = service.store_of(first.id)
    work = store.work_dir(first.id)
    # The appended file and the new one stay; the unchanged inputs (and the notebook) are gone.
    assert files_under(work) == {"data/small.txt", "made.txt"}
    assert (work / "data" / "small.txt").read_text() == "xmore"
    record = json.loads((store.run_path(first.id) / "materialized.json").read_text())
    assert record["files"] == 4
    if materialize == "overlay":
        assert record["method"] == "overlay" and record["copied_bytes"] == 0
    else:
        assert record["method"] in ("copy", "reflink") and record["unchanged_removed"] == 3
    assert (nb_dir / "data" / "small.txt").read_text() == "x"  # the live folder is untouched

    again = service.run(RunRequest(notebook="vol.ipynb"))
    assert {s.status.value for s in again.steps} == {"cached"}
    assert again.metrics == {"total": 300_001}
    record = json.loads((store.run_path(again.id) / "materialized.json").read_text())
    assert record["method"] == "none"
    # Only what the cached step wrote is put back: no input file was written.
    assert files_under(store.work_dir(again.id)) == {"data/small.txt", "made.txt"}

    from jupyter_kf.cli.show import render

    text = render(again, store)
    assert "not written (every step was cached)" in text
    shown = render(store.get_run(first.id), store)
    assert ("overlay" in shown) if materialize == "overlay" else ("unchanged removed" in shown)


# A step that tries every way to change its input files: from Python and from a shell, in place
# and by name. Whatever it does, the snapshot's objects keep their hashes and modes.
TAMPER = '''
import os, subprocess
p = "data/in.txt"
with open(p, "r+") as f:
    f.write("W")                      # write in place
with open(p, "a") as f:
    f.write("A")                      # append
os.truncate(p, 1)                     # truncate
os.chmod(p, 0o777)                    # chmod
os.chmod("data/ro.txt", 0o644)
with open("data/ro.txt", "w") as f:   # make a read-only input writable, then overwrite it
    f.write("over")
subprocess.run(["sh", "-c", "echo shell >> data/in.txt; echo x > data/same.txt; truncate -s 0 data/ro.txt; chmod 000 data/same2.txt"], check=True)
os.replace("data/other.txt", "data/renamed-over.txt")  # rename over a file
os.remove("data/gone.txt")            # delete
changed = open(p).read()
'''


def step_in_overlay(snaps, snap_id: str, work) -> None:
    """What a run's kernel does: the snapshot's tree under the run's folder, in a forked process
    (single-threaded, as a fork server's child is) that mounts the overlay, then the step's code."""
    from jupyter_kf.kernels.zygote import enter_overlay
    from jupyter_kf.snapshots.tree import build_tree, overlay_spec

    tree = build_tree(snaps, snap_id)
    work.mkdir(parents=True)
    (work.parent / "ovl").mkdir()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            enter_overlay(overlay_spec(tree, work, work.parent / "ovl"))
            os.chdir(work)
            exec(compile(TAMPER, "step", "exec"), {})
            code = 0
        except BaseException:
            import traceback

            (work.parent / "step-error.txt").write_text(traceback.format_exc())
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    error = work.parent / "step-error.txt"
    assert os.waitstatus_to_exitcode(status) == 0, error.read_text() if error.exists() else ""


def tamper_folder(folder) -> dict[str, bytes]:
    data = folder / "data"
    data.mkdir(parents=True)
    files = {
        "in.txt": b"original input",
        "ro.txt": b"read only",
        "same.txt": b"identical",
        "same2.txt": b"identical",  # same content: one object for both
        "other.txt": b"other",
        "renamed-over.txt": b"renamed over",
        "gone.txt": b"deleted by the step",
    }
    for name, content in files.items():
        (data / name).write_bytes(content)
    os.chmod(data / "ro.txt", 0o444)
    return files


def assert_snapshot_intact(store_dir, snapshot_id: str, files: dict[str, bytes]) -> None:
    import hashlib

    from jupyter_kf.snapshots import SnapshotStore

    snaps = SnapshotStore(store_dir)
    entries = snaps.show(snapshot_id).entries
    for digest, path in snaps.objects.all():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path
    for name, content in files.items():
        e = entries[f"data/{name}"]
        obj = snaps.objects.path(e["hash"])
        assert obj.read_bytes() == content
        # as stored (read-only), or as its snapshot entry (an overlay's tree links it so): no chmod got through
        assert os.stat(obj).st_mode & 0o7777 in (0o444 & e["mode"] | 0o400, e["mode"]), name


def test_a_step_that_changes_its_inputs_every_way_leaves_the_snapshot_intact(
    materialize, service, make_notebook, nb_dir
):
    make_notebook([(TAMPER, ["step:tamper"]), ("changed", ["pipeline-metrics"])], "tamper.ipynb", nb_dir)
    files = tamper_folder(nb_dir)
    run = service.run(RunRequest(notebook="tamper.ipynb"))
    assert run.status == RunStatus.succeeded, run.error
    assert run.metrics == {"changed": "Wshell\n"}
    record = json.loads((service.store_of(run.id).run_path(run.id) / "materialized.json").read_text())
    assert record["method"] == materialize or (materialize == "copy" and record["method"] == "reflink")
    work = service.store_of(run.id).work_dir(run.id)
    assert (work / "data" / "renamed-over.txt").read_bytes() == b"other"
    assert_snapshot_intact(service.store_of(run.id).path, run.snapshot, files)
    assert {n: (nb_dir / "data" / n).read_bytes() for n in files} == files  # live folder untouched
    # A second run from the same snapshot sees the original inputs.
    again = service.run(RunRequest(notebook="tamper.ipynb", cache=False))
    assert again.snapshot == run.snapshot and again.metrics == {"changed": "Wshell\n"}


@pytest.mark.parametrize("way", ["copy", "overlay"])
def test_the_snapshot_stays_intact_when_an_unprivileged_user_changes_its_inputs(way, tmp_path):
    """As an ordinary user who owns the whole store (objects included), a run folder is changed
    every way; the objects keep their hashes. The user is created here; the work happens in a
    child process that dropped root (this interpreter lives where the new user may not exec it,
    so the child runs the real snapshot code and the step's code directly, not in a kernel)."""
    import concurrent.futures.thread  # noqa: F401  (imported before the fork: the child cannot read /root)
    import pwd
    import shutil
    import subprocess
    import tempfile

    import pytest

    from jupyter_kf.snapshots import SnapshotStore

    if os.geteuid() != 0:
        pytest.skip("creating a user to run as needs root (as an ordinary user the test above covers it)")
    if way == "overlay" and overlay_expected():
        pytest.skip(f"{overlay_expected()}: runs copy their inputs here")
    user = "kf-volume-test"
    try:
        pwd.getpwnam(user)
    except KeyError:
        made = subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", user], capture_output=True)
        if made.returncode not in (0, 9):  # 9: it exists (made meanwhile)
            pytest.skip(f"useradd failed: {made.stderr.decode().strip()}")
    pw = pwd.getpwnam(user)
    home = Path(tempfile.mkdtemp(prefix="kf-user-"))  # pytest's own folders are private to root
    os.chown(home, pw.pw_uid, pw.pw_gid)
    try:
        pid = os.fork()
        if pid == 0:  # the child: become the user, snapshot, materialize, tamper
            code = 1
            try:
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
                import ctypes

                ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: setuid cleared it; a user's own process has it
                folder = home / "project"
                files = tamper_folder(folder)
                snaps = SnapshotStore(home / "kf-runs")
                snap = snaps.create(folder)
                work = home / "run" / "work"
                if way == "copy":
                    snaps.materialize(snap.id, work)
                    os.chdir(work)
                    exec(compile(TAMPER, "step", "exec"), {})
                else:
                    step_in_overlay(snaps, snap.id, work)
                (home / "snapshot-id").write_text(snap.id)
                code = 0
            except BaseException:
                import traceback

                (home / "error.txt").write_text(traceback.format_exc())
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        error = (home / "error.txt").read_text() if (home / "error.txt").exists() else ""
        assert os.waitstatus_to_exitcode(status) == 0, error
        assert os.stat(home / "kf-runs" / ".objects").st_uid == pw.pw_uid  # the user owns the objects
        assert (home / "run" / "work" / "data" / "in.txt").read_text() == "Wshell\n"
        assert_snapshot_intact(home / "kf-runs", (home / "snapshot-id").read_text(), tamper_folder(tmp_path))
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_long_work_reports_progress(settings, service, make_notebook, nb_dir, monkeypatch):
    """The first snapshot and the writing of inputs report progress through the run's handle
    (the CLI draws it: a bar on a terminal, plain lines in a pipe)."""
    import io

    from jupyter_kf.backends.local import LocalRun
    from jupyter_kf.cli._bar import Bar

    settings.materialize = "copy"  # an overlay writes no file: nothing to report
    make_notebook([("n = 1", ["step:one"])], "p.ipynb", nb_dir)
    for i in range(20):
        (nb_dir / f"f{i}.bin").write_bytes(os.urandom(10_000))
    seen: list = []
    original = LocalRun._report

    def record(self, p):
        original(self, p)
        seen.append((p.phase, self.activity))

    monkeypatch.setattr(LocalRun, "_report", record)
    run = service.run(RunRequest(notebook="p.ipynb"))
    assert run.status == RunStatus.succeeded, run.error
    assert {phase for phase, _ in seen} == {"scan", "hash", "materialize"}
    assert any(a and a[0] == "snapshot" and a[2] == 21 for _, a in seen)  # 20 files and the notebook
    assert seen[-1] == ("materialize", None)  # cleared when the files are written

    pipe = io.StringIO()
    bar = Bar(pipe, tty=False, every=0)
    bar("writing inputs", 3, 21, (3000, 21000))
    bar("writing inputs", 21, 21, (21000, 21000))
    assert pipe.getvalue().splitlines() == ["writing inputs: 3/21, 2.9 KB/20.5 KB", "writing inputs: 21/21, 20.5 KB/20.5 KB"]
    term = io.StringIO()
    bar = Bar(term, tty=True, every=0)
    bar("gc", 5, 10)
    bar.close()
    assert "\rgc: [############............] 5/10" in term.getvalue() and term.getvalue().endswith("\r")
