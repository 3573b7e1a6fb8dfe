"""`%kf_sweep` in a real kernel: a sweep with progress and the trials table, bad input, show by id."""

from __future__ import annotations

import re

PIPE = [
    ("n = 1\nmodel = 'a'", ["pipeline-parameters"]),
    ("base = 10", ["step:load"]),
    ("score = base + n * (2 if model == 'b' else 1)", ["step:train"]),
    ("score", ["pipeline-metrics"]),
]


def test_kf_sweep(kernel, tmp_path, make_notebook):
    make_notebook(PIPE, name="pipe.ipynb", folder=tmp_path / "work")
    assert kernel.execute("%load_ext jupyter_kf").status == "ok"
    res = kernel.execute(
        "%kf_sweep -p n=1:3 -p model=a,b --objective score --algorithm grid --parallel 2 --notebook pipe.ipynb"
    )
    assert res.status == "ok", res.error
    text = "".join(res.texts())
    sid = re.search(r"sweep (sw-[0-9a-z-]+): grid, budget 6 trials", text).group(1)
    assert "6/6 trials done; best score: 16" in text  # progress, then the table
    assert re.search(r"\*\d+\s+3\s+b\s+16", text), text  # the best trial marked
    shown = "".join(kernel.execute(f"%kf_sweep {sid} --notebook pipe.ipynb").texts())
    assert "6/6 trials done" in shown


def test_kf_sweep_bad_input(kernel, tmp_path, make_notebook):
    make_notebook(PIPE, name="pipe.ipynb", folder=tmp_path / "work")
    kernel.execute("%load_ext jupyter_kf")
    for line, words in [
        ("-p model=1:3 --objective score --trials 2", "a range needs an int or float parameter"),
        ("-p n=1:3 --objective base --trials 2", "objective 'base' is not a metric"),
        ("--objective score --trials 2", "search space is empty"),
        ("-p n=1:3", "give --objective"),
        ("sw-20990101-000000-abcdef", "no sweep"),
    ]:
        res = kernel.execute(f"%kf_sweep {line} --notebook pipe.ipynb")
        err = "".join(m["content"]["text"] for m in res.of("stream") if m["content"]["name"] == "stderr")
        assert res.status == "error" and err.startswith("UsageError: "), (line, err)
        assert words in err, (line, err)
