"""Birthday rewards: on (or some days before) each customer's birthday, a personal voucher and a mail.

How it stays exactly-once and on time:

* **Days, in the store's time zone.**  The job (hourly, from Celery beat or ``journey_tick``) works out today's date
  in ``JOURNEY["STORE_TIME_ZONE"]`` and handles every birthday date from the day after the last one it finished
  (``BirthdayProgram.processed_through``) up to today + the program's lead days.  A job that missed days catches up,
  at most ``BIRTHDAY_CATCH_UP_DAYS`` back; each date is finished in one transaction with the program row locked, so
  a second runner waits and then finds the date done.
* **Once a year per customer** is a unique constraint: one ``BirthdayReward(user, year)`` row, rewarded or skipped
  (with the reason).  The voucher is idempotent on ``birthday:<user>:<year>`` and the mail on its subject key too.
* **Feb 29** birthdays are celebrated on Feb 28 in years without a Feb 29.
* **Gaming**: a birthday entered or changed less than ``BIRTHDAY_CHANGE_WAIT_DAYS`` before the date waits a year.
* **Consent**: no voucher and no mail unless ``marketing_allowed(profile)`` (checked again when the mail is sent),
  and none to an address on the suppression list (the outbox checks that again too).
"""

from __future__ import annotations

import calendar
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ...conf import journey_settings
from ...core import outbox, suppression, vouchers
from ...core.reporting import store_time_zone
from ..profiles.consent import marketing_allowed
from ..profiles.models import CustomerProfile
from .models import BirthdayProgram, BirthdayReward

logger = logging.getLogger(__name__)
TOOL = "birthday"
KIND = "loyalty.birthday"
PURPOSE = "birthday"


store_tz = store_time_zone  # the store's day decides whose birthday it is


