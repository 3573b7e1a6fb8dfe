"""Schedules: notebook pipelines run on a cron expression or an interval.

timing.py (when is it due: cronsim + zoneinfo), store.py (schedules and one claim per due time in
the run store's sqlite), service.py (create / list / edit / delete), engine.py (the scheduler loop).
"""

from .engine import Scheduler
from .service import ScheduleConflictError, ScheduleService
from .store import ScheduleStore, UnknownSchedule
from .timing import TimingError

__all__ = ["ScheduleConflictError", "ScheduleService", "ScheduleStore", "Scheduler", "TimingError", "UnknownSchedule"]
