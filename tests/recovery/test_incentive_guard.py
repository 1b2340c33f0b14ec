"""The incentive guard: someone who just had a journey incentive, or who keeps redeeming recovery vouchers, gets the
recovery step without the discount (the mail still goes); the report counts the incentives withheld."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from oscar.test.factories import create_order, create_product

from journey.core import vouchers
from journey.core.models import Message, PersonalVoucher, VoucherRedemption
from journey.recovery.models import RecoveryStep
from journey.recovery.numbers import recovery_numbers
from journey.test.factories import default_sequence
from tests.recovery.test_recovery import guest_basket, run_sequence, with_incentive

pytestmark = pytest.mark.django_db
EMAIL = "guest@example.com"


def past_voucher(purpose, days_ago, *, email=EMAIL, redeemed_days_ago=None, key=None):
    binding = vouchers.issue_personal_voucher(key=key or f"{purpose}:{email}:{days_ago}:{redeemed_days_ago}",
                                              purpose=purpose, kind="percentage", value=10, valid_days=7, email=email)
    PersonalVoucher.objects.filter(pk=binding.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    if redeemed_days_ago is not None:
        redemption = VoucherRedemption.objects.create(voucher=binding.voucher, order=create_order())
        VoucherRedemption.objects.filter(pk=redemption.pk).update(
            created_at=timezone.now() - timedelta(days=redeemed_days_ago))
    return binding


@pytest.fixture(autouse=True)
def sequence():
    default_sequence()  # (a transactional test elsewhere may have flushed the migration's rows)


def last_step(email=EMAIL):
    with_incentive()
    basket = guest_basket(email=email, products=[create_product(price=Decimal("20.00"), num_in_stock=5)])
    return Message.objects.get(pk=run_sequence(basket, timezone.now()).pk)


def recovery_vouchers():
    return PersonalVoucher.objects.filter(purpose="recovery")


def test_a_shopper_with_no_incentive_history_gets_the_discount():
    message = last_step()
    assert message.state == Message.State.SENT and "incentive_withheld" not in message.context
    assert recovery_vouchers().count() == 1
    assert recovery_vouchers().get().voucher.code in mail.outbox[-1].body


def test_an_incentive_received_in_the_last_days_means_the_step_goes_without_its_discount():
    past_voucher("birthday", days_ago=5)
    message = last_step()
    assert message.state == Message.State.SENT  # the mail still goes
    assert not recovery_vouchers().exists()
    assert "incentive_withheld" in message.context and "voucher_id" not in message.context
    assert "Your code" not in mail.outbox[-1].body
    numbers = recovery_numbers(timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=5))
    assert numbers.incentives_withheld == 1


def test_an_incentive_received_longer_ago_does_not_count():
    past_voucher("post_purchase", days_ago=40)
    last_step()
    assert recovery_vouchers().count() == 1


def test_an_incentive_redeemed_in_the_last_days_counts_however_old_the_voucher():
    past_voucher("winback", days_ago=60, redeemed_days_ago=3)
    last_step()
    assert not recovery_vouchers().exists()


def test_someone_who_redeemed_recovery_vouchers_k_times_gets_no_more(settings):
    settings.JOURNEY = {**settings.JOURNEY, "RECOVERY_INCENTIVE_GUARD_REDEMPTIONS": 2}
    past_voucher("recovery", days_ago=200, redeemed_days_ago=199, key="recovery:basket:1:cycle:1:step:3")
    past_voucher("recovery", days_ago=100, redeemed_days_ago=99, key="recovery:basket:2:cycle:1:step:3")
    message = last_step()
    assert recovery_vouchers().count() == 2 and "incentive_withheld" in message.context


def test_one_recovery_voucher_redeemed_long_ago_is_not_gaming():
    past_voucher("recovery", days_ago=200, redeemed_days_ago=199, key="recovery:basket:1:cycle:1:step:3")
    last_step()
    assert recovery_vouchers().count() == 2


def test_the_guard_can_be_turned_off(settings):
    settings.JOURNEY = {**settings.JOURNEY, "RECOVERY_INCENTIVE_GUARD_DAYS": 0,
                        "RECOVERY_INCENTIVE_GUARD_REDEMPTIONS": 0}
    past_voucher("birthday", days_ago=1)
    last_step()
    assert recovery_vouchers().count() == 1


def test_another_shopper_s_incentives_do_not_count():
    past_voucher("birthday", days_ago=1, email="someone.else@example.com")
    last_step()
    assert recovery_vouchers().count() == 1


def test_the_vouchers_of_the_same_sequence_do_not_withhold_its_later_steps():
    RecoveryStep.objects.filter(position__in=[2, 3]).update(incentive="percentage", incentive_value=Decimal("5"))
    basket = guest_basket(products=[create_product(price=Decimal("20.00"), num_in_stock=5)])
    run_sequence(basket, timezone.now())
    assert recovery_vouchers().count() == 2


def test_the_default_sequence_first_step_carries_no_discount():
    # The migration's default sequence (0003): no step, and certainly not the first, gives a discount.
    from importlib import import_module

    from django.apps import apps

    RecoveryStep.objects.all().delete()
    import_module("journey.migrations.0003_default_recovery_sequence").create_default_steps(apps, None)
    first = RecoveryStep.objects.order_by("position").first()
    assert first.position == 1 and first.incentive == RecoveryStep.Incentive.NONE
    assert RecoveryStep().incentive == RecoveryStep.Incentive.NONE  # a step added in admin starts without one


def test_the_core_helper_answers_for_an_address_or_an_account(django_user_model):
    user = django_user_model.objects.create_user(username="u", email="u@example.com", password="x")
    assert not vouchers.had_incentive_recently(email="u@example.com", user=user, days=30)
    vouchers.issue_personal_voucher(key="birthday:u", purpose="birthday", kind="fixed", value=5, valid_days=7,
                                    user=user)
    assert vouchers.had_incentive_recently(user=user, days=30)
    assert vouchers.had_incentive_recently(email="other@example.com", user=user.pk, days=30)
    assert not vouchers.had_incentive_recently(email="U@example.com", days=30)  # bound to the account only
