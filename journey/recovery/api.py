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
