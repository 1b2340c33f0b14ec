"""The tool registry: every journey tool declares what it is, which phases it serves and how healthy it is.

A tool is a plain :class:`Tool` value.  journey registers its own tools and the Oscar features that already
serve a journey phase (site offers, vouchers, reviews, wish lists…), so the journey map shows the whole shop.
A host shop can add its own with ``JOURNEY["EXTRA_TOOLS"]`` (dotted paths) or ``registry.register(tool)``
in its ``AppConfig.ready()``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from django.core.signals import setting_changed
from django.db import models
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from ..conf import journey_settings, tool_package_problem, tool_packages
from ..exceptions import JourneyConfigurationError, UnknownTool
from ..phases import Phase

logger = logging.getLogger(__name__)


class Touchpoint(models.TextChoices):
    """Where the shopper meets a tool."""

    WEB = "web", _("Web page")
    EMAIL = "email", _("Email")
    AD = "ad", _("Ad link")
    ADMIN = "admin", _("Store admin")


class Status(models.TextChoices):
    """Health of a tool, worst last."""

    OK = "ok", _("Running")
    IDLE = "idle", _("Not in use")
    OFF = "off", _("Turned off")
    WARNING = "warning", _("Needs attention")
    ERROR = "error", _("Broken")

    @property
    def severity(self):
        return [Status.OK, Status.OFF, Status.IDLE, Status.WARNING, Status.ERROR].index(self)


@dataclass(frozen=True)
class Health:
    status: Status
    message: str | Promise = ""

    @classmethod
    def ok(cls, message=""):
        return cls(Status.OK, message)

    @classmethod
    def idle(cls, message=""):
        return cls(Status.IDLE, message)

    @classmethod
    def warning(cls, message=""):
        return cls(Status.WARNING, message)

    @classmethod
    def error(cls, message=""):
        return cls(Status.ERROR, message)


@dataclass(frozen=True)
class Metric:
    """One number a tool shows on the journey map for a period."""

    label: str | Promise
    value: object
    kind: str = "count"  # count | money | percent | text


@dataclass(frozen=True)
class OrderTouch:
    """Something a tool did that a shopper acted on before an order, for attribution (``Tool.touches``): found by
    the customer (``user_id``), by a guest's address (``email``) or on the order itself (``order_id``: a basket
    recovered, a voucher redeemed on it).  ``at`` is when it happened (None: when the order was placed)."""

    at: datetime | None
    kind: str  # landing | mail_clicked | related_click | recovered | voucher
    user_id: int | None = None
    email: str = ""
    order_id: int | None = None
    ref: str = ""
    label: str = ""
    tool: str = ""  # "": the tool that declared it


@dataclass(frozen=True)
class Holdout:
    """A tool measured with a randomized control group (journey.core.experiments): the share of people held out by
    default (Decimal 0–1; "0" = off until the owner sets one), where the tool acts (``mail``: the outbox's holdout
    gate; ``onsite``), and the conversion window: an order within ``window_days`` after the decision counts."""

    share: str = "0.10"
    surface: str = "mail"
    window_days: int = 7


@dataclass(frozen=True)
class Tool:
    key: str
    name: str | Promise
    description: str | Promise
    phases: Sequence[Phase]
    touchpoints: Sequence[Touchpoint] = ()
    # () -> Health.  Cheap: the journey map calls it on every view.
    health: Callable[[], Health] | None = None
    # (start: datetime, end: datetime) -> list[Metric].  The journey map calls it for the chosen period.
    metrics: Callable[[datetime, datetime], list[Metric]] | None = None
    # (start, end, products=None) -> {store day: value}: the tool's main number per store day of [start, end) (the
    # journey map's sparkline, titled ``series_title``).  ``products`` (product ids) asks for a category's or a
    # product's part of it; a tool that cannot tell returns its whole-shop numbers.  Without it, the map charts the
    # tool's journey events per day.
    series: Callable[..., dict[date, object]] | None = None
    series_title: str | Promise = ""
    # (orders, start, end, since) -> iterable of OrderTouch: what the tool did, from ``since`` to ``end``, that the
    # customers of ``orders`` (an Order queryset, placed in [start, end)) acted on — insights' attribution.
    touches: Callable[..., Iterable[OrderTouch]] | None = None
    # Keys of the periodic jobs (journey.core.jobs) the tool needs; a stale job makes the tool "not running".
    jobs: Sequence[str] = ()
    # Where a store owner configures it (a URL name), if anywhere.
    admin_url_name: str | None = None
    provider: str = "journey"  # journey | oscar | the host's own name
    order: int = 100
    # Measured with a holdout (journey.core.experiments), or None.
    holdout: Holdout | None = None

    def __post_init__(self):
        if not self.key or not self.key.replace("_", "").isalnum():
            raise JourneyConfigurationError(f"Tool key {self.key!r} must be letters, digits and underscores.")
        if not self.phases:
            raise JourneyConfigurationError(f"Tool {self.key!r} must serve at least one phase.")
        object.__setattr__(self, "phases", tuple(Phase(p) for p in self.phases))
        object.__setattr__(self, "touchpoints", tuple(Touchpoint(t) for t in self.touchpoints))
        object.__setattr__(self, "jobs", tuple(self.jobs))

    @property
    def enabled(self):
        return self.key not in set(journey_settings.DISABLED_TOOLS)

    def check_health(self) -> Health:
        """The tool's health, never raising: a failing check is itself reported as broken."""
        if not self.enabled:
            return Health(Status.OFF, _("Turned off in settings (JOURNEY['DISABLED_TOOLS'])."))
        from .jobs import stale_jobs

        try:
            health = self.health() if self.health else Health.ok()
        except Exception as exc:  # a broken check must not break the map
            logger.exception("Health check of journey tool %s failed", self.key)
            return Health.error(_("Health check failed: %(error)s") % {"error": exc})
        stale = stale_jobs(self.jobs)
        if stale and health.status in (Status.OK, Status.IDLE):
            return Health.warning(
                _("Not running: job %(jobs)s has not run on time. Start a Celery worker with beat, "
                  "or run 'manage.py journey_tick' from cron.") % {"jobs": ", ".join(stale)}
            )
        return health

    def get_metrics(self, start, end) -> list[Metric]:
        if not self.metrics or not self.enabled:
            return []
        try:
            return list(self.metrics(start, end))
        except Exception:
            logger.exception("Metrics of journey tool %s failed", self.key)
            return []

    def get_series(self, start, end, products=None) -> dict | None:
        """{store day: value} from the tool's ``series`` (None: it has none, or it failed — logged)."""
        if not self.series:
            return None
        try:
            if products is None:
                return dict(self.series(start, end))
            return dict(self.series(start, end, products=products))
        except Exception:  # a broken series must not break the map
            logger.exception("Series of journey tool %s failed", self.key)
            return None

    def get_touches(self, orders, start, end, since) -> list[OrderTouch]:
        """The tool's touches for attribution, each with its ``tool`` set."""
        if not self.touches:
            return []
        return [touch if touch.tool else replace(touch, tool=self.key)
                for touch in self.touches(orders, start, end, since)]


