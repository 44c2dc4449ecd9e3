"""Fill the keyword-search column of existing tickets, if there are few enough to do it here.

Segmenting costs about half a millisecond per ticket in Python, so a demo or a young database is
filled now, in batches; a large one (a city's history) is left to ``manage.py reindex_search``,
which can run while the system is in use and resume where it stopped (--missing). Until then
keyword search finds only the tickets already filled; everything else works as before.
"""

from django.db import migrations

BATCH = 1000
LIMIT = 50_000


def backfill(apps, schema_editor):
    from hotline import search

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM hotline_ticket WHERE search_vector IS NULL")
        missing = cursor.fetchone()[0]
        if missing > LIMIT:
            print(
                f"\n  {missing:,} tickets have no search words yet: run `manage.py reindex_search --missing`"
                " (keyword search finds only filled tickets until then)."
            )
            return
        after = 0
        while rows := search.read_batch(cursor, after=after, size=BATCH, missing_only=True):
            search.store_documents(cursor, search.documents(rows))
            after = rows[-1][0]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("hotline", "0020_search_vector_workbench_indexes"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, atomic=True),
    ]
