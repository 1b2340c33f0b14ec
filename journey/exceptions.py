"""One exception root for everything journey raises on purpose (anymail's pattern)."""

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
