# The events table partitioned by month on PostgreSQL (declarative partitioning, RANGE on created_at): see
# journey/core/partitions.py and docs/events.md.  One transaction: the table is locked, its rows are copied month by
# month into the new partitions, the indexes are built again as partitioned indexes and the id sequence is kept.  The
# primary key becomes (id, created_at) in the database (PostgreSQL wants the partition key in it); the model keeps
# `id` as its primary key, unique because every id comes from the one sequence.  SQLite keeps its plain table: the
# operation does nothing there, and Django's model state does not change (makemigrations stays clean).

from django.db import migrations


def partition(apps, schema_editor):
    from journey.core.partitions import convert_to_partitioned

    convert_to_partitioned(schema_editor.connection)


def unpartition(apps, schema_editor):
    from journey.core.partitions import convert_to_plain

    convert_to_plain(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('journey', '0017_send_gates'),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
