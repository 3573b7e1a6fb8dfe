"""What a run costs beside a big data folder (issue 13), side by side for several folder sizes.

For each size (default 1 GB and 5 GB, files of 2 MB, generated here: each file distinct), a
two-step notebook sits beside ``data/``; every figure is a whole ``jupyter kf run`` process:

- ``cp -r`` of the data folder (the baseline a copy per run would cost);
- the first run on a fresh store (it takes the first snapshot: every byte read and stored once);
- an unchanged run with ``--no-cache`` (steps run: the inputs are written into the run's folder);
- a fully cached run (no step runs: no input is written);
- the same two uncached runs beside an empty folder, so the overhead of the data is their difference;
- the size of ``kf-runs/`` after the three runs (objects once + what each run kept) and the
  largest finished run folder.

Then a 1 GB numpy value saved by the step runtime (hash included) and loaded back.
Generated data is removed at the end (``--keep`` leaves it). Exit status 1 when a target is missed.

Usage: ``python bench/volume.py [--sizes 1,5] [--file-mb 2] [--dir DIR] [--keep] [--skip-values]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

KF = [str(Path(sys.executable).with_name("jupyter-kf"))]
CACHED_TARGET = 0.3  # s, fully cached run at the largest size
OVERHEAD_TARGET = 0.5  # s, uncached run over the same pipeline beside an empty folder
RUN_SLACK = 1 << 20  # a finished run may hold what it wrote + 1 MB
VALUE_TARGET = 1.0  # GB/s, save (hash included) and load of a 1 GB numpy value


def notebook(folder: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for source, tags in (
        ("import os", ["imports"]),
        ("n = len(os.listdir('.'))", ["step:look"]),
        ("m = n + 1", ["step:count"]),
        ("m", ["pipeline-metrics"]),
    ):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "vol.ipynb")


def generate(folder: Path, gb: float, file_mb: int) -> int:
    """``gb`` of distinct files of ``file_mb`` MB under ``folder/data``; returns the file count."""
    block = os.urandom(file_mb << 20)
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    n = max(1, int(gb * 1024 / file_mb))
    for i in range(n):
        with open(data / f"part-{i:05d}.bin", "wb") as f:
            f.write(i.to_bytes(8, "little"))  # each file distinct: no deduplication helps
            f.write(memoryview(block)[8:])
    return n


def disk_usage(path: Path) -> int:
    """Bytes of disk used under ``path`` (blocks; each inode once)."""
    seen: set[int] = set()
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            st = os.lstat(os.path.join(d, f))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_blocks * 512
    return total


def timed(cmd: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stderr[-3000:]}")
    return dt


def kf_run(folder: Path, *extra: str) -> float:
    return timed([*KF, "run", "vol.ipynb", *extra], folder)


def measure(base: Path, gb: float, file_mb: int) -> dict[str, float]:
    folder = base / f"{gb:g}gb"
    notebook(folder)
    t = time.perf_counter()
    n = generate(folder, gb, file_mb)
    print(f"  {gb:g} GB: generated {n} files in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    out: dict[str, float] = {}
    out["cp -r"] = timed(["cp", "-r", "data", str(base / "copy")], folder)
    shutil.rmtree(base / "copy")
    out["first run"] = kf_run(folder)
    out["unchanged, --no-cache"] = kf_run(folder, "--no-cache")
    out["fully cached"] = kf_run(folder)
    store = folder / "kf-runs"
    out["kf-runs/ after 3 runs"] = disk_usage(store)
    runs = [p for p in store.iterdir() if p.is_dir() and not p.name.startswith(".")]
    out["largest run folder"] = max(disk_usage(p) for p in runs)
    empty = base / f"empty-{gb:g}"
    notebook(empty)
    kf_run(empty)
    out["empty folder, --no-cache"] = kf_run(empty, "--no-cache")
    out["overhead of the data"] = out["unchanged, --no-cache"] - out["empty folder, --no-cache"]
    shutil.rmtree(folder)
    shutil.rmtree(empty)
    return out


def value_speed(base: Path) -> tuple[float, float]:
    """GB/s of saving (hash included) and loading a 1 GB float64 array with the step runtime."""
    import numpy as np
    from jupyter_kf_converter.runtime import StepValues

    arr = np.random.default_rng(0).random(1 << 27)  # 1 GiB
    values = base / "kf-values"
    t = time.perf_counter()
    producer = StepValues(values, step="a")
    producer.save("arr", arr, consumers=["b"])
    producer.finish()  # the manifest: the value is there for the next step
    save = time.perf_counter() - t
    t = time.perf_counter()
    back = StepValues(values, step="b").load("arr", producer="a")
    float(back[:: 1 << 16].sum())  # touch it
    load = time.perf_counter() - t
    shutil.rmtree(values)
    return arr.nbytes / save / 1e9, arr.nbytes / load / 1e9


def fmt(name: str, v: float) -> str:
    if name.startswith(("kf-runs", "largest")):
        return f"{v / 2**30:.2f} GB" if v >= 2**30 else f"{v / 2**20:.1f} MB"
    return f"{v:.2f} s"


def print_table(sizes: list[float], results: dict[float, dict[str, float]]) -> None:
    names = list(next(iter(results.values())))
    head = ["", *(f"{gb:g} GB" for gb in sizes)]
    rows = [[n, *(fmt(n, results[gb][n]) for gb in sizes)] for n in names]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,5", help="folder sizes in GB, comma-separated (default 1,5)")
    ap.add_argument("--file-mb", type=int, default=2, help="size of each generated file in MB")
    ap.add_argument("--dir", help="where to generate (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated folders")
    ap.add_argument("--skip-values", action="store_true", help="skip the numpy value measurement")
    args = ap.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    base = Path(tempfile.mkdtemp(prefix="kf-volume-", dir=args.dir))
    print(f"load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    results: dict[float, dict[str, float]] = {}
    try:
        for gb in sizes:
            results[gb] = measure(base, gb, args.file_mb)
        print_table(sizes, results)
        speeds = None if args.skip_values else value_speed(base)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    big = results[max(sizes)]
    missed = []
    if big["fully cached"] > CACHED_TARGET:
        missed.append(f"fully cached run {big['fully cached']:.2f} s > {CACHED_TARGET} s")
    if big["overhead of the data"] > OVERHEAD_TARGET:
        missed.append(f"overhead of the data {big['overhead of the data']:.2f} s > {OVERHEAD_TARGET} s")
    if speeds is not None:
        print(f"1 GB numpy value: save {speeds[0]:.2f} GB/s (hash included), load {speeds[1]:.2f} GB/s")
        missed += [f"value {what} {v:.2f} GB/s < {VALUE_TARGET}" for what, v in zip(("save", "load"), speeds)
                   if v < VALUE_TARGET]
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for m in missed:
        print(f"target missed: {m}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
