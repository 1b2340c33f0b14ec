"""Issue 14: a message has a channel and an address; suppression per channel; a recovery step picks its channel."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def existing_rows_are_email(apps, schema_editor):
    """Every message so far was an email to its to_email; bounces and invalid addresses suppress email only."""
    Message = apps.get_model("journey", "Message")
    Suppression = apps.get_model("journey", "Suppression")
    Message.objects.filter(address="").update(address=F("to_email"))
    Suppression.objects.filter(reason__in=["bounced", "invalid"]).update(channel="email")


class Migration(migrations.Migration):

    dependencies = [
        ('journey', '0014_event_indexes_concurrently'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='address',
            field=models.CharField(blank=True, max_length=254, verbose_name='address'),
        ),
        migrations.AddField(
            model_name='message',
            name='channel',
            field=models.CharField(default='email', max_length=16, verbose_name='channel'),
        ),
        migrations.AddField(
            model_name='message',
            name='dismissed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='dismissed at'),
        ),
        migrations.AddField(
            model_name='recoverystep',
            name='channel',
            field=models.CharField(choices=[('email', 'Email'), ('onsite', 'On-site message')], default='email', help_text='How this reminder reaches the shopper: by email, or as a message on their next visit to the shop.', max_length=16, verbose_name='channel'),
        ),
        migrations.AddField(
            model_name='suppression',
            name='channel',
            field=models.CharField(blank=True, default='', max_length=16, verbose_name='channel'),
        ),
        migrations.AlterField(
            model_name='suppression',
            name='email',
            field=models.EmailField(max_length=254, verbose_name='email'),
        ),
        migrations.AlterField(
            model_name='suppression',
            name='reason',
            field=models.CharField(choices=[('unsubscribed', 'Unsubscribed'), ('bounced', 'Hard bounce'), ('complained', 'Spam complaint'), ('invalid', 'Invalid address'), ('manual', 'Added by staff'), ('dismissed', 'Dismissed on-site messages')], max_length=16, verbose_name='reason'),
        ),
        migrations.RunPython(existing_rows_are_email, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('channel', 'onsite'), ('dismissed_at__isnull', True), ('state', 'sent')), fields=['address', 'sent_at'], name='journey_msg_onsite_live'),
        ),
        migrations.AddConstraint(
            model_name='suppression',
            constraint=models.UniqueConstraint(fields=('email', 'channel'), name='journey_suppression_once'),
        ),
    ]
