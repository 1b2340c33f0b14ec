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


# The outbox and its channels ----------------------------------------------------------------------------------
class NotEligible(JourneyError):
    """Raised by a message kind's context builder: the message must not be sent any more (the reason is recorded)."""


class UnknownChannel(JourneyConfigurationError, LookupError):
    """No channel backend is registered under that key (a message or a recovery step names a channel that is not
    installed)."""


class ChannelError(JourneyError):
    """A channel backend could not deliver a message; the subclass says what the outbox does about it.

    ``reason`` is the short why (kept as the message's close reason), ``error`` the provider's own words."""

    def __init__(self, reason, error=""):
        super().__init__(reason)
        self.reason = str(reason)
        self.error = error


class TransientChannelError(ChannelError):
    """Try again later (with backoff, up to SEND_MAX_ATTEMPTS): the provider is down, slow or rate-limiting."""


class PermanentChannelError(ChannelError):
    """The provider refused this message: it fails, and is not tried again."""


class AddressRejected(PermanentChannelError):
    """The provider refused the address itself: the message fails and the address is suppressed on this channel."""


# Promotions ------------------------------------------------------------------------------------------------------
class CampaignError(JourneyError, ValueError):
    """A campaign operation that cannot be done (the message says why, for the store owner)."""


class HasRedemptions(CampaignError):
    """The campaign has been used on orders: it cannot be deleted, only ended and archived."""


class PromotionInUse(JourneyError):
    """The quantity promotion's offers were used in orders: it can be ended or archived, not deleted."""


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
