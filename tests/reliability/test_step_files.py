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
