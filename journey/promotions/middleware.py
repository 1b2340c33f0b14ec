"""``CodeFormMiddleware``: Oscar's basket voucher form goes through journey's throttled code form.

Oscar's ``VoucherAddView`` (``basket:vouchers-add``) is not throttled and answers "No voucher found with code …"
for an unknown code but "Your basket does not qualify …" for someone else's personal code: a free oracle of which
codes exist.  Templates can point the form at ``journey:apply-code`` (the demo's basket template does), but the
URL stays reachable; this middleware answers its POSTs with journey's view instead (same throttle, same messages,
CSRF still checked).  Place it after Oscar's ``BasketMiddleware``; system check ``journey.W021`` says when it is
missing.  With ``journey.promotions`` left out of JOURNEY["TOOLS"] it lets Oscar's view answer."""

from django.views.decorators.csrf import csrf_protect

from ..conf import tool_installed
from . import code_views

_apply_code = csrf_protect(code_views.apply_code)


class CodeFormMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if (request.method == "POST" and match is not None and match.view_name == "basket:vouchers-add"
                and tool_installed("journey.promotions")):
            return _apply_code(request)
        return None
