"""The tool registry's public name for host shops: ``from journey.registry import registry, Tool, Health, Metric``.

It lives in ``journey.core.registry`` (the core keeps it, so the core and the registry form no import cycle).
"""

from .core.registry import (
    Health,
    Holdout,
    Metric,
    OrderTouch,
    Status,
    Tool,
    ToolRegistry,
    Touchpoint,
    register,
    registry,
)

__all__ = ["Health", "Holdout", "Metric", "OrderTouch", "Status", "Tool", "ToolRegistry", "Touchpoint", "register",
           "registry"]
