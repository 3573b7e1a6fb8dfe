"""A scheduler process for the multi-process tests: `python scheduler_proc.py FOLDER MODE TIME...`.

MODE `tick`: for each TIME (ISO, UTC) set the clock there and tick three times, then wait for the
runs this process started and print them as JSON. MODE `claim`: claim the due times up to the
first TIME (as a scheduler does) and exit at once without starting anything, as if killed.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

from jupyter_kf.schedules import Scheduler, ScheduleService
from jupyter_kf.schedules.engine import decide
from jupyter_kf.service import PipelineService


def main() -> None:
    folder, mode, *times = sys.argv[1:]
    clock_now = [datetime.fromisoformat(times[0])]
    service = PipelineService(Path(folder))
    schedules = ScheduleService(service, clock=lambda: clock_now[0])
    if mode == "claim":
        for p in schedules.store_paths():
            store = schedules.store(p)
            for s in store.list():
                store.advance(s.id, decide(s, clock_now[0], timedelta(minutes=2)))
        os._exit(0)
    sched = Scheduler(schedules)
    started = []
    for t in times:
        clock_now[0] = datetime.fromisoformat(t)
        for _ in range(3):
            started += [f.run for _, f in sched.tick() if f.state == "started"]
    for run_id in started:
        service.wait(run_id, 120)
    print(json.dumps({"pid": os.getpid(), "runs": started}))
    service.close()


if __name__ == "__main__":
    main()
