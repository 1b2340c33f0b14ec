# The frequency cap counts a person's marketing messages by address: an index on the outbox table (big), built
# CONCURRENTLY on PostgreSQL (docs/development.md, "Migrations on big tables").  Not atomic, index operations only.

from django.db import migrations, models

from journey.core.migration_operations import AddIndexConcurrentlyWherePossible


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('journey', '0019_frequency_cap'),
    ]

    operations = [
        AddIndexConcurrentlyWherePossible(
            model_name='message',
            index=models.Index(condition=models.Q(('marketing', True)), fields=['to_email', 'due_at'],
                               name='journey_msg_marketing_to'),
        ),
    ]
