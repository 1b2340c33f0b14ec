from django.db import migrations

# The default sequence a shop has right after migrate: three mails, 1 h, 24 h and 72 h after the last activity,
# no incentive (incentives teach shoppers to abandon; a store turns one on, on the last mail, in admin).
DEFAULT_STEPS = [(1, 60), (2, 24 * 60), (3, 72 * 60)]


def create_default_steps(apps, schema_editor):
    RecoveryStep = apps.get_model("journey", "RecoveryStep")
    if RecoveryStep.objects.exists():
        return
    for position, minutes in DEFAULT_STEPS:
        RecoveryStep.objects.create(position=position, delay_minutes=minutes, template="journey/mail/recovery")


class Migration(migrations.Migration):
    dependencies = [("journey", "0002_outbox_recovery")]

    operations = [migrations.RunPython(create_default_steps, migrations.RunPython.noop)]
