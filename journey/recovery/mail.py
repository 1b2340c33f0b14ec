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
    going = [(m, a, baskets[a.basket_id], steps.get(m.context.get("step_id"))) for m, a in live if not reasons[a.pk]]
    withheld = incentives_withheld([(m, a) for m, a, _b, _s in going], steps)
    bindings = _issue_incentives([g for g in going if g[0].pk not in withheld])
    remember = []
    for message, activity in live:
        if reasons[activity.pk]:
            contexts[message.pk] = NotEligible(reasons[activity.pk])
    for message, activity, basket, step in going:
        restore = outbox.absolute_url(reverse("journey:restore-basket", args=[restore_tokens[message.pk]]))
        contexts[message.pk] = _step_context(activity, basket, step, restore, related.get(basket.pk, []), last_delay,
                                             strategy if not basket.owner_id else None)
        binding = bindings.get(message.pk)
        if step is not None and step.incentive and message.pk in withheld:
            # The incentive guard: the mail goes without the discount; the report counts it.
            contexts[message.pk]["incentive_withheld"] = True
            if message.context.get("incentive_withheld") != withheld[message.pk]:
                message.context = {**message.context, "incentive_withheld": withheld[message.pk]}
                remember.append(message)
        elif binding is not None:
            contexts[message.pk].update(voucher=binding.voucher, incentive=step)
            # The restore link applies it: remember which voucher this mail carries.
            message.context = {**message.context, "voucher_id": binding.voucher_id}
            remember.append(message)
    if remember:
        outbox.Message.objects.bulk_update(remember, ["context"])
    return contexts


def _cycle_key(activity):
    return f"recovery:basket:{activity.basket_id}:cycle:{activity.cycle}:"


def voucher_key(activity, step) -> str:
    return f"{_cycle_key(activity)}step:{step.position}"


def incentives_withheld(pairs, steps, now=None) -> dict[int, str]:
    """{message id: why its step's discount is left out} for the (message, activity) pairs whose step carries an
    incentive (the incentive guard; one query for the batch).  A mail that already carries its voucher (a retry)
    keeps it; the vouchers of the same sequence never count against it."""
    days = journey_settings.RECOVERY_INCENTIVE_GUARD_DAYS or 0
    times = journey_settings.RECOVERY_INCENTIVE_GUARD_REDEMPTIONS or 0
    asking = [(m, a) for m, a in pairs
              if getattr(steps.get(m.context.get("step_id")), "incentive", "") and not m.context.get("voucher_id")]
    if not asking or not (days or times):
        return {}
    now = now or timezone.now()
    history = vouchers.incentive_history(
        [(m.to_email, m.user_id) for m, _a in asking],
        since=now - timedelta(days=days) if days else now + timedelta(days=1),
        counted_purposes=("recovery",) if times else (), ignore_key_prefixes=[_cycle_key(a) for _m, a in asking])
    withheld = {}
    for message, _activity in asking:
        person = history[((message.to_email or "").strip().lower(), message.user_id or None)]
        if days and person.recent:
            withheld[message.pk] = f"a journey incentive received or redeemed in the last {days} days"
        elif times and person.redeemed >= times:
            withheld[message.pk] = f"{person.redeemed} recovery vouchers redeemed already"
    return withheld


def _issue_incentives(going):
    """{message id: PersonalVoucher} for the mails whose step carries an incentive: issued in bulk, one call per
    step (its terms), idempotent per basket, cycle and step (a retried mail carries the same voucher)."""
    by_step = {}
    for message, activity, basket, step in going:
        if step is not None and step.incentive:
            by_step.setdefault(step.pk, (step, []))[1].append((message, activity, basket))
    bindings = {}
    for step, group in by_step.values():
        issued = vouchers.issue_personal_vouchers(
            [vouchers.VoucherFor(key=voucher_key(activity, step), email=activity.email, user_id=basket.owner_id,
                                 basket_id=None if basket.owner_id else basket.pk)
             for _message, activity, basket in group],
            purpose="recovery", kind=step.incentive, value=step.incentive_value,
            valid_days=step.incentive_valid_days, min_basket=step.incentive_min_basket,
        )
        for message, activity, _basket in group:
            bindings[message.pk] = issued[voucher_key(activity, step)]
    return bindings


def _step_context(activity, basket, step, restore, related, last_delay, strategy=None):
    return {**basket_context(basket, strategy), "activity": activity, "step": step, "restore_url": restore,
            "mail_template": step.template if step is not None else None, "related_products": related,
            "shop_name": settings.OSCAR_SHOP_NAME,
            "is_last_step": step is not None and step.delay_minutes >= last_delay}


def _activity_for(message):
    activity = BasketActivity.objects.filter(pk=(message.context or {}).get("activity_id")).first()
    if activity is None:
        raise NotEligible("the basket no longer exists")
    return activity


def build_saved_basket_context(message):
    activity = _activity_for(message)
    basket = Basket.objects.select_related("owner").filter(pk=activity.basket_id, status=Basket.OPEN).first()
    if basket is None or not basket.num_lines:
        raise NotEligible("the basket is empty or was ordered")
    return {**basket_context(basket), "activity": activity, "restore_url": restore_url(message),
            "shop_name": settings.OSCAR_SHOP_NAME, "saved_basket": True}


register_kind(MessageKind(key=MAIL_KIND, tool="recovery", template="journey/mail/recovery",
                          prepare_batch=prepare_step_batch, tags=("recovery",),
                          action_url=restore_url, priority=10))
register_kind(MessageKind(key=SAVED_BASKET_KIND, tool="recovery", template="journey/mail/saved_basket",
                          build_context=build_saved_basket_context, tags=("recovery", "saved-basket"),
                          # The shopper asked for it just now: first in line, and never held out.
                          priority=5, measured=False))
