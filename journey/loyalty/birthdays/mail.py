"""The birthday mail: its outbox kind and its template context, built at send time (consent checked again)."""

from datetime import date
from decimal import Decimal

from django.conf import settings

from ...core import outbox
from ...core.outbox import MessageKind, NotEligible, register_kind
from ..profiles.consent import marketing_allowed
from .models import DEFAULT_TEMPLATE, BirthdayReward
from .services import KIND, TOOL


def prepare_batch(messages):
    """Contexts for a batch of birthday mails in a fixed number of queries (see MessageKind.prepare_batch)."""
    rewards = BirthdayReward.objects.select_related("user", "voucher", "voucher__voucher").in_bulk(
        [(m.context or {}).get("reward_id") for m in messages])
    from ..profiles.models import CustomerProfile

    profiles = {p.user_id: p for p in CustomerProfile.objects.filter(
        user_id__in=[r.user_id for r in rewards.values()])}
    contexts = {}
    for message in messages:
        data = message.context or {}
        reward = rewards.get(data.get("reward_id"))
        if reward is None:
            contexts[message.pk] = NotEligible("the birthday reward was deleted")
            continue
        if not marketing_allowed(profiles.get(reward.user_id)):
            contexts[message.pk] = NotEligible("the customer has not given (or withdrew) marketing consent")
            continue
        voucher = reward.voucher.voucher if reward.voucher_id else None
        if voucher is None:
            contexts[message.pk] = NotEligible("the birthday voucher was deleted")
            continue
        contexts[message.pk] = {
            "customer": reward.user,
            "first_name": reward.user.first_name,
            "voucher": voucher,
            "discount_kind": data.get("kind"),
            "discount_value": Decimal(data.get("value") or "0"),
            "min_basket": Decimal(data.get("min_basket") or "0"),
            "days_before": int(data.get("days_before") or 0),
            "birthday": date.fromisoformat(data["birthday"]) if data.get("birthday") else reward.birthday,
            "currency": settings.OSCAR_DEFAULT_CURRENCY,
            "shop_name": settings.OSCAR_SHOP_NAME,
            "shop_url": outbox.site_url() + "/",
            "mail_template": data.get("template") or DEFAULT_TEMPLATE,
        }
    return contexts


register_kind(MessageKind(key=KIND, tool=TOOL, template=DEFAULT_TEMPLATE,
                          prepare_batch=prepare_batch, marketing=True, tags=("birthday",),
                          priority=50))
