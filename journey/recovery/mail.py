"""The recovery mails: their template context, built at send time after re-checking that the mail is still due."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from oscar.core.loading import get_class, get_model

from ..conf import journey_settings
from ..core import outbox, tokens, vouchers
from ..core.outbox import MessageKind, NotEligible, register_kind
from ..related.api import related_for_baskets
from .models import BasketActivity, RecoveryStep
from .services import MAIL_KIND, SAVED_BASKET_KIND, _batch_reasons

Basket = get_model("basket", "Basket")
Line = get_model("basket", "Line")
Selector = get_class("partner.strategy", "Selector")
MAX_LINES = 10


def restore_url(message):
    raw = tokens.issue("recovery", object_id=message.pk, ttl=timedelta(days=journey_settings.RECOVERY_LINK_DAYS),
                       per_object=True)
    return outbox.absolute_url(reverse("journey:restore-basket", args=[raw]))


def _image_url(product):
    image = product.primary_image()
    url = image.original.url if getattr(image, "original", None) and hasattr(image.original, "url") else None
    if not url:
        return ""
    return url if url.startswith("http") else outbox.absolute_url(url)


def basket_context(basket, strategy=None):
    basket.strategy = strategy or Selector().strategy(user=basket.owner)
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


def _load_baskets(basket_ids):
    """Baskets with their lines, products, stock records and images loaded in a fixed number of queries."""
    lines = Prefetch("lines", queryset=Line.objects.select_related(
        "product", "product__product_class", "product__parent", "product__parent__product_class", "stockrecord",
    ).prefetch_related("product__images", "product__stockrecords").order_by("pk"))
    baskets = Basket.objects.select_related("owner").prefetch_related(lines).in_bulk(basket_ids)
    for basket in baskets.values():
        basket._lines = basket.lines.all()  # Oscar's all_lines() reads this cache: the prefetched lines
    return baskets


def prepare_step_batch(messages):
    """Contexts for a batch of recovery mails in a fixed number of queries (see MessageKind.prepare_batch)."""
    activities = BasketActivity.objects.in_bulk([(m.context or {}).get("activity_id") for m in messages])
    contexts, live = {}, []
    for message in messages:
        activity = activities.get((message.context or {}).get("activity_id"))
        if activity is None:
            contexts[message.pk] = NotEligible("the basket no longer exists")
        elif activity.state != BasketActivity.State.IN_SEQUENCE or activity.cycle != message.context.get("cycle"):
            contexts[message.pk] = NotEligible("the basket changed or was ordered: this sequence is over")
        else:
            live.append((message, activity))
    reasons = _batch_reasons([a for _m, a in live], timezone.now()) if live else {}
    steps = {step.pk: step for step in RecoveryStep.objects.all()}
    last_delay = max((s.delay_minutes for s in steps.values() if s.is_active), default=0)
    baskets = _load_baskets([a.basket_id for _m, a in live if not reasons[a.pk]])
    strategy = Selector().strategy()
    related = related_for_baskets(list(baskets.values()), limit=4)
    restore_tokens = dict(zip(
        [m.pk for m, a in live if not reasons[a.pk]],
        tokens.issue_many("recovery", [(m.pk, None) for m, a in live if not reasons[a.pk]],
                          ttl=timedelta(days=journey_settings.RECOVERY_LINK_DAYS), per_object=True),
        strict=True,
    ))
    for message, activity in live:
        if reasons[activity.pk]:
            contexts[message.pk] = NotEligible(reasons[activity.pk])
            continue
        basket = baskets[activity.basket_id]
        step = steps.get(message.context.get("step_id"))
        restore = outbox.absolute_url(reverse("journey:restore-basket", args=[restore_tokens[message.pk]]))
        contexts[message.pk] = _step_context(message, activity, basket, step, restore, related.get(basket.pk, []),
                                             last_delay, strategy if not basket.owner_id else None)
    return contexts


def _step_context(message, activity, basket, step, restore, related, last_delay, strategy=None):
    context = {**basket_context(basket, strategy), "activity": activity, "step": step, "restore_url": restore,
               "mail_template": step.template if step is not None else None, "related_products": related,
               "shop_name": settings.OSCAR_SHOP_NAME,
               "is_last_step": step is not None and step.delay_minutes >= last_delay}
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


def _activity_for(message):
    activity = BasketActivity.objects.filter(pk=(message.context or {}).get("activity_id")).first()
    if activity is None:
        raise NotEligible("the basket no longer exists")
    return activity


def build_step_context(message):
    """The one-message path (the batch path is prepare_step_batch)."""
    context = prepare_step_batch([message])[message.pk]
    if isinstance(context, NotEligible):
        raise context
    return context


def build_saved_basket_context(message):
    activity = _activity_for(message)
    basket = Basket.objects.select_related("owner").filter(pk=activity.basket_id, status=Basket.OPEN).first()
    if basket is None or not basket.num_lines:
        raise NotEligible("the basket is empty or was ordered")
    return {**basket_context(basket), "activity": activity, "restore_url": restore_url(message),
            "shop_name": settings.OSCAR_SHOP_NAME, "saved_basket": True}


register_kind(MessageKind(key=MAIL_KIND, tool="recovery", template="journey/mail/recovery",
                          build_context=build_step_context, prepare_batch=prepare_step_batch, tags=("recovery",),
                          action_url=restore_url))
register_kind(MessageKind(key=SAVED_BASKET_KIND, tool="recovery", template="journey/mail/saved_basket",
                          build_context=build_saved_basket_context, tags=("recovery", "saved-basket"),
                          measured=False))
