"""Item 5: steps running at once keep their own files: never one that another step is still
writing (half-written), nor one that another step wrote."""

from __future__ import annotations

import hashlib

from jupyter_kf.models import RunRequest, RunStatus

SLOW_WRITER = """
import hashlib, time
h = hashlib.sha256()
with open('big.bin', 'wb') as f:
    for i in range(30):
        chunk = bytes([i]) * 200_000
        f.write(chunk)
        f.flush()
        h.update(chunk)
        time.sleep(0.1)
digest = h.hexdigest()
"""


def test_concurrent_steps_keep_their_own_complete_files(service, nb_dir, make_notebook):
    make_notebook(
        [
            (SLOW_WRITER, ["step:writer"]),
            ("import time\ntime.sleep(0.8)\nopen('small.txt', 'w').write('mine')", ["step:quick"]),
            ("print(digest)", ["step:check"]),
        ],
        name="p.ipynb", folder=nb_dir,
    )
    run = service.run(RunRequest(notebook="p.ipynb", cache=False, max_parallel=4))
    assert run.status == RunStatus.succeeded, run.error
    files = service.store_of(run.id).run_path(run.id) / "files"
    def kept(step: str) -> set[str]:
        return {p.relative_to(files / step).as_posix() for p in (files / step).rglob("*") if p.is_file()}

    assert kept("quick") == {"small.txt"}  # not the half-written big.bin of the step running beside it
    assert kept("writer") == {"big.bin"}  # not small.txt, which "quick" wrote while "writer" ran
    kept = files / "writer" / "big.bin"
    assert kept.stat().st_size == 30 * 200_000
    expected = hashlib.sha256(b"".join(bytes([i]) * 200_000 for i in range(30))).hexdigest()
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == expected


def test_a_kept_file_is_stored_once_and_not_restored_after_a_later_step_changed_it(
    service, nb_dir, make_notebook
):
    make_notebook(
        [
            ("x = 1\nopen('f.txt', 'w').write('A')\nopen('g.txt', 'w').write('G' * 100_000)", ["step:a"]),
            ("y = x + 1\nopen('f.txt', 'a').write('B')", ["step:b"]),  # writes into a's file in place
            ("print(open('f.txt').read())", ["step:c", "prev:b"]),  # reads b's file
        ],
        name="p.ipynb", folder=nb_dir,
    )
    first = service.run(RunRequest(notebook="p.ipynb"))
    assert first.status == RunStatus.succeeded, first.error
    run_dir = service.store_of(first.id).run_path(first.id)
    kept, work = run_dir / "files" / "a" / "g.txt", run_dir / "work" / "g.txt"
    assert kept.stat().st_ino == work.stat().st_ino  # one copy on disk, not two

    second = service.run(RunRequest(notebook="p.ipynb"))
    assert second.status == RunStatus.succeeded, second.error
    # a's kept f.txt is no longer what a wrote ("AB"): a runs again instead of restoring it.
    assert second.step("a").status.value == "succeeded" and second.step("b").status.value == "cached"
    assert (service.store_of(second.id).run_path(second.id) / "work" / "f.txt").read_text() == "AB"
