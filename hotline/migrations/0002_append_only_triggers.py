"""Make the ticket trail and the access log append-only in the database itself.

The ORM already refuses to update or delete these rows; the trigger also stops a raw
UPDATE or DELETE (a console session, a buggy script), which is what an auditor relies on.
SQLite (development fallback only) keeps the ORM guard alone.
"""

from django.db import migrations

TABLES = ("hotline_ticketevent", "hotline_accesslog")

CREATE = """
CREATE OR REPLACE FUNCTION hotline_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION hotline_refuse_change()"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS hotline_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("hotline", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
