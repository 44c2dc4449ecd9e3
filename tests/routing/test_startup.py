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


@pytest.mark.django_db
def test_a_model_artefact_is_read_back_exactly_in_slices(monkeypatch):
    """read_blob reassembles the artefact from slices, across exact and ragged slice boundaries."""
    from routing import services
    from routing.models import ClassifierModel

    payload = bytes(range(256)) * 41 + b"\x00tail"  # 10,501 bytes, NULs and all
    row = ClassifierModel.objects.create(version=99, name="slices", blob=payload)
    for chunk in (1000, 10_501, 4096, 20_000):
        monkeypatch.setattr(services, "BLOB_CHUNK", chunk)
        assert bytes(services.read_blob(row.pk)) == payload
    with pytest.raises(ClassifierModel.DoesNotExist):
        services.read_blob(row.pk + 1000)
