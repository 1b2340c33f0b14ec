"""Thin receiver: an unsubscribe from a journey mail withdraws the customer's marketing consent on their profile.
Connected in JourneyConfig.ready(); the logic is ``profiles.withdraw_on_unsubscribe``."""

import logging

logger = logging.getLogger(__name__)


def address_suppressed(sender, suppression, **kwargs):
    from . import services as profiles

    try:
        profiles.withdraw_on_unsubscribe(suppression)
    except Exception:  # the address is suppressed already: an unsubscribe page must never fail over this
        logger.exception("journey: recording withdrawn consent for a suppressed address failed")


def connect():
    from ...signals import address_suppressed as signal

    signal.connect(address_suppressed, dispatch_uid="journey.loyalty.consent.address_suppressed")
