"""`%kf_schedule` in a real kernel: create, list, pause, resume, delete, and bad input."""

from __future__ import annotations

import re

PIPE = [("n = 3", ["pipeline-parameters"]), ("total = n * 2", ["step:only"])]


def test_kf_schedule(kernel, tmp_path, make_notebook):
    make_notebook(PIPE, name="pipe.ipynb", folder=tmp_path / "work")
    assert kernel.execute("%load_ext jupyter_kf").status == "ok"
    empty = kernel.execute("%kf_schedule --notebook pipe.ipynb")
    assert "pipe.ipynb has no schedules" in "".join(empty.texts())
    made = kernel.execute('%kf_schedule "0 3 * * *" --tz Europe/Berlin -p n=5 --overlap queue --notebook pipe.ipynb')
    assert made.status == "ok", made.error
    text = "".join(made.texts())
    sid = re.search(r"schedule (sch-[0-9a-f]{8})", text).group(1)
    assert "cron '0 3 * * *' in Europe/Berlin" in text and "overlap: queue" in text and "n=5" in text
    listed = "".join(kernel.execute("%kf_schedule --notebook pipe.ipynb").texts())
    assert sid in listed and "0 3 * * * (Europe/Berlin)" in listed
    paused = "".join(kernel.execute(f"%kf_schedule --pause {sid} --notebook pipe.ipynb").texts())
    assert "(paused)" in paused
    resumed = "".join(kernel.execute(f"%kf_schedule --resume {sid} --notebook pipe.ipynb").texts())
    assert "(active)" in resumed
    gone = kernel.execute(f"%kf_schedule --delete {sid} --notebook pipe.ipynb")
    assert f"deleted schedule {sid}" in "".join(gone.texts())


def test_kf_schedule_bad_input(kernel, tmp_path, make_notebook):
    make_notebook(PIPE, name="pipe.ipynb", folder=tmp_path / "work")
    kernel.execute("%load_ext jupyter_kf")
    for line, words in [
        ('"0 3 * * 8"', "cron: '0 3 * * 8'"),
        ('"0 3 * * *" --tz Moon/Base', "unknown time zone 'Moon/Base'"),
        ('"0 3 * * *" -p nope=1', "unknown parameter 'nope'"),
        ("--every 10s", "interval: Input should be greater than or equal to 60"),
        ("--delete sch-00000000", "no schedule 'sch-00000000'"),
    ]:
        res = kernel.execute(f"%kf_schedule {line} --notebook pipe.ipynb")
        err = "".join(m["content"]["text"] for m in res.of("stream") if m["content"]["name"] == "stderr")
        assert res.status == "error" and err.startswith("UsageError: "), (line, err)
        assert words in err, (line, err)
