"""``{% load journey_tags %}`` for the shop without journey: every tag of journey's library renders nothing.

The demo shop's own templates (``templates/``) use journey's tags; the baseline shop has no journey app, so its
templates would not compile.  A shop without journey would not have those tags at all; a tag that renders "" is the
closest equivalent.  The names are read from journey's source (not imported: journey is not an installed app here),
so tags added to journey later are stubbed too.  A library module that only re-exports a tool package's ``register``
(``from ..related.tags import register``) is followed to that module."""

import ast
from pathlib import Path

from django import template

TEMPLATETAGS = Path(__file__).resolve().parent.parent / "journey" / "templatetags"


def _registered(source):
    """(kind, name) of each function decorated with @register.<kind>(…) in ``source``."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(target, ast.Attribute) and getattr(target.value, "id", "") == "register":
                yield target.attr, node.name


def _nothing(*args, **kwargs):
    return ""


def _same(value, *args):
    return value


def _sources(path: Path):
    """The library module's source and, when it imports its ``register`` from another module of journey, that one's."""
    if not path.exists():
        return
    source = path.read_text()
    yield source
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level and any(a.name == "register" for a in node.names):
            base = path.parent
            for _ in range(node.level - 1):
                base = base.parent
            yield from _sources(base.joinpath(*(node.module or "").split(".")).with_suffix(".py"))


def stub_library(library: str) -> template.Library:
    """A tag library with the tags and filters of journey's ``library``, each rendering nothing."""
    stub = template.Library()
    for source in _sources(TEMPLATETAGS / f"{library}.py"):
        for kind, name in _registered(source):
            if kind == "filter":
                stub.filter(name, _same)
            else:
                stub.simple_tag(_nothing, name=name)
    return stub


register = stub_library("journey_tags")
