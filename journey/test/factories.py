"""Test helpers for journey and for shops that test their integration with it (built on Oscar's factories)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from oscar.core.loading import get_class, get_model
from oscar.test.factories import create_product

Basket = get_model("basket", "Basket")
Selector = get_class("partner.strategy", "Selector")


def basket_with(products=None, *, owner=None, price=Decimal("10.00"), quantity=1):
    """An open basket (owned by ``owner`` or anonymous) holding ``products`` (one is created if none given)."""
    basket = Basket.objects.create(owner=owner)
    basket.strategy = Selector().strategy(user=owner)
    for product in products or [create_product(price=price, num_in_stock=10)]:
        basket.add_product(product, quantity)
    return basket


def make_idle(basket, minutes, now=None):
    """Pretend ``basket`` last changed ``minutes`` ago (journey's activity row is the clock)."""
    from journey.recovery.models import BasketActivity

    when = (now or timezone.now()) - timedelta(minutes=minutes)
    BasketActivity.objects.filter(basket_id=basket.pk).update(last_activity_at=when, created_at=when)
    return when


def default_sequence():
    """The default recovery sequence (created by a migration; transactional tests flush it, so re-create it)."""
    from journey.recovery.models import RecoveryStep

    for position, minutes in ((1, 60), (2, 24 * 60), (3, 72 * 60)):
        RecoveryStep.objects.get_or_create(position=position, defaults={"delay_minutes": minutes})
    return list(RecoveryStep.objects.order_by("position"))
