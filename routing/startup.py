"""Process start-up: load what every routed ticket needs before the first one arrives."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger(__name__)


def warm_up() -> None:
    from django.db import DatabaseError, connections

    from routing.segmentation import warm_up as segmentation_warm_up

    started = time.perf_counter()
    segmentation_warm_up()
    try:
        from routing.services import active_model

        active_model.get()
    except DatabaseError as exc:  # not migrated yet, or the database is briefly away: load lazily later
        logger.warning("routing model not preloaded: %s", exc)
    except Exception:  # warm-up is an optimisation; it must never stop a process from starting
        logger.exception("routing warm-up failed; routing will load lazily")
    finally:
        # Reading the model opened a database connection. Under gunicorn --preload this runs in
        # the master, and forked workers would inherit (and share) that socket: close it here, so
        # every process opens its own on its first query.
        connections.close_all()
    logger.info("routing warm-up done in %.2fs", time.perf_counter() - started)
