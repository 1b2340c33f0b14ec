"""The ``JOURNEY`` settings dict: documented defaults, read at call time.

Use ``from journey.conf import journey_settings`` and read attributes
(``journey_settings.SITE_URL``) where they are needed — never copy one into a
module-level constant, or ``override_settings(JOURNEY=...)`` stops working.
Every key is documented in docs/settings.md.
"""

import importlib
from functools import cache

from django.conf import settings

from .exceptions import JourneyConfigurationError

# journey's own tool packages (each wires itself: see docs/architecture.md).  Named by string: the kernel imports no
# tool; each package's ``settings`` module (pure data) adds its keys to DEFAULTS below.
BUILTIN_TOOLS = ("journey.recovery", "journey.related", "journey.promotions", "journey.loyalty", "journey.browse",
                 "journey.pricedrops", "journey.insights")

DEFAULTS = {
    # Absolute base URL of the storefront, used for links in mails ("https://shop.example.com").
    "SITE_URL": None,
    # From address for journey's mails; None means DEFAULT_FROM_EMAIL.
    "FROM_EMAIL": None,
    # The store's time zone for anything "daily" (birthdays, quiet hours, reports); None means TIME_ZONE.
    "STORE_TIME_ZONE": None,
    # The tool packages this shop runs: a package left out is off entirely (no jobs, urls, admin, receivers or
    # template output; its tables stay, journey has one app label).  A host's own tool package may be added.
    "TOOLS": BUILTIN_TOOLS,
    # Registry keys of tools the shop turned off (they stay on the map, marked "off").
    "DISABLED_TOOLS": (),
    # Dotted paths of extra Tool objects (or callables returning one) a host shop registers.
    "EXTRA_TOOLS": (),
    # Per-job overrides of the run interval, in seconds: {"heartbeat": 120}.
    "JOB_INTERVALS": {},
    # How long a claimed job may run before another runner may take it over (seconds).
    "JOB_LEASE_SECONDS": 15 * 60,
    # A job whose last successful run is older than this many intervals is reported as "not running".
    "JOB_STALE_AFTER_INTERVALS": 3,
    # Outbox ------------------------------------------------------------------------------------------------
    # Messages claimed and sent per batch (one Celery task per batch).
    "SEND_BATCH_SIZE": 100,
    # How long one run of the send job may keep claiming batches (seconds).
    "SEND_JOB_SECONDS": 30,
    # Transient ESP failures are retried this many times in all, with exponential backoff from the base delay.
    "SEND_MAX_ATTEMPTS": 5,
    "SEND_RETRY_BASE_SECONDS": 60,
    # A message left "sending" longer than this was abandoned by a dead worker or a lost task: the sweeper acts.
    "SEND_STALE_AFTER_SECONDS": 300,
    # An on-site message is shown for this many days after it was sent (then it lapses, unseen or not).
    "ONSITE_MESSAGE_DAYS": 7,
    # Frequency cap across every tool (docs/mail.md): at most "messages" marketing messages per person (address
    # and customer account) in any "hours" window, enforced at send time; transactional mail is never capped.
    # E.g. {"messages": 2, "hours": 24}; optional "max_wait_hours" (default: "hours"): how long a message held back
    # may wait for room before it is dropped; "channels" (default ["email"]): the channels counted and capped.
    # None or 0 messages: off.
    "FREQUENCY_CAP": None,
    # Priorities for the cap (lower goes first), by message kind or tool key: {"winback": 70, "recovery.step": 5}.
    # Without an entry, each kind's own (recovery 10, post-purchase 40, birthday 50, win-back 60; 50 otherwise).
    "MESSAGE_PRIORITIES": {},
    # How long the unsubscribe link in a mail works.
    "UNSUBSCRIBE_TOKEN_DAYS": 365,
    # Consent policy for marketing mail: "notice" (any captured email, with a notice at capture and an
    # unsubscribe link in every mail) or "consent" (only addresses with an explicit opt-in).
    "CONSENT_POLICY": "notice",
    # Give every single-use voucher (not only journey's personal ones) a unique redemption row at order
    # placement, so no single-use code is redeemed twice under concurrency (django-oscar #4580).
    "GUARD_SINGLE_USE_VOUCHERS": True,
    # Holdouts (docs/measurement.md) ---------------------------------------------------------------------------
    # The holdout share a measured tool's first period starts with: None = the tool's own default (10 % for the
    # mails, 0 = off for on-site tools); e.g. "0" starts every tool unmeasured.  Staff change it per tool in admin.
    "HOLDOUT_START_SHARE": None,
    # Post-purchase and win-back (Retain) ---------------------------------------------------------------------
    # Order statuses (the shop's own names, compared case-insensitively) meaning the order was cancelled or
    # refunded: its post-purchase mail is cancelled, and it counts neither as an order nor as revenue.
    "ORDER_CANCELLED_STATUSES": ("Cancelled", "Canceled", "Refunded"),
    # First-party events, consent and tracking (docs/privacy-and-tracking.md) ---------------------------------
    # Record journey events (product views, basket, checkout, orders, mails, vouchers, landings…).
    "EVENTS_ENABLED": True,
    # Record requests from bots and crawlers too (flagged with device "bot"); by default they are ignored.
    "EVENTS_RECORD_BOTS": False,
    # Visitor id of a shopper who has not allowed analytics cookies: "daily" (a keyed digest of day, address and
    # browser; no cookie), "session" (a digest of the session key, when there is a session) or "none".
    "EVENTS_ANONYMOUS_VISITOR": "daily",
    # Header holding the client address behind a proxy (e.g. "HTTP_X_FORWARDED_FOR"); None: REMOTE_ADDR.  Used by
    # events, consent records and every throttle (journey.core.events.client_ip).
    "CLIENT_IP_HEADER": None,
    # How many proxies of the shop append to that header: the entry this far from the right is the client's (the
    # ones left of it are sent by the client and could be forged).
    "CLIENT_IP_PROXY_COUNT": 1,
    # The first-party visitor cookie, set only with analytics consent.
    "VISITOR_COOKIE_NAME": "journey_vid",
    "VISITOR_COOKIE_DAYS": 395,
    # A visit ends after this many minutes without an event (landings are counted once per visit and source).
    "VISIT_MINUTES": 30,
    # Path prefixes never counted as landings (admin, dashboard, journey's own links and beacons).
    "LANDING_IGNORE_PATHS": ("/admin/", "/dashboard/", "/journey/", "/accounts/logout/"),
    # Pages whose address is a secret (a token or hash in the path): URL names ("namespace:name") or regular
    # expressions on the path starting with "^".  journey stores no path of them, loads no GA4 / Hotjar / chat on
    # them and sends them with "Referrer-Policy: no-referrer" (docs/privacy-and-tracking.md).
    "SECRET_URLS": ("password-reset-confirm", "customer:anon-order", "customer:anon-order-form",
                    "journey:restore-basket", "journey:unsubscribe", r"^/(?:.*/)?password-reset/confirm/",
                    r"^/(?:.*/)?order-status(?:-form)?/"),
    # Other host names of this shop (a referrer from them is not external).
    "OWN_HOSTS": (),
    # Consent banner: shown by {% journey_consent_banner %} until the visitor chooses.
    "CONSENT_BANNER": True,
    "CONSENT_COOKIE_NAME": "journey_consent",
    "CONSENT_COOKIE_DAYS": 180,
    # Change it when the banner's wording or the tools behind a category change: everyone is asked again.
    "CONSENT_VERSION": "1",
    # URL of the shop's privacy / cookie policy, linked from the banner (None: no link).
    "PRIVACY_POLICY_URL": None,
    # Hotjar site id (analytics consent) and a chat widget: "crisp" (website id) or "tawk" ("property/widget").
    "HOTJAR_SITE_ID": None,
    "CHAT_PROVIDER": None,
    "CHAT_ID": None,
    # Consent category the chat widget waits for: "marketing" (default), "analytics" or "necessary".
    "CHAT_CONSENT_CATEGORY": "marketing",
    # Privacy: events, sent mails and consent records older than this many days are deleted by a daily job.
    "EVENT_RETENTION_DAYS": 395,
    "MESSAGE_RETENTION_DAYS": 730,
    "CONSENT_RETENTION_DAYS": 3 * 365,
    # PostgreSQL: the events table has one partition per month; the daily event_partitions job creates the current
    # month's and this many months ahead (a DEFAULT partition takes any row no month covers).
    "EVENT_PARTITION_MONTHS_AHEAD": 3,
    # Rows deleted per statement by the retention job.
    "RETENTION_BATCH_SIZE": 5000,
    # Seconds a process keeps a few small cached values (the live related-products build, the version of the live
    # quantity promotions) instead of asking the shared cache on every page; 0: ask every time.
    "PROCESS_CACHE_SECONDS": 5,
}


