"""Who may get marketing messages and in which language: the customer-profile tool answers when it runs, else the
consent policy alone decides (journey.core.audience)."""

import pytest

from journey.core import audience


class Profiles:
    def marketing_allowed_users(self, ids):
        return {pk for pk in ids if pk and pk % 2}

    def languages_for(self, ids):
        return dict.fromkeys(ids, "es")


@pytest.fixture
def provider():
    saved = dict(audience._PROVIDERS)
    audience.register_profiles("journey.loyalty", Profiles())
    yield
    audience._PROVIDERS.clear()
    audience._PROVIDERS.update(saved)


def test_the_profile_tool_answers_when_it_runs(provider):
    assert audience.marketing_allowed_users([1, 2, 3, None]) == {1, 3}
    assert audience.languages_for([4]) == {4: "es"}


def test_without_the_profile_tool_the_consent_policy_decides(provider, settings):
    settings.JOURNEY = {**settings.JOURNEY, "TOOLS": ("journey.recovery",)}
    assert audience.marketing_allowed_users([1, 2, None]) == {1, 2}
    assert audience.languages_for([4]) == {}
    settings.JOURNEY = {**settings.JOURNEY, "CONSENT_POLICY": "consent"}
    assert audience.marketing_allowed_users([1, 2]) == set()


def test_loyalty_registers_itself_as_the_profile_tool():
    from journey.loyalty import api

    assert audience._PROVIDERS["journey.loyalty"] is api
