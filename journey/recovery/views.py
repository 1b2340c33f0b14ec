"""Storefront views of recovery: the "return to my basket" link, and the "email me my basket" form."""

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from oscar.core.loading import get_model

from ..core import tokens, vouchers
from ..core.models import Message
from ..core.throttle import Throttle
from . import services
from .models import BasketActivity

Basket = get_model("basket", "Basket")
Voucher = get_model("voucher", "Voucher")
SESSION_KEY = "journey_restore_token"
#: The guest baskets this browser restored (moved into its own basket): their links welcome it back.
RESTORED_KEY = "journey_restored_baskets"


RESTORE_THROTTLE = Throttle("restore-fail", "RESTORE_RATE_LIMIT")


def _rate_limited(request):
    return RESTORE_THROTTLE.limited(request)


def _count_failure(request):
    RESTORE_THROTTLE.hit(request)


def _invalid(request, status=404):
    """One friendly page for unknown, tampered and expired links: it never says which."""
    return render(request, "journey/recovery/restore_invalid.html", status=status)


def _with_privacy_headers(response):
    # The token must not leak to the next site through the Referer header.
    response["Referrer-Policy"] = "no-referrer"  # also with JourneyMiddleware absent
    response["Cache-Control"] = "no-store"
    return response


@never_cache
def restore(request, token):
    if _rate_limited(request):
        return _with_privacy_headers(render(request, "journey/recovery/restore_invalid.html", status=429))
    link = tokens.resolve("recovery", token)
    message = Message.objects.filter(pk=link.object_id).first() if link else None
    activity = None
    if message is not None:
        activity = BasketActivity.objects.select_related("basket", "basket__owner").filter(
            pk=(message.context or {}).get("activity_id")
        ).first()
    if activity is None:
        _count_failure(request)
        return _with_privacy_headers(_invalid(request))
    services.record_click(message)
    return _with_privacy_headers(_restore(request, token, message, activity))


@never_cache
def restore_after_login(request):
    token = request.session.pop(SESSION_KEY, None)
    if not token:
        return redirect("basket:summary")
    return restore(request, token)


def _restore(request, token, message, activity):
    basket = activity.basket
    if basket.status == Basket.SUBMITTED:
        messages.info(request, _("You have already ordered this basket. Thank you!"))
        return redirect("basket:summary")
    if basket.status != Basket.OPEN:
        if basket.pk in request.session.get(RESTORED_KEY, []):
            # This browser restored it already (its lines are in this browser's basket now): the link's second use.
            messages.success(request, _("Welcome back! Your basket is as you left it."))
            return redirect("basket:summary")
        return render(request, "journey/recovery/restore_unavailable.html", status=410)

    if basket.owner_id:
        if not request.user.is_authenticated or request.user.pk != basket.owner_id:
            # Never show one person's basket to another session: the owner signs in first.
            request.session[SESSION_KEY] = token
            messages.info(request, _("Please sign in to see your basket."))
            login = reverse("customer:login")
            return HttpResponseRedirect(f"{login}?next={reverse('journey:restore-basket-continue')}")
        target = basket
    elif request.user.is_authenticated and (request.user.email or "").lower() != (activity.email or "").lower():
        return render(request, "journey/recovery/restore_other_customer.html", status=403)
    else:
        # A guest basket: its lines move into this browser's own basket (the account's, the one its cookie holds,
        # or a new one); the browser's cookie is never pointed at a basket another device holds.
        target = request.basket
        if target.pk != basket.pk:
            was_empty = not target.pk or target.is_empty
            if not services.take_over_guest_basket(basket, target):
                return render(request, "journey/recovery/restore_unavailable.html", status=410)
            request.session[RESTORED_KEY] = [*request.session.get(RESTORED_KEY, [])[-9:], basket.pk]
            if was_empty:
                # This browser holds nothing but the mailed basket: its checkout may start with the address the mail
                # went to.  A basket that already held lines (someone else's link) gets no one else's address.
                services.prefill_guest_email(request, email=activity.email)

    target.strategy = request.strategy
    dropped = services.refresh_lines(target)
    for title in dropped:
        messages.warning(request, _("“%(title)s” is no longer available and was removed from your basket.")
                         % {"title": title})
    welcome = _("Welcome back! Your basket is as you left it.")
    voucher_id = (message.context or {}).get("voucher_id")
    if voucher_id:
        voucher = Voucher.objects.filter(pk=voucher_id).first()
        now = timezone.now()
        if voucher is None or voucher.end_datetime <= now:
            messages.warning(request, _("The discount in your mail has expired."))
        elif vouchers.apply_to_basket(target, voucher, request):
            welcome = _("Welcome back! Your basket is as you left it, with your discount %(code)s applied.") % {
                "code": voucher.code}
        else:
            messages.warning(request, _("Your basket does not qualify for the discount %(code)s.")
                             % {"code": voucher.code})
    messages.success(request, welcome)
    return redirect("basket:summary")


class EmailBasketForm(forms.Form):
    CONSENT_TEXT = gettext_lazy("Yes, email me about my basket and the shop's offers. I can unsubscribe at any time.")

    email = forms.EmailField(label=gettext_lazy("Your email"), max_length=254)
    consent = forms.BooleanField(label=CONSENT_TEXT, required=False)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


@require_POST
def email_my_basket(request):
    """Capture an email from the basket page and send the basket there now (the "save my basket" mail)."""
    form = EmailBasketForm(request.POST)
    next_url = request.POST.get("next") or reverse("basket:summary")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("basket:summary")
    basket = request.basket
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(next_url)
    if not basket.pk or not basket.num_lines:
        messages.error(request, _("Your basket is empty: there is nothing to send yet."))
        return redirect(next_url)
    consent = form.cleaned_data["consent"]
    activity = services.capture_email(
        basket, form.cleaned_data["email"], BasketActivity.Source.BASKET_FORM, consent=consent,
        consent_text=str(EmailBasketForm.CONSENT_TEXT) if consent else "", language=get_language() or "",
    )
    message = services.send_saved_basket(activity)
    if message is None:
        messages.warning(request, _("We cannot send mail to this address."))
    else:
        messages.success(request, _("We are sending your basket to %(email)s.") % {"email": activity.email})
    return redirect(next_url)
