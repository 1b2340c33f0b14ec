# The frequency cap's marks on outbox messages (journey.core.outbox.cap); its index is built in 0019, concurrently.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('journey', '0018_event_partitions'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='cap_slot_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='frequency cap: slot taken at'),
        ),
        migrations.AddField(
            model_name='message',
            name='cap_waiting_since',
            field=models.DateTimeField(blank=True, null=True, verbose_name='frequency cap: waiting since'),
        ),
    ]
