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


# Promotions ------------------------------------------------------------------------------------------------------
class CampaignError(JourneyError, ValueError):
    """A campaign operation that cannot be done (the message says why, for the store owner)."""


class HasRedemptions(CampaignError):
    """The campaign has been used on orders: it cannot be deleted, only ended and archived."""


class PromotionInUse(JourneyError):
    """The quantity promotion's offers were used in orders: it can be ended or archived, not deleted."""
