"""A sweep of 80 trials (4 model families x 20 settings) against what users do without us.

    python bench/sweep.py [--parallel 2] [--papermill-trials 8] [--keep DIR]

Builds a notebook load -> prepare -> train(model family + its hyperparameters) -> evaluate on
scikit-learn's bundled digits data, then measures, side by side in one run:

- floor: a plain loop of the same 80 trainings (and evaluations) in one Python process, after
  loading and preparing the data once;
- ours: `jupyter kf sweep NB -p model=... -p setting=0:19 --algorithm grid` as a whole process
  (load and prepare run once for the sweep; each trial runs train and evaluate in fresh kernels);
- papermill: the whole notebook executed once per trial with papermill (what users do without
  us). It runs for `--papermill-trials` trials (default 8, two per family) and is extrapolated
  to 80, which the output says.

Prints wall and CPU seconds, the ratios to the floor, the machine's load average before and after
(the machine may be shared: under load the wall clock measures the neighbours too), and whether
the targets hold: ours <= 30 s wall and <= 1.5x the floor. Exit status 1 if a phase fails, a
trial's accuracy differs from the floor's, or a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

TARGET_WALL = 30.0
TARGET_RATIO = 1.5
FAMILIES = ["logreg", "svm", "forest", "knn"]
SETTINGS = 20

IMPORTS = "import numpy as np"
PARAMETERS = "model = 'logreg'\nsetting = 0"
LOAD = "from sklearn.datasets import load_digits\nX, y = load_digits(return_X_y=True)"
PREPARE = (
    "from sklearn.model_selection import train_test_split\n"
    "from sklearn.preprocessing import StandardScaler\n"
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)\n"
    "scaler = StandardScaler().fit(X_train)\n"
    "X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)"
)
TRAIN = (
    "def make_model(model, setting):\n"
    "    strength = 10 ** (setting / 5 - 2)  # 0.01 .. ~63\n"
    "    if model == 'logreg':\n"
    "        from sklearn.linear_model import LogisticRegression\n"
    "        return LogisticRegression(C=strength, max_iter=300)\n"
    "    if model == 'svm':\n"
    "        from sklearn.svm import SVC\n"
    "        return SVC(C=strength)\n"
    "    if model == 'forest':\n"
    "        from sklearn.ensemble import RandomForestClassifier\n"
    "        return RandomForestClassifier(n_estimators=10 + 5 * setting, random_state=0)\n"
    "    from sklearn.neighbors import KNeighborsClassifier\n"
    "    return KNeighborsClassifier(n_neighbors=1 + setting)\n"
    "\n"
    "fitted = make_model(model, setting).fit(X_train, y_train)"
)
EVALUATE = "accuracy = float((fitted.predict(X_test) == y_test).mean())"


def notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for source, tags in [
        (IMPORTS, ["imports"]),
        (PARAMETERS, ["pipeline-parameters", "parameters"]),  # `parameters`: papermill's own tag
        (LOAD, ["step:load"]),
        (PREPARE, ["step:prepare"]),
        (TRAIN, ["step:train"]),
        (EVALUATE, ["step:evaluate"]),
        ("accuracy", ["pipeline-metrics"]),
    ]:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    return nb


def trials() -> list[dict]:
    return [{"model": m, "setting": s} for m in FAMILIES for s in range(SETTINGS)]


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def floor() -> tuple[float, float, dict]:
    """The 80 trainings in one fresh Python process (imports and data loading included), with
    the libraries' default threading, as a user's own loop would run."""
    code = "\n".join([
        "import time, json; t0 = time.perf_counter()",
        IMPORTS, LOAD, PREPARE, TRAIN.replace("fitted = make_model(model, setting).fit(X_train, y_train)", ""),
        "scores = {}",
        f"for p in {trials()!r}:",
        "    fitted = make_model(p['model'], p['setting']).fit(X_train, y_train)",
        "    scores[f\"{p['model']}-{p['setting']}\"] = float((fitted.predict(X_test) == y_test).mean())",
        "print(json.dumps(scores))",
    ])
    c0, t0 = children_cpu(), time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, children_cpu() - c0, json.loads(out.stdout)


def ours(folder: Path, parallel: int) -> tuple[float, float, dict]:
    kf = str(Path(sys.executable).with_name("jupyter-kf"))
    args = [kf, "sweep", "bench.ipynb", "-p", f"model={','.join(FAMILIES)}", "-p", f"setting=0:{SETTINGS - 1}",
            "--objective", "accuracy:max", "--algorithm", "grid", "--parallel", str(parallel), "--json"]
    env = {**os.environ, "JUPYTER_KF_REGISTRY": str(folder / "kf-stores.json")}
    c0, t0 = children_cpu(), time.perf_counter()
    out = subprocess.run(args, cwd=folder, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"the sweep failed ({out.returncode}):\n{out.stderr[-3000:]}")
    sweep = json.loads(out.stdout)
    for t in sweep["trials"]:
        if t["status"] != "succeeded":
            print(f"trial {t['number']} {t['status']}: {t['parameters']}: {t['error']}", file=sys.stderr)
    scores = {f"{t['parameters']['model']}-{t['parameters']['setting']}": t["value"] for t in sweep["trials"]}
    return wall, children_cpu() - c0, scores


def papermill_loop(folder: Path, n: int) -> tuple[float, float, int]:
    """The whole notebook once per trial with papermill, for ``n`` trials spread over the families."""
    import papermill as pm

    picked = [p for i, p in enumerate(trials()) if i % SETTINGS < n // len(FAMILIES)] if n < 80 else trials()
    c0, t0 = children_cpu(), time.perf_counter()
    for i, p in enumerate(picked):
        pm.execute_notebook(
            str(folder / "bench.ipynb"), str(folder / f"pm-{i}.ipynb"), parameters=p, kernel_name="python3",
            progress_bar=False, cwd=str(folder),
        )
    return time.perf_counter() - t0, children_cpu() - c0, len(picked)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parallel", type=int, default=os.cpu_count() or 2, help="trials at once (default: cores)")
    ap.add_argument("--papermill-trials", type=int, default=8, help="papermill trials actually run (80: all)")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    args = ap.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="kf-bench-sweep-"))
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook(), folder / "bench.ipynb")
    load_before = os.getloadavg()
    print(f"cores: {os.cpu_count()}, load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")

    f_wall, f_cpu, f_scores = floor()
    o_wall, o_cpu, o_scores = ours(folder, args.parallel)
    p_wall, p_cpu, p_n = papermill_loop(folder, args.papermill_trials)
    p_scale = 80 / p_n
    load_after = os.getloadavg()

    same = sum(o_scores.get(k) is not None and abs(o_scores[k] - v) < 1e-9 for k, v in f_scores.items())
    rows = [
        ("floor: plain loop, one process", f_wall, f_cpu, ""),
        (f"jupyter kf sweep (--parallel {args.parallel})", o_wall, o_cpu, ""),
        (f"papermill, whole notebook per trial", p_wall * p_scale, p_cpu * p_scale,
         f"(ran {p_n} trials: {p_wall:.1f} s, x{p_scale:g})" if p_n < 80 else ""),
    ]
    print(f"\n80 trials (4 families x {SETTINGS} settings) on digits")
    print(f"{'':<40}{'wall s':>9}{'cpu s':>9}{'x floor':>9}")
    for name, wall, cpu, note in rows:
        print(f"{name:<40}{wall:>9.1f}{cpu:>9.1f}{wall / f_wall:>9.2f}  {note}")
    print(f"same accuracy as the floor in {same}/80 trials")
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    ok_wall, ok_ratio = o_wall <= TARGET_WALL, o_wall <= TARGET_RATIO * f_wall
    print(f"target <= {TARGET_WALL:g} s wall: {'met' if ok_wall else 'MISSED'}; "
          f"<= {TARGET_RATIO:g}x the floor: {'met' if ok_ratio else 'MISSED'} ({o_wall / f_wall:.2f}x)")
    return 0 if same == 80 and ok_wall and ok_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
