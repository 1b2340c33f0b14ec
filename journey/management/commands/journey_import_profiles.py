"""manage.py journey_import_profiles FILE [--dry-run]: import birthdays, consent and languages from CSV."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from journey.conf import tool_installed
from journey.exceptions import ProfileImportError


class Command(BaseCommand):
    help = ("Import customer profiles (birthday, marketing consent, language) from a CSV file matched by email; "
            "prints every rejected row and why. See docs/loyalty.md for the columns.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8 or Windows-1252; comma, semicolon or tab separated)")
        parser.add_argument("--dry-run", action="store_true", help="check the file and report, but save nothing")
        parser.add_argument("--source", default="import", help="recorded as where consent was given (default: import)")

    def handle(self, *args, file, dry_run, source, **options):
        if not tool_installed("journey.loyalty"):
            raise CommandError("journey.loyalty is not in JOURNEY['TOOLS']: the customer profiles are switched off.")
        from journey.loyalty.profiles.importer import decode, import_profiles

        try:
            with open(file, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}") from None
        try:
            report = import_profiles(decode(raw), source=source, dry_run=dry_run)
        except ProfileImportError as exc:
            raise CommandError(str(exc)) from None
        for warning in report.warnings:
            self.stdout.write(self.style.WARNING(warning))
        for row in report.rejected:
            self.stdout.write(gettext("line %(line)s: %(email)s: rejected: %(reasons)s") % {
                "line": row.line, "email": row.email or gettext("(no email)"), "reasons": "; ".join(row.errors)})
        style = self.style.WARNING if report.rejected else self.style.SUCCESS
        self.stdout.write(style(report.summary()))
