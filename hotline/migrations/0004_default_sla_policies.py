"""Seed the default deadline table of domain.md §4 so administrators can see and edit it.

2 h / 24 h / 7 / 15 working days for replies follow the 2020 national hotline guidance and
Beijing practice; dispatch within 1 h / 2 h / 24 h follows the Beijing hotline standard.
"""

import datetime as dt

from django.db import migrations

DEFAULTS = [
    # priority, name, dispatch (h), sign, contact, reply
    ("urgent", "紧急诉求", (1, "hours"), (30, "minutes"), (1, "hours"), (2, "hours")),
    ("utility", "水电气热诉求", (2, "hours"), (1, "hours"), (2, "hours"), (24, "hours")),
    ("general", "一般诉求", (24, "hours"), (4, "hours"), (24, "hours"), (7, "workdays")),
    ("complex", "疑难诉求", (24, "hours"), (4, "hours"), (24, "hours"), (15, "workdays")),
]


def seed(apps, schema_editor):
    SlaPolicy = apps.get_model("hotline", "SlaPolicy")
    start = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    for priority, name, dispatch, sign, contact, reply in DEFAULTS:
        if SlaPolicy.objects.filter(priority=priority, category__isnull=True, unit_kind="").exists():
            continue
        SlaPolicy.objects.create(
            name=f"{name}默认时限", priority=priority, effective_from=start,
            dispatch_value=dispatch[0], dispatch_unit=dispatch[1], sign_value=sign[0], sign_unit=sign[1],
            contact_value=contact[0], contact_unit=contact[1], reply_value=reply[0], reply_unit=reply[1],
        )


class Migration(migrations.Migration):
    dependencies = [("hotline", "0003_sla_policy")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
