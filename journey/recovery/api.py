"""What other tools may ask abandoned-basket recovery (the only module of ``journey.recovery`` they import)."""

from django.db.models import Q

from .models import BasketActivity


def people_in_open_sequence(*, user_ids=(), emails=()) -> tuple[set, set]:
    """Of the given accounts and addresses, those with a recovery sequence running now (a basket of theirs is being
    chased): ``(user ids, emails)``.  One query; a tool that would mail the same person (browse abandonment) waits."""
    user_ids, emails = {u for u in user_ids if u}, {e for e in emails if e}
    if not user_ids and not emails:
        return set(), set()
    rows = BasketActivity.objects.filter(
        Q(user_id__in=user_ids) | Q(email__in=emails), state=BasketActivity.State.IN_SEQUENCE
    ).values_list("user_id", "email")
    found_users, found_emails = set(), set()
    for user_id, email in rows:
        if user_id in user_ids:
            found_users.add(user_id)
        if email in emails:
            found_emails.add(email)
    return found_users, found_emails


def guest_contacts(visitor_ids) -> dict:
    """For visitors (journey's visitor ids) who gave an email for a basket as guests — at checkout or in the "email
    me my basket" form — with the consent ``JOURNEY["CONSENT_POLICY"]`` requires (``"consent"``: the box ticked;
    ``"notice"``: any captured address): ``{visitor id: (email, language, basket id)}``, the latest address each.
    Two queries (the events' visitor index, then the basket activity rows)."""
    from ..conf import journey_settings
    from ..core.models import JourneyEvent

    visitor_ids = {v for v in visitor_ids if v}
    if not visitor_ids:
        return {}
    pairs = set(JourneyEvent.objects.filter(visitor_id__in=visitor_ids, basket_id__isnull=False)
                .values_list("visitor_id", "basket_id").distinct())
    if not pairs:
        return {}
    activities = BasketActivity.objects.filter(basket_id__in={b for _v, b in pairs}, user_id__isnull=True) \
        .exclude(email="")
    if journey_settings.CONSENT_POLICY == "consent":
        activities = activities.filter(consent=True)
    by_basket = {a.basket_id: a for a in activities.only("basket_id", "email", "language", "email_captured_at")}
    contacts, when = {}, {}
    for visitor, basket_id in pairs:
        activity = by_basket.get(basket_id)
        if activity is None:
            continue
        captured = activity.email_captured_at or activity.created_at
        if visitor not in when or (captured and captured > when[visitor]):
            contacts[visitor] = (activity.email, activity.language, basket_id)
            when[visitor] = captured
    return contacts
