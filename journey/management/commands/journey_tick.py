from django.core.management.base import BaseCommand, CommandError

from journey.core import jobs


class Command(BaseCommand):
    help = (
        "Run every journey job that is due now, in this process (no Celery worker needed). "
        "Run it from cron every minute; running it twice or concurrently is safe."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--job", action="append", dest="only", metavar="KEY", help="Run only this job (repeatable)."
        )
        parser.add_argument("--force", action="store_true", help="Run even if not due (still never concurrently).")
        parser.add_argument("--list", action="store_true", help="List the jobs and their intervals, run nothing.")

    def handle(self, *args, only=None, force=False, list=False, **options):
        if list:
            for job in jobs.all_jobs():
                self.stdout.write(f"{job.key:<28} every {job.get_interval()} s   {job.description}")
            return
        try:
            outcomes = jobs.run_due_jobs(only=only, force=force)
        except jobs.UnknownJob as exc:
            raise CommandError(str(exc)) from None
        for outcome in outcomes:
            if outcome.state == "ran":
                self.stdout.write(self.style.SUCCESS(f"{outcome.key}: ran in {outcome.duration:.2f} s")
                                  + (f" — {outcome.summary}" if outcome.summary else ""))
            elif outcome.state == "failed":
                self.stderr.write(self.style.ERROR(f"{outcome.key}: failed — {outcome.summary}"))
            elif options["verbosity"] > 1 or only:
                self.stdout.write(f"{outcome.key}: {'running elsewhere' if outcome.state == 'busy' else 'not due'}")
        failed = [o.key for o in outcomes if o.failed]
        if failed:
            raise CommandError(f"{len(failed)} job(s) failed: {', '.join(failed)}")
