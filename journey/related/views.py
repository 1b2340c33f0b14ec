"""Storefront view of related products: the click beacon."""

from django.core.cache import cache
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..core import events
from ..phases import Phase
from .models import ListKind, RelatedClick, Source

CLICKS_PER_MINUTE = 60


def _int(value, *, minimum=0, maximum=2**31 - 1, optional=False):
    if value in (None, "") and optional:
        return None
    number = int(value)
    if not minimum <= number <= maximum:
        raise ValueError(value)
    return number


@csrf_exempt  # a beacon from the shop's own pages; it records an analytics fact and changes nothing for anyone
@require_POST
def record_click(request):
    key = "journey:related-clicks:" + (events.client_ip(request) or "unknown")[:100]
    if not cache.add(key, 1, 60):
        try:
            if cache.incr(key) > CLICKS_PER_MINUTE:
                return HttpResponse(status=429)
        except ValueError:
            cache.set(key, 1, 60)
    try:
        kind = _int(request.POST.get("kind"), minimum=1, maximum=max(ListKind.values))
        source = _int(request.POST.get("source"), minimum=1, maximum=max(Source.values), optional=True)
        click = RelatedClick(
            kind=kind, anchor_id=_int(request.POST.get("anchor"), optional=True),
            product_id=_int(request.POST.get("product"), minimum=1),
            position=_int(request.POST.get("position"), minimum=1, maximum=100), source=source,
            user_id=request.user.pk if request.user.is_authenticated else None,
        )
    except (TypeError, ValueError):
        return HttpResponseBadRequest("kind, product and position must be whole numbers in range")
    click.save()
    events.record(events.Kind.RELATED_CLICK, request=request, tool="related", product_id=click.product_id,
                  phase=Phase.SELL if kind == ListKind.CROSS_SELL else Phase.CONVINCE,
                  ref=str(click.anchor_id or ""),
                  data={"list": ListKind(kind).name.lower(), "position": click.position, "source": source})
    return HttpResponse(status=204)
