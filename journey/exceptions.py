"""One exception root for everything journey raises on purpose (anymail's pattern)."""

import threading

from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation


class JourneyError(Exception):
    """Base class of every error journey raises on purpose."""


class JourneyConfigurationError(JourneyError, ImproperlyConfigured):
    """The JOURNEY settings (or the host project around them) are wrong."""


class JourneySuspiciousInput(JourneyError, SuspiciousOperation):
    """Input from a third party (a link, a webhook) that cannot be trusted."""


class UnknownTool(JourneyError, LookupError):
    """No tool is registered under that key."""


class UnknownJob(JourneyError, LookupError):
    """No periodic job is registered under that key."""


class JobBusy(JourneyError):
    """Another runner holds the job's lease: the job is running elsewhere right now."""


class InvalidTerms(JourneyError, ValueError):
    """The voucher's terms make no sense (negative amount, percentage over 100…)."""


class RebuildError(JourneyError):
    """The related-products rebuild failed; the previous lists are still live."""


class ProfileImportError(JourneyError, ValueError):
    """The file as a whole cannot be imported (not CSV text, empty, no header, no email column, a line that cannot be
    read); the message says what is wrong and nothing is imported."""


class FunnelError(JourneyError, ValueError):
    """Bad funnel arguments (an unknown mode or breakdown, a period that ends before it starts…)."""


class AttributionError(JourneyError, ValueError):
    """Bad attribution arguments."""


def _voucher_not_redeemable():
    # Oscar's checkout catches UnableToPlaceOrder as get_class() loads it (a shop may fork the order app), and
    # get_class needs the app registry, which this module must not (settings modules import journey.conf, which
    # imports this one).  So this class is built on first use, still here and still journey.exceptions'.
    from oscar.core.loading import get_class

    unable_to_place_order = get_class("order.exceptions", "UnableToPlaceOrder")

    class VoucherNotRedeemable(JourneyError, unable_to_place_order, ValueError):
        """An order cannot use a voucher in its basket (someone else's, or already redeemed).

        Raised inside ``OrderCreator.place_order``'s transaction, so the order is not written; Oscar's checkout shows
        ``UnableToPlaceOrder`` messages on the preview page.  Also a ``ValueError``, which is what Oscar itself raises
        for an already used voucher.
        """

    VoucherNotRedeemable.__qualname__ = "VoucherNotRedeemable"  # as pickle and tracebacks find it
    return VoucherNotRedeemable


_building = threading.Lock()


def __getattr__(name):
    # PEP 562: ``from journey.exceptions import VoucherNotRedeemable`` builds the class once (see above).
    if name != "VoucherNotRedeemable":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _building:
        if name not in globals():
            globals()[name] = _voucher_not_redeemable()
    return globals()[name]
