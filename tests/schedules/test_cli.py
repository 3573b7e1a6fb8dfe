"""`jupyter kf schedule ...` and `jupyter kf scheduler --once`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jupyter_kf.models import ScheduleRequest

KF = str(Path(sys.executable).with_name("jupyter-kf"))


def _kf(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([KF, *args], cwd=cwd, capture_output=True, text=True, timeout=180, env=os.environ.copy())


def test_schedule_commands(notebook, nb_dir, settings):
    made = _kf(nb_dir, "schedule", "create", "train.ipynb", "--cron", "30 2 * * *", "--tz", "Europe/Berlin",
               "-p", "score=3", "--overlap", "queue", "--json")
    assert made.returncode == 0, made.stderr
    s = json.loads(made.stdout)
    assert (s["cron"], s["timezone"], s["parameters"], s["overlap"]) == ("30 2 * * *", "Europe/Berlin", {"score": 3.0}, "queue")
    assert len(s["next_due"]) == 3
    listed = _kf(nb_dir, "schedule", "list")
    assert s["id"] in listed.stdout and "30 2 * * * (Europe/Berlin)" in listed.stdout and "active" in listed.stdout
    paused = _kf(nb_dir, "schedule", "pause", s["id"])
    assert paused.returncode == 0 and "(paused)" in paused.stdout
    resumed = json.loads(_kf(nb_dir, "schedule", "resume", s["id"], "--json").stdout)
    assert resumed["paused"] is False and resumed["next_due"]
    edited = json.loads(_kf(nb_dir, "schedule", "edit", s["id"], "--every", "2h", "--json").stdout)
    assert (edited["cron"], edited["interval"]) == (None, 7200)
    shown = _kf(nb_dir, "schedule", "show", s["id"])
    assert "every 2h" in shown.stdout and "score=3.0" in shown.stdout
    assert _kf(nb_dir, "schedule", "delete", s["id"]).returncode == 0
    gone = _kf(nb_dir, "schedule", "show", s["id"])
    assert gone.returncode == 1 and f"no schedule '{s['id']}'" in gone.stderr


def test_bad_schedules_are_refused_with_the_reason(notebook, nb_dir, settings):
    cases = {
        ("--cron", "0 25 * * *"): "cron: '0 25 * * *': Bad hour",
        ("--cron", "0 3 * * *", "--tz", "Europe/Atlantis"): "unknown time zone 'Europe/Atlantis'",
        ("--every", "soon"): "--every 'soon'",
        ("--cron", "0 3 * * *", "-p", "nope=1"): "unknown parameter 'nope'",
        (): "exactly one of `cron`",
    }
    for args, words in cases.items():
        r = _kf(nb_dir, "schedule", "create", "train.ipynb", *args)
        assert r.returncode == 2 and words in r.stderr, (args, r.stderr)
    missing = _kf(nb_dir, "schedule", "create", "missing.ipynb", "--cron", "0 3 * * *")
    assert missing.returncode == 1 and "notebook not found: missing.ipynb" in missing.stderr
    assert "no schedules" in _kf(nb_dir, "schedule", "list").stderr


def test_the_foreground_scheduler_runs_what_is_due(make_scheduler, notebook, nb_dir):
    # Created on the test clock (March 2026): by the real clock its due times have all passed,
    # so the scheduler runs the latest one once (missed policy run_once) and records the rest.
    s = make_scheduler().schedules.create(ScheduleRequest(notebook=str(notebook), interval=86400))
    r = _kf(nb_dir, "scheduler", "--once")
    assert r.returncode == 0, r.stderr
    states = [line.split()[3] for line in r.stdout.splitlines()]
    assert states == ["missed", "started"], r.stdout
    again = _kf(nb_dir, "scheduler", "--once")
    assert again.stdout.strip() == ""  # nothing is due twice
    shown = json.loads(_kf(nb_dir, "schedule", "show", s.id, "--json").stdout)
    assert shown["last"]["state"] == "started" and shown["last"]["run_status"] == "succeeded"
