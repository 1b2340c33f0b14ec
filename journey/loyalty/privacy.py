"""What the loyalty tools hold on a person, for ``journey_erase`` (see journey.core.privacy).

* ``CustomerProfile`` — birthday, marketing consent, language: erased.
* ``BirthdayReward`` — which birthdays were rewarded or skipped, and why: erased.
* Post-purchase and win-back keep nothing of their own (their program rows are settings): their mails are outbox
  messages and their vouchers personal vouchers, erased by core's "messages" and "personal vouchers" erasers.

Connected by :func:`connect`, called from ``JourneyConfig.ready()``.
"""

from ..core import privacy


def erase_customer_profile(subject, *, dry_run):
    from .profiles.models import CustomerProfile

    return privacy.count_or_delete(CustomerProfile.objects.filter(user_id__in=subject.user_ids), dry_run)


def erase_birthday_rewards(subject, *, dry_run):
    from .birthdays.models import BirthdayReward

    return privacy.count_or_delete(BirthdayReward.objects.filter(user_id__in=subject.user_ids), dry_run)


def connect():
    privacy.register_eraser("customer profile", erase_customer_profile)
    privacy.register_eraser("birthday rewards", erase_birthday_rewards)
