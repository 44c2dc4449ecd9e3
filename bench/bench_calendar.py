"""Working-day arithmetic speed (target: ≤ 20 µs per call after warm-up).

Run: make bench  (or .venv/bin/python bench/bench_calendar.py)
"""

from __future__ import annotations

import datetime as dt
import random
import time
from zoneinfo import ZoneInfo

from _setup import django_setup

django_setup(database=False)

from hotline.workcalendar import calendar  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
N = 50_000


def main() -> None:
    rng = random.Random(7)
    starts = [
        dt.datetime(2024, 1, 1, tzinfo=TZ) + dt.timedelta(seconds=rng.randint(0, 3 * 365 * 86400)) for _ in range(N)
    ]
    ends = [s + dt.timedelta(days=rng.uniform(0, 30)) for s in starts]
    calendar.add_working_days(starts[0], 7)  # warm-up: loads the years once
    cases = {
        "add_working_days(7)": lambda i: calendar.add_working_days(starts[i], 7),
        "add_working_days(15)": lambda i: calendar.add_working_days(starts[i], 15),
        "working_seconds_between(≤30 d)": lambda i: calendar.working_seconds_between(starts[i], ends[i]),
        "is_workday": lambda i: calendar.is_workday(starts[i].date()),
    }
    print(f"calendar arithmetic, {N:,} calls each (2024–2026 with holidays and 调休)")
    for name, fn in cases.items():
        t = time.perf_counter()
        for i in range(N):
            fn(i)
        per_call = (time.perf_counter() - t) / N * 1e6
        print(f"  {name:34s} {per_call:6.2f} µs/call   (target ≤ 20 µs)")


if __name__ == "__main__":
    main()