def celebrated_on(month: int, day: int, year: int) -> date:
    """The date a birthday is celebrated in ``year``: Feb 29 becomes Feb 28 in years without it."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def birthday_q(day: date) -> Q:
    """Profiles whose birthday is celebrated on ``day`` (an index lookup on (birth_month, birth_day))."""
    q = Q(birth_month=day.month, birth_day=day.day)
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        q |= Q(birth_month=2, birth_day=29)
    return q


def profiles_celebrating(day: date):
    """The profiles of active customers celebrating on ``day`` (public API)."""
    return CustomerProfile.objects.filter(birthday_q(day), user__is_active=True)


def key_for(user_id, year) -> str:
    return f"birthday:{user_id}:{year}"


@dataclass
class RunReport:
    days: list = field(default_factory=list)
    rewarded: int = 0
    skipped: Counter = field(default_factory=Counter)
    note: str = ""

    def __str__(self):
        if self.note:
            return self.note
        if not self.days:
            return "nothing to do: every birthday up to today is handled"
        span = str(self.days[0]) if len(self.days) == 1 else f"{self.days[0]}..{self.days[-1]}"
        skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items()))
        return f"birthdays of {span}: {self.rewarded} rewarded" + (f"; skipped {skipped}" if skipped else "")


def run(*, now=None) -> RunReport:
    """Handle every birthday date that is due and not handled yet (the ``birthday_rewards`` job).  Idempotent."""
    now = now or timezone.now()
    program = BirthdayProgram.load()
    report = RunReport()
    if not program.is_active:
        # Off: forget where we were, so turning it on does not mail a backlog of past birthdays.
        BirthdayProgram.objects.filter(pk=program.pk).update(processed_through=None)
        report.note = "the birthday program is off"
        return report
    today = now.astimezone(store_tz()).date()
    target = today + timedelta(days=program.lead_days)
    earliest = target - timedelta(days=journey_settings.BIRTHDAY_CATCH_UP_DAYS)
    start = target if program.processed_through is None else program.processed_through + timedelta(days=1)
    if start < earliest:
        logger.warning("journey birthdays: the job last ran long ago; birthdays from %s to %s are not caught up "
                       "(BIRTHDAY_CATCH_UP_DAYS)", start, earliest - timedelta(days=1))
        start = earliest
    day = start
    while day <= target:
        with transaction.atomic():
            locked = BirthdayProgram.objects.select_for_update().get(pk=program.pk)
            if not locked.is_active:
                break
            if locked.processed_through is None or locked.processed_through < day:
                rewarded, skipped = handle_day(locked, day, now=now)
                report.days.append(day)
                report.rewarded += rewarded
                report.skipped.update(skipped)
                BirthdayProgram.objects.filter(pk=locked.pk).update(processed_through=day)
        day += timedelta(days=1)
    return report


def birthday_job(via="tick"):
    return str(run())


def _due_at(day: date, program: BirthdayProgram, now):
    """The mail goes out at BIRTHDAY_SEND_HOUR (store time) on the send day, or now if that has passed."""
    send_day = day - timedelta(days=program.lead_days)
    hour = int(journey_settings.BIRTHDAY_SEND_HOUR)
    due = datetime.combine(send_day, time(hour), tzinfo=store_tz())
    return max(due, now)


def handle_day(program: BirthdayProgram, day: date, *, now) -> tuple[int, Counter]:
    """Reward (or record why not) every customer celebrating on ``day`` who has no reward for ``day.year`` yet."""
    year = day.year
    rows = list(
        profiles_celebrating(day)
        .exclude(user__journey_birthdays__year=year)
        .values_list("user_id", "user__email", "birthday_changed_at", "marketing_consent", "language")
    )
    if not rows:
        return 0, Counter()
    wait_from = datetime.combine(day, time(0), tzinfo=store_tz()) - timedelta(
        days=journey_settings.BIRTHDAY_CHANGE_WAIT_DAYS)
    suppressed = suppression.suppressed_among(email for _u, email, *_rest in rows if email)
    rewards, eligible, skipped = [], {}, Counter()
    for user_id, email, changed_at, consent, language in rows:
        reason = ""
        if not (email or "").strip():
            reason = "no email address"
        elif changed_at is not None and changed_at >= wait_from:
            reason = "birthday entered recently"
        elif not marketing_allowed(CustomerProfile(marketing_consent=consent)):
            reason = "no marketing consent"
        elif suppression.normalize(email) in suppressed:
            reason = "address suppressed"
        if reason:
            skipped[reason] += 1
            rewards.append(BirthdayReward(user_id=user_id, year=year, birthday=day,
                                          outcome=BirthdayReward.Outcome.SKIPPED, reason=reason))
        else:
            eligible[user_id] = (email, language)
            rewards.append(BirthdayReward(user_id=user_id, year=year, birthday=day,
                                          outcome=BirthdayReward.Outcome.REWARDED))
    BirthdayReward.objects.bulk_create(rewards, ignore_conflicts=True, batch_size=2000)
    if eligible:
        # Only rows this run owns (the program row is locked; on databases without row locks the voucher key and
        # the mail's subject key keep it once anyway).
        mine = list(BirthdayReward.objects.filter(year=year, user_id__in=list(eligible), voucher__isnull=True,
                                                  outcome=BirthdayReward.Outcome.REWARDED).only("id", "user_id"))
        issued = reward_customers(program, day, mine, eligible, now=now)
    else:
        issued = 0
    return issued, skipped


def reward_customers(program, day, rewards, contacts, *, now) -> int:
    """Issue the vouchers of ``rewards`` and schedule their mails (``contacts``: user id → (email, language))."""
    due_at = _due_at(day, program, now)
    terms = {"kind": program.discount_kind, "value": str(program.discount_value),
             "min_basket": str(program.min_basket), "days_before": program.lead_days, "template": program.template}
    issued = vouchers.issue_personal_vouchers(
        [vouchers.VoucherFor(key=key_for(r.user_id, day.year), email=contacts[r.user_id][0], user_id=r.user_id)
         for r in rewards],
        purpose=PURPOSE, kind=program.discount_kind, value=program.discount_value, valid_days=program.valid_days,
        min_basket=program.min_basket, now=now,
    )
    messages = []
    for reward in rewards:
        email, language = contacts[reward.user_id]
        binding = issued[key_for(reward.user_id, day.year)]
        reward.voucher = binding
        messages.append(outbox.NewMessage(
            kind=KIND, subject_key=key_for(reward.user_id, day.year), step=0, to_email=email, due_at=due_at,
            context={**terms, "reward_id": reward.pk, "voucher_id": binding.voucher_id,
                     "birthday": day.isoformat()},
            user_id=reward.user_id, language=language or "",
        ))
    BirthdayReward.objects.bulk_update(rewards, ["voucher"], batch_size=2000)
    outbox.schedule_many(messages, now=now)
    return len(rewards)
