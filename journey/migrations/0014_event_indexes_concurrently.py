# The events table's indexes that 0011 and 0013 used to build inside their transactions (a SHARE lock blocking the
# storefront's event INSERTs for the whole build) are built here CONCURRENTLY on PostgreSQL.  Idempotent: where the
# older migration already built an index, it is kept.  Not atomic: PostgreSQL cannot build concurrently in a
# transaction.  Future indexes on big tables: see docs/development.md, "Migrations on big tables".

from django.db import migrations, models

from journey.core.migration_operations import (
    AddIndexConcurrentlyWherePossible,
    CreateIndexSQLConcurrentlyWherePossible,
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('journey', '0013_insights'),
    ]

    operations = [
        AddIndexConcurrentlyWherePossible(
            model_name='journeyevent',
            index=models.Index(condition=models.Q(('order_id__isnull', False)), fields=['order_id'],
                               name='journey_event_order'),
        ),
        # Attribution reads the touches (landings from a tool's link, mail and related-list clicks) of a period: a
        # partial index keeps that a small range scan however many other events there are.  Raw SQL, so the event
        # model (journey.core) stays as it is.
        CreateIndexSQLConcurrentlyWherePossible(
            'journey_event_touch',
            "ON journey_journeyevent (created_at) WHERE tool <> '' AND kind IN ('landing', 'mail_clicked', "
            "'related_click')",
        ),
    ]
