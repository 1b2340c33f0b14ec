"""journey's Oscar benefit "buy X, pay Y" (a ``proxy_class`` benefit: Oscar stores :data:`BUY_X_PAY_Y_CLASS`)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_class, get_model

Benefit = get_model("offer", "Benefit")
BasketDiscount = get_class("offer.results", "BasketDiscount")
ZERO_DISCOUNT = get_class("offer.results", "ZERO_DISCOUNT")
apply_discount = get_class("offer.benefits", "apply_discount")


class BuyXPayYBenefit(Benefit):
    """Oscar benefit "buy X, pay Y": of every X items from the range, the cheapest X − Y are free.

    X is the offer's count condition, Y this benefit's value.  Unlike Oscar's multibuy benefit, several items of
    one basket line can be free (3 of the same cheese, buy 3 pay 2: one is free; 6: two are)."""

    class Meta:
        proxy = True
        app_label = "journey"
        verbose_name = _("Buy X, pay Y benefit")

    @property
    def name(self):
        return _("Pay %(pay)s of every group of items from %(range)s; the cheapest are free") % {
            "pay": int(self.value or 0), "range": self.range.name if self.range else ""}

    @property
    def description(self):
        return self.name

    def apply(self, basket, condition, offer, **kwargs):
        group, pay = int(condition.value), int(self.value)
        if group <= pay or pay < 0:
            return ZERO_DISCOUNT
        units = []
        for price, line in self.get_applicable_lines(offer, basket):
            units.extend([(price, line)] * line.quantity_without_offer_discount(offer))
        groups = len(units) // group
        if not groups:
            return ZERO_DISCOUNT
        units.sort(key=lambda unit: unit[0])
        free_count = groups * (group - pay)
        free = defaultdict(lambda: [0, Decimal("0.00")])
        for price, line in units[:free_count]:
            free[line][0] += 1
            free[line][1] += price
        total = Decimal("0.00")
        for line, (quantity, amount) in free.items():
            apply_discount(line, amount, quantity, offer)
            total += amount
        # The paid items of the full groups are used up too (the most expensive ones: the shopper's best deal).
        to_consume = groups * pay
        for _price, line in reversed(units[free_count:]):
            if to_consume <= 0:
                break
            to_consume -= line.consume(1, offer=offer)
        return BasketDiscount(self.round(total, basket.currency))



#: The dotted path Oscar keeps in ``Benefit.proxy_class`` (migration 0016_buy_x_pay_y_path moved older rows here).
BUY_X_PAY_Y_CLASS = f"{BuyXPayYBenefit.__module__}.{BuyXPayYBenefit.__name__}"