@dataclass
class ToolRegistry:
    _tools: dict[str, Tool] = field(default_factory=dict)
    _extra_loaded: bool = False
    _builtins_loaded: bool = False
    _extra_keys: set = field(default_factory=set)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # The packages whose tools are registered now (JOURNEY["TOOLS"] when they were loaded), and their tool keys.
    _packages: tuple[str, ...] | None = None
    _builtin_keys: set = field(default_factory=set)
    # False: an empty registry (tests), only what register() adds.
    load_builtins: bool = True

    def register(self, tool: Tool, *, replace=False) -> Tool:
        with self._lock:
            if tool.key in self._tools and not replace and self._tools[tool.key] != tool:
                raise JourneyConfigurationError(f"A journey tool with key {tool.key!r} is already registered.")
            self._tools[tool.key] = tool
        return tool

    def unregister(self, key: str) -> None:
        with self._lock:
            self._tools.pop(key, None)

    def _load(self):
        with self._lock:
            packages = tool_packages() if self.load_builtins else ()
            if self._builtins_loaded and self._packages != packages:  # JOURNEY["TOOLS"] changed
                for key in self._builtin_keys:
                    self._tools.pop(key, None)
                self._builtin_keys.clear()
                self._builtins_loaded = False
            if not self._builtins_loaded:
                self._builtins_loaded, self._packages = True, packages
                before = set(self._tools)
                if self.load_builtins:
                    # Oscar's own features, then each installed tool package's ``tool.register_all``.
                    import_string("journey.core.oscar_tools.register_all")(self)
                    for package in packages:
                        if tool_package_problem(package) is None:  # else the system check journey.E030 says why
                            import_string(f"{package}.tool.register_all")(self)
                self._builtin_keys = set(self._tools) - before
            if not self._extra_loaded:
                self._extra_loaded = True
                for path in journey_settings.EXTRA_TOOLS:
                    try:
                        obj = import_string(path)
                    except ImportError as exc:
                        raise JourneyConfigurationError(
                            f"JOURNEY['EXTRA_TOOLS'] names {path!r}, which cannot be imported: {exc}"
                        ) from exc
                    tool = obj() if callable(obj) and not isinstance(obj, Tool) else obj
                    if not isinstance(tool, Tool):
                        raise JourneyConfigurationError(f"JOURNEY['EXTRA_TOOLS'] entry {path!r} is not a Tool.")
                    self.register(tool, replace=True)
                    self._extra_keys.add(tool.key)

    def reset_extra(self):
        """Forget host-added tools so a changed JOURNEY['EXTRA_TOOLS'] is read again."""
        with self._lock:
            for key in self._extra_keys:
                self._tools.pop(key, None)
            self._extra_keys.clear()
            self._extra_loaded = False

    def all(self) -> list[Tool]:
        self._load()
        return sorted(self._tools.values(), key=lambda t: (t.order, str(t.name)))

    def get(self, key: str) -> Tool:
        self._load()
        try:
            return self._tools[key]
        except KeyError:
            raise UnknownTool(key) from None

    def by_phase(self) -> dict[Phase, list[Tool]]:
        """Every phase in journey order, each with the tools that serve it (a tool may serve several)."""
        columns = {phase: [] for phase in Phase}
        for tool in self.all():
            for phase in tool.phases:
                columns[phase].append(tool)
        return columns


registry = ToolRegistry()
register = registry.register


def _reset_caches(*, setting, **kwargs):
    if setting in ("JOURNEY", "TIME_ZONE"):
        registry.reset_extra()


setting_changed.connect(_reset_caches)
