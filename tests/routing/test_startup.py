"""Process warm-up must not leave a database connection for forked workers to share."""

from __future__ import annotations

import pytest
from django.db import connections

from routing.services import active_model
from routing.startup import warm_up


@pytest.mark.django_db(transaction=True)
def test_warm_up_reads_the_database_and_closes_its_connection():
    active_model.invalidate()
    try:
        connections["default"].ensure_connection()
        assert connections["default"].connection is not None
        warm_up()
        assert active_model.error  # it did ask the database (no model is active here)
        assert connections["default"].connection is None
    finally:
        active_model.invalidate()
