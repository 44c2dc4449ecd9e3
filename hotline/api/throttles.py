"""Rate limits that fail open when the cache (Redis) is unreachable.

A Redis outage must not lock everyone out of the API: the limit is a second line of defence, and
repeated failed logins are still stopped by django-axes, which counts them in the database.
"""

from __future__ import annotations

import logging

from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger(__name__)


class FailOpenScopedRateThrottle(ScopedRateThrottle):
    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache is down: let the request through, as the rating page does
            logger.warning("rate limit skipped: cache unavailable", exc_info=True)
            return True
