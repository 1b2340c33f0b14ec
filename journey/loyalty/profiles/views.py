"""The shop's account page where customers set their birthday, marketing consent and language."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from .forms import ProfileForm
from .models import CustomerProfile

SOURCE = "account page"


@never_cache
@login_required
def profile(request):
    current = CustomerProfile.objects.filter(user=request.user).first()
    form = ProfileForm(request.POST or None, profile=current)
    if request.method == "POST" and form.is_valid():
        _profile, changes = form.save(request.user, source=SOURCE)
        messages.success(request, _("Your preferences are saved.") if changes else _("Nothing changed."))
        return redirect("journey:account-profile")
    return render(request, "journey/loyalty/profile_form.html", {
        "form": form, "profile": current, "page_title": _("Birthday and preferences"),
        "active_tab": "journey_profile",
    }, status=400 if request.method == "POST" else 200)