@cache
def _package_defaults(packages: tuple[str, ...]) -> dict:
    """DEFAULTS with the keys of the given tool packages' ``settings`` modules (a package without one adds none)."""
    merged = dict(DEFAULTS)
    for package in packages:
        try:
            module = importlib.import_module(f"{package}.settings")
        except ModuleNotFoundError as exc:
            # No settings module, or no such package at all (the system check journey.E030 names it).
            if not exc.name or not f"{package}.settings".startswith(exc.name):
                raise
            continue
        merged.update(getattr(module, "DEFAULTS", {}))
    return merged


def _user_settings() -> dict:
    user = getattr(settings, "JOURNEY", None) or {}
    if not isinstance(user, dict):
        raise JourneyConfigurationError("settings.JOURNEY must be a dict.")
    return user


def tool_packages() -> tuple[str, ...]:
    """The tool packages this shop runs (``JOURNEY["TOOLS"]``), in order, read at call time."""
    packages = _user_settings().get("TOOLS", BUILTIN_TOOLS)
    if isinstance(packages, str) or not all(isinstance(p, str) for p in packages):
        raise JourneyConfigurationError("JOURNEY['TOOLS'] must be a list of dotted package paths.")
    return tuple(packages)


def tool_installed(package: str) -> bool:
    """Whether the tool package (e.g. ``"journey.loyalty"``) is on in ``JOURNEY["TOOLS"]``."""
    return package in tool_packages()


