"""The demo shop exactly as it is, minus journey: the baseline for the storefront overhead benchmark."""

from shop.settings import *  # noqa: F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "journey"]  # noqa: F405
MIDDLEWARE = [entry for entry in MIDDLEWARE if not entry.startswith("journey.")]  # noqa: F405
ROOT_URLCONF = "bench.urls_without_journey"
OSCAR_DASHBOARD_NAVIGATION = [  # noqa: F405
    entry for entry in OSCAR_DASHBOARD_NAVIGATION if entry.get("icon") != "fas fa-route"  # noqa: F405
]
CELERY_BEAT_SCHEDULE = {}
JOURNEY = {}
# The demo's templates load journey's tag library: give them one whose tags render nothing.
# The demo's catalogue cards include journey's product-title partial (a plain template, no tag): the templates folder
# stays reachable, the tags do not.
TEMPLATES = [{
    **TEMPLATES[0],  # noqa: F405
    "DIRS": [*TEMPLATES[0]["DIRS"], BASE_DIR / "journey" / "templates"],  # noqa: F405
    "OPTIONS": {
        **TEMPLATES[0]["OPTIONS"],  # noqa: F405
        "libraries": {library: f"bench.{library}_stub"
                      for library in ("journey_tags", "journey_promotions", "journey_consent", "journey_ga4",
                                    "journey_onsite")},
    },
}]
