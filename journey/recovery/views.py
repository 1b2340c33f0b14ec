"""Storefront views of recovery: the "return to my basket" link, and the "email me my basket" form."""

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ..core.throttle import Throttle
from . import restore as restoring
from . import services
from .models import BasketActivity

RESTORE_THROTTLE = Throttle("restore-fail", "RESTORE_RATE_LIMIT")


def _private(response):
    # The token must not leak to the next site through the Referer header.
    response["Referrer-Policy"] = "no-referrer"  # also with JourneyMiddleware absent
    response["Cache-Control"] = "no-store"
    return response


@never_cache
def restore(request, token):
    """The "return to my basket" link: throttle, let :func:`journey.recovery.restore.open_link` decide, answer."""
    if RESTORE_THROTTLE.limited(request):
        return _private(render(request, "journey/recovery/restore_invalid.html", status=429))
    result = restoring.open_link(request, token)
    if result.outcome == restoring.INVALID:
        RESTORE_THROTTLE.hit(request)
    return _private(_answer(request, result))


@never_cache
def restore_after_login(request):
    token = request.session.pop(restoring.SESSION_KEY, None)
    if not token:
        return redirect("basket:summary")
    return restore(request, token)


def _answer(request, result):
    """The page or redirect, with its messages, for what :func:`journey.recovery.restore.open_link` decided."""
    outcome = result.outcome
    if outcome == restoring.INVALID:  # one friendly page for unknown, tampered and expired links: it never says which
        return render(request, "journey/recovery/restore_invalid.html", status=404)
    if outcome == restoring.UNAVAILABLE:
        return render(request, "journey/recovery/restore_unavailable.html", status=410)
    if outcome == restoring.OTHER_CUSTOMER:
        return render(request, "journey/recovery/restore_other_customer.html", status=403)
    if outcome == restoring.SIGN_IN:
        messages.info(request, _("Please sign in to see your basket."))
        login = reverse("customer:login")
        return HttpResponseRedirect(f"{login}?next={reverse('journey:restore-basket-continue')}")
    welcome = _("Welcome back! Your basket is as you left it.")
    if outcome == restoring.ORDERED:
        messages.info(request, _("You have already ordered this basket. Thank you!"))
        return redirect("basket:summary")
    for title in result.dropped:
        messages.warning(request, _("“%(title)s” is no longer available and was removed from your basket.")
                         % {"title": title})
    if result.voucher == restoring.VOUCHER_EXPIRED:
        messages.warning(request, _("The discount in your mail has expired."))
    elif result.voucher == restoring.VOUCHER_APPLIED:
        welcome = _("Welcome back! Your basket is as you left it, with your discount %(code)s applied.") % {
            "code": result.voucher_code}
    elif result.voucher == restoring.VOUCHER_REFUSED:
        messages.warning(request, _("Your basket does not qualify for the discount %(code)s.")
                         % {"code": result.voucher_code})
    messages.success(request, welcome)  # RESTORED, or WELCOME_BACK (the link's second use in this browser)
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
