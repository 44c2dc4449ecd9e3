"""Keyword search column and the indexes behind the workbench tabs and the status filters.

Indexes are built CONCURRENTLY (the migration is therefore not atomic): on a live database with a
million tickets a plain CREATE INDEX would block ticket writes for the seconds each one takes.
The new clock index leads with assignment_id, so it replaces the foreign key's own index (dropped
last, once its replacement exists). The column is filled by 0021 (small databases) or by
``manage.py reindex_search``.
"""

import django.contrib.postgres.indexes
import django.db.models.deletion
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

import hotline.search


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("hotline", "0019_month_rollup_fillfactor"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="search_vector",
            field=hotline.search.TicketSearchVectorField(editable=False, null=True, verbose_name="检索词"),
        ),
        AddIndexConcurrently(
            model_name="ticket",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="ticket_search_idx"),
        ),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(fields=["status", "-id"], name="ticket_status_recent_idx"),
        ),
        AddIndexConcurrently(
            model_name="assignment",
            index=models.Index(
                condition=models.Q(("status", "replied"), models.Q(("role", "copy"), _negated=True)),
                fields=["unit", "-replied_at", "-id"],
                name="assignment_unit_replied_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="clock",
            index=models.Index(fields=["assignment", "kind", "-id"], name="clock_assignment_kind_idx"),
        ),
        migrations.AlterField(
            model_name="clock",
            name="assignment",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="clocks",
                to="hotline.assignment",
            ),
        ),
    ]
