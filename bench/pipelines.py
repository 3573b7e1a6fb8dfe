"""Local pipeline runs against running the same notebook top to bottom in one kernel.

Workloads (notebooks built here, nothing downloaded):

- ``chain20``: 20 trivial steps, each using the previous one's value;
- ``wide8``: one trivial step, eight independent ``time.sleep(1)`` steps using it, one join;
- ``diamond``: a -> (b, c) -> d, each step ``time.sleep(1)``.

For each, in the same run: (1) the baseline, the notebook executed top to bottom by papermill
in one kernel (a whole ``python`` process calling ``papermill.execute_notebook``); (2) a whole
``jupyter kf run`` process on a fresh store; (3) ``jupyter kf run`` again with nothing changed
(every step cached). Prints seconds, ratios and the targets from issue 3.

Usage: ``python bench/pipelines.py [--repeat N] [--only NAME ...] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

TARGETS = {"diamond": 3.6, "wide8": 3.8, "chain20": 4.0}
RERUN_TARGET = 1.0
KF = [str(Path(sys.executable).with_name("jupyter-kf"))]  # the console script of `jupyter kf`
# The baseline gets the same treatment of the slow optional import as `jupyter kf run` (see
# jupyter_kf/cli/run.py): rfc3987_syntax costs ~1.5 s at `import nbformat` in this environment.
BASELINE = (
    "import sys; sys.modules['rfc3987_syntax'] = None\n"
    "import papermill\n"
    "papermill.execute_notebook(sys.argv[1], sys.argv[2], kernel_name='python3', progress_bar=False)\n"
)


def _nb(cells: list[tuple[str, list[str]]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for source, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    return nb


def chain20() -> nbformat.NotebookNode:
    cells = [("v0 = 0", ["step:s0"])]
    cells += [(f"v{i} = v{i - 1} + 1", [f"step:s{i}"]) for i in range(1, 20)]
    return _nb(cells)


def wide8() -> nbformat.NotebookNode:
    cells = [("import time", ["imports"]), ("base = 1", ["step:start"])]
    cells += [(f"time.sleep(1)\nw{i} = base + {i}", [f"step:w{i}"]) for i in range(8)]
    cells.append(("total = " + " + ".join(f"w{i}" for i in range(8)), ["step:join"]))
    return _nb(cells)


def diamond() -> nbformat.NotebookNode:
    return _nb(
        [
            ("import time", ["imports"]),
            ("time.sleep(1)\na = 1", ["step:a"]),
            ("time.sleep(1)\nb = a + 1", ["step:b"]),
            ("time.sleep(1)\nc = a + 2", ["step:c"]),
            ("time.sleep(1)\nd = b + c", ["step:d"]),
        ]
    )


WORKLOADS = {"chain20": chain20, "wide8": wide8, "diamond": diamond}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall s, CPU s of the process and everything it started, kernels included)."""
    cpu, t = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed, _children_cpu() - cpu


def bench(name: str, root: Path) -> dict[str, float]:
    folder = root / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    nbformat.write(WORKLOADS[name](), folder / f"{name}.ipynb")
    out = root / f"{name}-baseline.ipynb"  # outside the folder: the snapshot must not see it
    baseline, baseline_cpu = timed(
        [sys.executable, "-c", BASELINE, str(folder / f"{name}.ipynb"), str(out)], folder
    )
    first, first_cpu = timed([*KF, "run", f"{name}.ipynb"], folder)
    rerun, rerun_cpu = timed([*KF, "run", f"{name}.ipynb"], folder)
    return {
        "baseline": baseline,
        "first": first,
        "rerun": rerun,
        "baseline_cpu": baseline_cpu,
        "first_cpu": first_cpu,
        "rerun_cpu": rerun_cpu,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs per workload; the median is shown")
    ap.add_argument("--only", nargs="*", choices=list(WORKLOADS), help="workloads to run")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temp folder)")
    args = ap.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="kf-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    names = args.only or ["diamond", "wide8", "chain20"]
    print(f"cpus {os.cpu_count()}  load average before {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    try:
        for name in names:
            runs = [bench(name, root) for _ in range(args.repeat)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            rows.append((name, med))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"load average after  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    head = (
        f"{'workload':<9} {'papermill 1 kernel':>19} {'kf run':>8} {'ratio':>6} {'target':>7}"
        f"   {'kf rerun (cached)':>17} {'target':>7}   {'CPU s: papermill / run / rerun':>30}"
    )
    print(head)
    print("-" * len(head))
    ok = True
    for name, m in rows:
        hit = m["first"] <= TARGETS[name] and m["rerun"] <= RERUN_TARGET
        ok &= hit
        print(
            f"{name:<9} {m['baseline']:>18.2f}s {m['first']:>7.2f}s"
            f" {m['baseline'] / m['first']:>5.2f}x {TARGETS[name]:>6.1f}s"
            f"   {m['rerun']:>16.2f}s {RERUN_TARGET:>6.1f}s   "
            f"{m['baseline_cpu']:>9.2f} / {m['first_cpu']:.2f} / {m['rerun_cpu']:.2f}"
            f"  {'ok' if hit else 'MISSED'}"
        )
    print("ratio = papermill top-to-bottom wall time / jupyter kf run wall time (higher is better)")
    print("CPU = user+sys of the whole process tree (kernels included): on a shared machine the wall")
    print("clock also measures the neighbours; compare the load averages above.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
