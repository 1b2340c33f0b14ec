"""Recovery mails are built a send batch at a time with a fixed number of queries, whatever the batch's size — also
when the step carries a personal voucher."""

from decimal import Decimal

import pytest

from journey.core.models import Message, PersonalVoucher
from journey.recovery import mail as recovery_mail
from journey.recovery.models import RecoveryStep
from tests.core.test_outbox import abandoned
from tests.loyalty.test_mail_batches import same_queries_for_2_or_5

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("incentive", ["", "percentage"])
def test_recovery_mails_are_built_with_the_same_queries_for_2_or_5(incentive):
    messages = [abandoned(f"shopper{i}@example.com") for i in range(8)]
    if incentive:
        RecoveryStep.objects.filter(position=1).update(incentive=incentive, incentive_value=Decimal("10"),
                                                       incentive_valid_days=7)
    same_queries_for_2_or_5(recovery_mail.prepare_step_batch, messages)
    if incentive:
        # Each mail carries its own voucher, and its row remembers it (the restore link applies it).
        vouchers = dict(PersonalVoucher.objects.filter(purpose="recovery").values_list("email", "voucher_id"))
        assert len(vouchers) == 8 and len(set(vouchers.values())) == 8
        for message in Message.objects.filter(pk__in=[m.pk for m in messages]):
            assert message.context["voucher_id"] == vouchers[message.to_email]
