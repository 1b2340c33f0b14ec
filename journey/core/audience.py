"""Who may get marketing messages, and in which language, for tools that mail accounts (browse reminders,
price-drop alerts…).

The tool that keeps customer profiles answers (journey.loyalty registers itself in its ``connect()``); it is asked
only while its package is in ``JOURNEY["TOOLS"]``.  Without it no consent is recorded anywhere, so
``CONSENT_POLICY = "consent"`` allows no one and ``"notice"`` everyone (an unsubscribe still suppresses the
address), and no account has a preferred language."""

from __future__ import annotations

from typing import Protocol

from ..conf import journey_settings, tool_installed


class ProfileProvider(Protocol):
    def marketing_allowed_users(self, user_ids) -> set: ...

    def languages_for(self, user_ids) -> dict: ...


#: {tool package: provider}
_PROVIDERS: dict[str, ProfileProvider] = {}


def register_profiles(package: str, provider: ProfileProvider) -> None:
    """Let the tool package ``package`` answer for the customers' consent and languages while it runs."""
    _PROVIDERS[package] = provider


def _provider() -> ProfileProvider | None:
    for package, provider in _PROVIDERS.items():
        if tool_installed(package):
            return provider
    return None


def marketing_allowed_users(user_ids) -> set:
    """Of the given account ids, those that may get marketing messages."""
    provider = _provider()
    if provider is not None:
        return provider.marketing_allowed_users(user_ids)
    return {pk for pk in user_ids if pk} if journey_settings.CONSENT_POLICY != "consent" else set()


def languages_for(user_ids) -> dict:
    """``{account id: language}`` for the given accounts that have a preferred language."""
    provider = _provider()
    return provider.languages_for(user_ids) if provider is not None else {}
