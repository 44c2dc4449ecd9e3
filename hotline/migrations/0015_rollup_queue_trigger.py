"""Every new TicketEvent puts its id on the rollup queue, in the same transaction.

PostgreSQL uses one statement-level trigger with a transition table, so the deadline sweep's
bulk inserts cost one extra INSERT … SELECT rather than one per row. SQLite (the development
fallback) gets the row-level equivalent. Existing events are queued once so the first refresh
folds them in.
"""

from django.db import migrations

PG_CREATE = """
CREATE OR REPLACE FUNCTION hotline_rollup_enqueue() RETURNS trigger AS $$
BEGIN
    INSERT INTO hotline_rollupqueue (event_id) SELECT id FROM new_events ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER hotline_ticketevent_rollup AFTER INSERT ON hotline_ticketevent
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION hotline_rollup_enqueue();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS hotline_ticketevent_rollup ON hotline_ticketevent;
DROP FUNCTION IF EXISTS hotline_rollup_enqueue();
"""
SQLITE_CREATE = """
CREATE TRIGGER hotline_ticketevent_rollup AFTER INSERT ON hotline_ticketevent
BEGIN
    INSERT OR IGNORE INTO hotline_rollupqueue (event_id) VALUES (NEW.id);
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS hotline_ticketevent_rollup;"
BACKFILL = "INSERT INTO hotline_rollupqueue (event_id) SELECT id FROM hotline_ticketevent"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_CREATE)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)
    schema_editor.execute(BACKFILL)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [("hotline", "0014_scores_rollups")]
    operations = [migrations.RunPython(forwards, backwards)]
