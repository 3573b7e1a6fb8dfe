"""Loading a run's values back (`%kf_load`) and rerunning a run (`jupyter kf rerun`).

In one temporary folder: a two-step pipeline whose first step makes a float64 array of
``--size-gb`` GB and whose second step uses it. Then, in the same run:

1. ``%kf_load RUN use arr`` through the real magic (an in-process IPython shell): seconds and GB/s
   (memory-mapped: the pages are read when touched), then ``arr.sum()`` over the loaded array
   (GB/s reading it through the map), against the baseline ``np.load`` without mmap of the same
   file (a full read);
2. ``jupyter kf rerun RUN --no-cache`` (every step executed again from the run's snapshot) and
   ``jupyter kf rerun RUN`` (cached), as whole processes, against the original ``jupyter kf run``.

Target (issue 15): ``%kf_load`` of 1 GB at >= 1 GB/s. Exit status 1 when missed.

Usage: ``python bench/reproduce.py [--size-gb 1] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import nbformat

LOAD_TARGET_GBS = 1.0
KF = [str(Path(sys.executable).with_name("jupyter-kf"))]


def notebook(n: int) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for source, tags in [
        ("import numpy as np", ["imports"]),
        (f"arr = np.arange({n}, dtype=np.float64)", ["step:make"]),
        ("head = float(arr[:1000].sum())", ["step:use"]),
    ]:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    return nb


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    t = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr}")
    return took, res.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-gb", type=float, default=1.0)
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    args = ap.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="kf-bench-reproduce-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "JUPYTER_KF_REGISTRY": str(root / "kf-stores.json")}
    os.environ["JUPYTER_KF_REGISTRY"] = env["JUPYTER_KF_REGISTRY"]
    n = int(args.size_gb * 1e9) // 8
    here = Path.cwd()
    nbformat.write(notebook(n), root / "big.ipynb")
    try:
        original, out = timed([*KF, "run", "big.ipynb", "--json"], root, env)
        import json

        run_id = json.loads(out)["id"]

        from IPython.core.interactiveshell import InteractiveShell

        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "jupyter_kf")
        os.chdir(root)
        t = time.perf_counter()
        with redirect_stdout(io.StringIO()) as printed:
            shell.run_line_magic("kf_load", f"{run_id} use arr")
        load_s = time.perf_counter() - t
        arr = shell.user_ns["arr"]
        nbytes = arr.nbytes
        t = time.perf_counter()
        total = float(arr.sum())
        touch_s = time.perf_counter() - t
        assert total == n * (n - 1) / 2, "the loaded array is not the one the step made"

        import numpy as np

        from jupyter_kf.service import PipelineService

        svc = PipelineService(root)
        path = svc.store_of(run_id).values_dir(run_id, "make") / "arr.npy"
        svc.close()
        t = time.perf_counter()
        np.load(path, mmap_mode=None).sum()
        full_s = time.perf_counter() - t

        rerun, _ = timed([*KF, "rerun", run_id, "--no-cache"], root, env)
        cached, _ = timed([*KF, "rerun", run_id], root, env)
    finally:
        os.chdir(here)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    gb = nbytes / 1e9
    load_gbs = gb / load_s
    print(f"array: {gb:.2f} GB float64; load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    print(printed.getvalue().rstrip())
    print(f"%kf_load (memory-mapped)      {load_s * 1000:9.1f} ms  {load_gbs:9.1f} GB/s   target >= {LOAD_TARGET_GBS} GB/s")
    print(f"  then arr.sum() via the map  {touch_s * 1000:9.1f} ms  {gb / touch_s:9.1f} GB/s")
    print(f"baseline np.load + sum (read) {full_s * 1000:9.1f} ms  {gb / full_s:9.1f} GB/s")
    print(f"original `jupyter kf run`     {original:9.2f} s")
    print(f"`jupyter kf rerun --no-cache` {rerun:9.2f} s   ({rerun / original:.2f}x the original)")
    print(f"`jupyter kf rerun` (cached)   {cached:9.2f} s   ({cached / original:.2f}x the original)")
    return 0 if load_gbs >= LOAD_TARGET_GBS else 1


if __name__ == "__main__":
    sys.exit(main())
