"""Third-party tags on the storefront (analytics, heatmaps, chat…): the core renders Google's consent defaults and
the consent banner; what a tag adds to the page — only with the consent it needs — comes from the tool that owns it,
registered here in its ``connect()`` (insights registers GA4, Hotjar and the chat widget).  The core names no tool.

A host shop can add its own::

    from journey.core import third_party

    third_party.register(third_party.TagSet(
        key="pixel",
        head=lambda request, choice: render_to_string("shop/pixel.html") if choice.marketing else "",
        snippets=lambda request, choice, *, secret_page: "" if secret_page or not choice.marketing else "…",
    ))

``head(request, choice)`` returns the HTML ``{% journey_head %}`` puts in ``<head>`` (after the consent defaults);
``snippets(request, choice, *, secret_page)`` the scripts the banner starts on its page right after the visitor
chose (no reload).  Both return "" when the choice does not allow them, and on a page whose address is a secret.
A tag set with a ``package`` renders nothing while that package is not in ``JOURNEY["TOOLS"]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.html import _json_script_escapes

from ..conf import tool_installed


def js_json(value) -> str:
    """JSON safe to put inside a ``<script>`` element."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).translate(_json_script_escapes)


@dataclass(frozen=True)
class TagSet:
    key: str
    head: Callable[..., str]
    snippets: Callable[..., str]
    package: str = ""  # the tool package that owns it (e.g. "journey.insights"); "" for a host's own

    @property
    def active(self) -> bool:
        return not self.package or tool_installed(self.package)


_registered: dict[str, TagSet] = {}


def register(tags: TagSet) -> TagSet:
    """Add (or replace, by key) a set of tags."""
    _registered[tags.key] = tags
    return tags


def unregister(key: str) -> None:
    _registered.pop(key, None)


def registered() -> list[TagSet]:
    return [tags for tags in _registered.values() if tags.active]


def head_html(request, choice) -> str:
    return "".join(tags.head(request, choice) or "" for tags in registered())


def snippets_html(request, choice, *, secret_page=None) -> str:
    return "".join(tags.snippets(request, choice, secret_page=secret_page) or "" for tags in registered())
