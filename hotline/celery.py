"""The Celery application: one broker, one schedule (settings.CELERY_BEAT_SCHEDULE)."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")

app = Celery("hotline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _warm_up_worker_process(**kwargs) -> None:
    """Each worker process loads jieba and the routing model once, not on its first task."""
    from routing.startup import warm_up

    warm_up()
