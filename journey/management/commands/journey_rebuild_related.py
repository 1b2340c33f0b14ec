from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from journey.related.services import RebuildError, rebuild


def parse_until(value):
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"--until must be a date like 2017-11-05, not {value!r}") from None
    until = timezone.make_aware(datetime.combine(day, time.min))
    if until > timezone.now():
        raise CommandError(f"--until {value} is in the future: there are no orders to train on after today")
    return until


class Command(BaseCommand):
    help = ("Rebuild the related-products lists from the order history and swap them in at once "
            "(pages keep the old lists until the new ones are complete).")

    def add_arguments(self, parser):
        parser.add_argument("--until", metavar="YYYY-MM-DD",
                            help="Train only on orders placed before this date (for evaluation).")

    def handle(self, *args, until=None, verbosity=1, **options):
        until = parse_until(until) if until else None
        progress = (lambda text: self.stderr.write(f"  … {text}")) if verbosity > 0 else None
        try:
            report = rebuild(until=until, progress=progress)
        except RebuildError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Related products rebuilt: {report}"))
