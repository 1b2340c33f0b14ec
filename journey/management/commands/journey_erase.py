"""Remove or anonymise everything journey holds on one person (docs/privacy-and-tracking.md)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from journey.core import privacy


class Command(BaseCommand):
    help = "Erase everything journey holds on a person (events, mails, tokens, basket activity, vouchers, consent…)."

    def add_arguments(self, parser):
        parser.add_argument("--email", help="the person's e-mail address")
        parser.add_argument("--user-id", type=int, help="the person's user id")
        parser.add_argument("--dry-run", action="store_true", help="count what would be erased, change nothing")

    def handle(self, *args, email=None, user_id=None, dry_run=False, **options):
        if not email and user_id is None:
            raise CommandError("Give --email or --user-id.")
        if email:
            try:
                validate_email(email.strip())
            except ValidationError:
                raise CommandError(f"{email!r} is not an e-mail address.") from None
        subject = privacy.find_subject(email=email, user_id=user_id)
        who = " / ".join(filter(None, [email, f"user {user_id}" if user_id is not None else ""]))
        counts = privacy.erase(email=email, user_id=user_id, dry_run=dry_run)
        if not subject.found:
            self.stdout.write(f"journey holds nothing on {who}: nothing to erase.")
        verb = "would erase" if dry_run else "erased"
        self.stdout.write(f"{'Dry run: ' if dry_run else ''}{who}:")
        width = max(len(label) for label in counts) if counts else 0
        for label, n in counts.items():
            shown = "kept" if label.endswith("kept") else verb
            self.stdout.write(f"  {label.ljust(width)}  {n:>6}  ({shown})")
