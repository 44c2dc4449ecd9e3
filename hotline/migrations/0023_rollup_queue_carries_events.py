"""The rollup queue carries a copy of each event's rolled-up columns, filled by the trigger.

Rows already queued get their copy from the trail; the temporary zero defaults exist only for
the ALTER and never survive the migration.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION hotline_rollup_enqueue() RETURNS trigger AS $$
BEGIN
    INSERT INTO hotline_rollupqueue (event_id, ticket_id, unit_id, kind, payload, created_at)
        SELECT id, ticket_id, unit_id, kind, payload, created_at FROM new_events
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
PG_FUNCTION_BEFORE = """
CREATE OR REPLACE FUNCTION hotline_rollup_enqueue() RETURNS trigger AS $$
BEGIN
    INSERT INTO hotline_rollupqueue (event_id) SELECT id FROM new_events ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
SQLITE_TRIGGER = """
CREATE TRIGGER hotline_ticketevent_rollup AFTER INSERT ON hotline_ticketevent
BEGIN
    INSERT OR IGNORE INTO hotline_rollupqueue (event_id, ticket_id, unit_id, kind, payload, created_at)
        VALUES (NEW.id, NEW.ticket_id, NEW.unit_id, NEW.kind, NEW.payload, NEW.created_at);
END;
"""
SQLITE_TRIGGER_BEFORE = """
CREATE TRIGGER hotline_ticketevent_rollup AFTER INSERT ON hotline_ticketevent
BEGIN
    INSERT OR IGNORE INTO hotline_rollupqueue (event_id) VALUES (NEW.id);
END;
"""
BACKFILL = """
UPDATE hotline_rollupqueue SET ticket_id = e.ticket_id, unit_id = e.unit_id, kind = e.kind,
    payload = e.payload, created_at = e.created_at
FROM hotline_ticketevent e WHERE e.id = hotline_rollupqueue.event_id
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS hotline_ticketevent_rollup")
        schema_editor.execute(SQLITE_TRIGGER)
    schema_editor.execute(BACKFILL)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION_BEFORE)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS hotline_ticketevent_rollup")
        schema_editor.execute(SQLITE_TRIGGER_BEFORE)


class Migration(migrations.Migration):
    dependencies = [("hotline", "0022_search_index_pending_list")]

    operations = [
        migrations.AddField(
            model_name="rollupqueue",
            name="ticket_id",
            field=models.BigIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="rollupqueue",
            name="unit_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="rollupqueue",
            name="kind",
            field=models.CharField(default="", max_length=24),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="rollupqueue",
            name="payload",
            field=models.JSONField(default=dict),
        ),
        migrations.AddField(
            model_name="rollupqueue",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.RunPython(forwards, backwards),
        migrations.CreateModel(
            name="BatchEvent",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("kind", models.CharField(max_length=24)),
                ("payload", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField()),
                (
                    "ticket",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="hotline.ticket",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="hotline.unit",
                    ),
                ),
            ],
            options={"db_table": "rollup_batch_events", "managed": False},
        ),
    ]
