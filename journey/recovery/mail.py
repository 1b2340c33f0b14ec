"""The recovery mails: their template context, built at send time after re-checking that the mail is still due."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from oscar.core.loading import get_class, get_model

from ..conf import journey_settings
from ..core import outbox, tokens, vouchers
from ..core.outbox import MessageKind, NotEligible, register_kind
from .models import BasketActivity, RecoveryStep
from .services import MAIL_KIND, SAVED_BASKET_KIND, ineligibility

Basket = get_model("basket", "Basket")
Selector = get_class("partner.strategy", "Selector")
MAX_LINES = 10


def restore_url(message):
    raw = tokens.issue("recovery", object_id=message.pk, ttl=timedelta(days=journey_settings.RECOVERY_LINK_DAYS))
    return outbox.absolute_url(reverse("journey:restore-basket", args=[raw]))


def _image_url(product):
    image = product.primary_image()
    url = image.original.url if getattr(image, "original", None) and hasattr(image.original, "url") else None
    if not url:
        return ""
    return url if url.startswith("http") else outbox.absolute_url(url)


def basket_context(basket):
    basket.strategy = Selector().strategy(user=basket.owner)
    lines = []
    for line in basket.all_lines()[:MAX_LINES]:
        product = line.product
        lines.append({
            "title": product.get_title(),
            "quantity": line.quantity,
            "unit_price": line.unit_price_incl_tax if line.unit_price_incl_tax is not None else line.price_incl_tax,
            "line_price": line.line_price_incl_tax if line.unit_price_incl_tax is not None else
            (line.price_incl_tax or Decimal("0")) * line.quantity,
            "image_url": _image_url(product),
            "product_url": outbox.absolute_url(product.get_absolute_url()),
        })
    return {
        "basket": basket,
        "lines": lines,
        "more_lines": max(0, basket.num_lines - MAX_LINES),
        "total": basket.total_incl_tax if basket.is_tax_known else basket.total_excl_tax,
        "currency": basket.currency or settings.OSCAR_DEFAULT_CURRENCY,
    }


def _related_products(basket, limit=4):
    """Up to four related products, once the related-products tool exists (it exposes a public function)."""
    try:
        from ..related.api import related_for_basket
    except ImportError:
        return []
    return related_for_basket(basket, limit=limit)


def _activity_for(message):
    activity = BasketActivity.objects.filter(pk=(message.context or {}).get("activity_id")).first()
    if activity is None:
        raise NotEligible("the basket no longer exists")
    return activity


def build_step_context(message):
    activity = _activity_for(message)
    if activity.state != BasketActivity.State.IN_SEQUENCE or activity.cycle != message.context.get("cycle"):
        raise NotEligible("the basket changed or was ordered: this sequence is over")
    reason = ineligibility(activity)
    if reason:
        raise NotEligible(reason)
    step = RecoveryStep.objects.filter(pk=message.context.get("step_id")).first()
    basket = Basket.objects.select_related("owner").get(pk=activity.basket_id)
    context = {**basket_context(basket), "activity": activity, "step": step, "restore_url": restore_url(message),
               "mail_template": step.template if step is not None else None,
               "related_products": _related_products(basket), "shop_name": settings.OSCAR_SHOP_NAME,
               "is_last_step": step is not None and not RecoveryStep.objects.filter(
                   is_active=True, delay_minutes__gt=step.delay_minutes).exists()}
    if step is not None and step.incentive:
        binding = vouchers.issue_personal_voucher(
            key=f"recovery:basket:{activity.basket_id}:cycle:{activity.cycle}:step:{step.position}",
            purpose="recovery", kind=step.incentive, value=step.incentive_value,
            valid_days=step.incentive_valid_days, min_basket=step.incentive_min_basket, email=activity.email,
            user=basket.owner, basket_id=None if basket.owner_id else basket.pk,
        )
        context["voucher"] = binding.voucher
        context["incentive"] = step
        # The restore link applies it: remember which voucher this mail carries.
        outbox.Message.objects.filter(pk=message.pk).update(
            context={**message.context, "voucher_id": binding.voucher_id}
        )
    return context


def build_saved_basket_context(message):
    activity = _activity_for(message)
    basket = Basket.objects.select_related("owner").filter(pk=activity.basket_id, status=Basket.OPEN).first()
    if basket is None or not basket.num_lines:
        raise NotEligible("the basket is empty or was ordered")
    return {**basket_context(basket), "activity": activity, "restore_url": restore_url(message),
            "shop_name": settings.OSCAR_SHOP_NAME, "saved_basket": True}


register_kind(MessageKind(key=MAIL_KIND, tool="recovery", template="journey/mail/recovery",
                          build_context=build_step_context, tags=("recovery",)))
register_kind(MessageKind(key=SAVED_BASKET_KIND, tool="recovery", template="journey/mail/saved_basket",
                          build_context=build_saved_basket_context, tags=("recovery", "saved-basket")))
