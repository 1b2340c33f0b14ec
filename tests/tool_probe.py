"""What of a tool package is active in this process: its jobs, beat entries, Celery tasks, URLs, admin pages, signal
receivers, mail kinds, erasers, tools on the map and loaded modules.

Used by the switch-off test (``tests/tool_switch_check.py``, in a child process with a settings module that leaves a
package out of JOURNEY["TOOLS"]: everything must be empty) and, as its control, in the test process where the package
is on (every part it has must be found).  Each part is found by where the code lives (the package's modules), not by
a list of names, so a receiver or a job added to the package later is covered too.
"""

from __future__ import annotations

import gc
import importlib
import sys
import weakref

from django.conf import settings
from django.dispatch import Signal
from django.urls import URLPattern, URLResolver, get_resolver


def _in(package, obj) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == package or module.startswith(package + ".")


def _callables(package, objects):
    return sorted({f"{getattr(o, '__module__', '')}.{getattr(o, '__qualname__', repr(o))}" for o in objects
                   if _in(package, o)})


def jobs(package):
    from journey.core.jobs import all_jobs

    return sorted(job.key for job in all_jobs() if job.func.startswith(package + "."))


def declared_jobs(package):
    """The jobs the package declares in its ``jobs.py`` (pure data), installed or not."""
    try:
        module = importlib.import_module(f"{package}.jobs")
    except ModuleNotFoundError:
        return ()
    return tuple(module.JOBS)


def beat_entries(package):
    """Beat entries sending one of the package's own tasks, or running one of its jobs through the generic task."""
    declared = declared_jobs(package)
    tasks = {job.task for job in declared if job.task != "journey.run_job"}
    keys = {job.key for job in declared}
    schedule = getattr(settings, "CELERY_BEAT_SCHEDULE", {})
    return sorted(name for name, entry in schedule.items()
                  if entry["task"] in tasks or (entry["task"] == "journey.run_job"
                                                and set(entry.get("args") or ()) & keys))


def celery_tasks(package):
    from celery import current_app

    return sorted(name for name, task in current_app.tasks.items() if _in(package, task))


def _patterns(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def urls(package):
    return sorted(path for path, view in _patterns(get_resolver())
                  if _in(package, view) or _in(package, getattr(view, "__wrapped__", None))
                  or _in(package, getattr(view, "model_admin", None)))


def admin_pages(package):
    from django.contrib import admin

    return sorted(f"{model._meta.label}" for model, model_admin in admin.site._registry.items()
                  if _in(package, type(model_admin)))


def receivers(package):
    """Every receiver of the package connected to any signal in the process (Django's, Oscar's, journey's…)."""
    found = set()
    for signal in [o for o in gc.get_objects() if issubclass(type(o), Signal)]:  # type(): never wake a lazy object
        for _key, ref, *_rest in signal.receivers:
            receiver = ref() if isinstance(ref, weakref.ReferenceType) else ref
            if receiver is not None and _in(package, getattr(receiver, "__func__", receiver)):
                found.add(f"{receiver.__module__}.{receiver.__qualname__}")
    return sorted(found)


def mail_kinds(package):
    from journey.core.outbox.kinds import registered_kinds

    return sorted(key for key, kind in registered_kinds().items()
                  if _in(package, kind.build_context) or _in(package, kind.prepare_batch))


def erasers(package):
    from journey.core import privacy

    return sorted(label for label, func in privacy.erasers().items() if _in(package, func))


def map_tools(package):
    """Keys on the journey map that the package's ``tool.register_all`` declares."""
    from django.utils.module_loading import import_string

    from journey.core.registry import ToolRegistry, registry

    own = ToolRegistry(load_builtins=False)
    import_string(f"{package}.tool.register_all")(own)
    keys = {tool.key for tool in own.all()}
    return sorted(tool.key for tool in registry.all() if tool.key in keys)


def loaded_modules(package, allowed=()):
    """The package's modules imported in this process, except its models (one app label: its tables stay), its
    settings defaults and job declarations (pure data a settings module may read) and the packages above them."""
    names = {name for name in sys.modules if name == package or name.startswith(package + ".")}
    pure = (f"{package}.settings", f"{package}.jobs")
    keep = {name for name in names if name.endswith(".models") or name in pure or name in allowed}
    for name in list(keep):
        parts = name.split(".")
        keep |= {".".join(parts[:i]) for i in range(1, len(parts))}
    return sorted(names - keep)


def active_parts(package):
    """{part: [what is active]} for the package; call ``loaded_modules`` first (this imports the package's ``tool``
    and ``jobs`` modules to know what it declares)."""
    return {
        "jobs": jobs(package),
        "beat schedule": beat_entries(package),
        "celery tasks": celery_tasks(package),
        "urls": urls(package),
        "admin": admin_pages(package),
        "receivers": receivers(package),
        "mail kinds": mail_kinds(package),
        "erasers": erasers(package),
        "journey map": map_tools(package),
    }
