"""Settings for application processes started by fault tests: production settings, except that
beat runs its sweeps every FAULT_BEAT_SECONDS instead of every minute, so recovery after an
outage is observable within a test's time budget. Nothing else differs."""

import os

from hotline.settings import *  # noqa: F403
from hotline.settings import CELERY_BEAT_SCHEDULE

_EVERY = float(os.environ.get("FAULT_BEAT_SECONDS", "2"))

CELERY_BEAT_SCHEDULE = {
    name: {**entry, "schedule": _EVERY, "options": {**entry.get("options", {}), "expires": _EVERY * 5}}
    for name, entry in CELERY_BEAT_SCHEDULE.items()
}
