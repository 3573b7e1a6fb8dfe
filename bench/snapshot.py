"""Benchmark: snapshots of a 2 GB folder of 2,000 files against `cp -r` of the same folder.

    /work/venv/bin/python bench/snapshot.py [--size-gb 2] [--files 2000] [--dir /tmp]

Generates the folder in a temporary directory (unique random-ish content per file, cheap to
make), then times, in this order and in the same run: `cp -r` of the folder (the baseline), the
first snapshot, an unchanged re-snapshot (in-process and as a whole `jupyter kf snapshot create`
process), a re-snapshot after one file changed, and materializing the snapshot into a run
folder. Prints figures and ratios against `cp -r`; target: unchanged re-snapshot <= 0.5 s.
Each timing starts after a `sync`, so none pays for the previous one's write-back.
Everything it wrote is removed at the end. Disk heavy (about 4 x the folder size): run it rarely.
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

from jupyter_kf.snapshots import SnapshotStore

TARGET_UNCHANGED_S = 0.5


def generate(folder: Path, total: int, files: int) -> None:
    """``files`` files of about ``total / files`` bytes each in 20 subfolders, all different."""
    pool = os.urandom(16 << 20)
    per = total // files
    for i in range(files):
        sub = folder / f"part-{i % 20:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        start = (i * 7919 * 4096) % (len(pool) - per)
        with open(sub / f"file-{i:05d}.bin", "wb") as f:
            f.write(f"file {i:010d}\n".encode())  # 16 bytes that make every file unique
            f.write(memoryview(pool)[start : start + per - 16])


def timed(fn) -> tuple[float, object]:
    """Wall time of ``fn()``, started with no dirty pages left over from the previous step."""
    os.sync()
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-gb", type=float, default=2.0)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--dir", default=None, help="where to make the temporary data (default: system temp)")
    args = ap.parse_args()
    total = int(args.size_gb * (1 << 30))
    tmp = Path(tempfile.mkdtemp(prefix="kf-bench-snapshot-", dir=args.dir))
    env = {**os.environ, "JUPYTER_KF_REGISTRY": str(tmp / "kf-stores.json")}  # leave the user's alone
    os.environ.update(env)
    try:
        data = tmp / "project"
        t_gen, _ = timed(lambda: generate(data, total, args.files))
        print(f"generated {args.files} files, {total / 1e9:.2f} GB in {t_gen:.1f} s ({data})")
        t_cp, _ = timed(lambda: subprocess.run(["cp", "-r", str(data), str(tmp / "cp-copy")], check=True))
        shutil.rmtree(tmp / "cp-copy")
        store = SnapshotStore(data / "kf-runs")
        t_first, first = timed(lambda: store.create(data))
        t_same, same = timed(lambda: SnapshotStore(data / "kf-runs").create(data))
        cli = [sys.executable, "-c", "import sys; from jupyter_kf.cli import main; sys.exit(main())",
               "snapshot", "create", "-q", str(data)]
        t_cli, _ = timed(lambda: subprocess.run(cli, check=True, env=env, stdout=subprocess.DEVNULL))
        victim = data / "part-07" / "file-00007.bin"
        with open(victim, "r+b") as f:
            f.seek(100)
            f.write(b"one changed file")
        t_one, one = timed(lambda: SnapshotStore(data / "kf-runs").create(data))
        t_mat, _ = timed(lambda: store.materialize(one.id, tmp / "run" / "work"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert same.id == first.id and same.new_bytes == 0, "unchanged re-snapshot stored bytes"
    assert one.new_bytes == total // args.files, f"one-file re-snapshot stored {one.new_bytes} bytes"

    rows = [
        ("cp -r (baseline)", t_cp, None),
        ("first snapshot", t_first, f"{first.new_bytes / 1e9:.2f} GB stored"),
        ("unchanged re-snapshot", t_same, "0 bytes stored"),
        ("  same, whole CLI process", t_cli, "jupyter kf snapshot create"),
        ("one file changed", t_one, f"{one.new_bytes / 1e6:.2f} MB stored"),
        ("materialize into a run folder", t_mat, "copy_file_range/reflink"),
    ]
    print(f"\n{'':32}{'seconds':>9}{'x cp -r':>10}")
    for name, t, note in rows:
        print(f"{name:32}{t:9.3f}{t / t_cp:10.3f}  {note or ''}")
    verdict = "OK" if t_same <= TARGET_UNCHANGED_S else "MISSED"
    print(f"\ntarget: unchanged re-snapshot <= {TARGET_UNCHANGED_S} s: {t_same:.3f} s {verdict}")
    return 0 if t_same <= TARGET_UNCHANGED_S else 1


if __name__ == "__main__":
    sys.exit(main())
