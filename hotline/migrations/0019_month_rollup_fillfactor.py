"""Leave room on the month rollup pages so the refresh's in-place updates stay HOT.

A day's refresh updates a few thousand month rows; on full pages each update also writes four
index entries. With free space on the page PostgreSQL updates the row in place (no indexed
column changes), which keeps the refresh within its budget. Rows written by the next rebuild
get the space; SQLite ignores the setting.
"""

from django.db import migrations

TABLES = ("hotline_unitmonthstat", "hotline_intakemonthstat")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = 70)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("hotline", "0018_event_exemption_index")]
    operations = [migrations.RunPython(forwards, backwards)]