def tool_modules(name: str):
    """The given module (``"jobs"``, ``"urls"``, ``"admin"``, ``"tasks"``…) of every installed tool package that
    has one, imported, in ``JOURNEY["TOOLS"]`` order: how the central files loop over the tools."""
    modules = []
    for package in tool_packages():
        module = f"{package}.{name}"
        try:
            modules.append(importlib.import_module(module))
        except ModuleNotFoundError as exc:
            # The package has no such module, or the package itself is missing (system check journey.E030).
            if not exc.name or not (module == exc.name or module.startswith(exc.name + ".")):
                raise
    return modules


def tool_package_problem(package: str) -> str | None:
    """Why journey cannot use the ``JOURNEY["TOOLS"]`` entry ``package`` (None: it can): the package must import
    and have a ``tool`` module with ``register_all(registry)`` and ``connect()``."""
    try:
        importlib.import_module(package)
    except ImportError as exc:
        return f"cannot be imported ({exc})"
    try:
        tool = importlib.import_module(f"{package}.tool")
    except ModuleNotFoundError as exc:
        if exc.name == f"{package}.tool":
            return "has no tool module (tool.py)"
        return f"has a tool module that cannot be imported ({exc})"
    except ImportError as exc:
        return f"has a tool module that cannot be imported ({exc})"
    missing = [f"no {name}()" for name in ("register_all", "connect") if not callable(getattr(tool, name, None))]
    return f"has a tool module with {' and '.join(missing)}" if missing else None


class JourneySettings:
    """Attribute access to ``settings.JOURNEY`` merged over the defaults, at call time.

    The defaults are the core's (``DEFAULTS``) and each tool package's (``<package>.settings.DEFAULTS``): journey's
    own packages always (a tool turned off keeps its keys known), and any other package named in ``TOOLS``."""

    def defaults(self) -> dict:
        packages = tuple(dict.fromkeys((*BUILTIN_TOOLS, *tool_packages())))
        return _package_defaults(packages)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        defaults = self.defaults()
        if name not in defaults:
            raise AttributeError(f"Unknown journey setting {name!r}; see docs/settings.md")
        return _user_settings().get(name, defaults[name])

    def unknown_keys(self):
        """Keys in settings.JOURNEY that journey does not know (typos), for the system check."""
        user = getattr(settings, "JOURNEY", None) or {}
        return sorted(set(user) - set(self.defaults())) if isinstance(user, dict) else []


journey_settings = JourneySettings()
