from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from journey.core import jobs
from journey.exceptions import JobBusy, RebuildError
from journey.related.services import REBUILD_JOB, rebuild

# Before this, no shop had orders (and a window counted back from it would fall off the calendar).
EARLIEST = datetime(1970, 1, 1).date()


def parse_until(value):
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"--until must be a date like 2017-11-05, not {value!r}") from None
    if day < EARLIEST:
        raise CommandError(f"--until {value} is too early: give a date from {EARLIEST.isoformat()} on")
    until = timezone.make_aware(datetime.combine(day, time.min))
    if until > timezone.now():
        raise CommandError(f"--until {value} is in the future: there are no orders to train on after today")
    return until


class Command(BaseCommand):
    help = ("Rebuild the related-products lists from the order history and swap them in at once "
            "(pages keep the old lists until the new ones are complete).  Holds the nightly job's lease: if the job "
            "(or another run of this command) is rebuilding right now, says so and exits.")

    def add_arguments(self, parser):
        parser.add_argument("--until", metavar="YYYY-MM-DD",
                            help="Train only on orders placed before this date (for evaluation).")

    def handle(self, *args, until=None, verbosity=1, **options):
        until = parse_until(until) if until is not None else None
        progress = (lambda text: self.stderr.write(f"  … {text}")) if verbosity > 0 else None
        try:
            with jobs.holding(REBUILD_JOB):
                report = rebuild(until=until, progress=progress)
        except JobBusy:
            self.stdout.write(self.style.WARNING(
                "A related-products rebuild is already running (the nightly job or another run of this command): "
                "nothing done.  Its new lists go live when it finishes."))
            return
        except RebuildError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Related products rebuilt: {report}"))
