"""The "buy X, pay Y" benefit moved from ``journey.promotions.quantity`` into ``journey.promotions.quantity.benefits``.

Oscar stores a custom benefit's dotted path in ``Benefit.proxy_class`` and imports it to apply the offer: rows saved
under the old path are moved to the new one (and back when unapplied).  No schema change.
"""

from django.db import migrations

OLD = "journey.promotions.quantity.BuyXPayYBenefit"
NEW = "journey.promotions.quantity.benefits.BuyXPayYBenefit"


def _move(apps, old, new):
    apps.get_model("offer", "Benefit").objects.filter(proxy_class=old).update(proxy_class=new)


def forwards(apps, schema_editor):
    _move(apps, OLD, NEW)


def backwards(apps, schema_editor):
    _move(apps, NEW, OLD)


class Migration(migrations.Migration):

    dependencies = [
        ("journey", "0015_message_channel"),
        ("offer", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=True),
    ]
