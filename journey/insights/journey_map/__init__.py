"""The journey map: the four phases, each with its tools, their health and their numbers for a period, the funnel,
orders and revenue over time, what brought the orders (attribution) and the qualitative lanes of a classic journey
map (persona, what the customer does and thinks, what the shop does, touchpoints, brakes, insights) — for the whole
shop, one category or one product.

It reads the tools only through the registry: each tool's ``health``, ``metrics`` and ``series`` hooks
(``journey.core.registry.Tool``).  ``view`` holds the view models, ``build`` puts the map together, ``series`` the
day-by-day numbers and sparklines, ``lanes`` the notes, personas and candidate brakes, ``export`` the CSV rows.
"""

from .build import build_journey_map, headline_metrics, scheduler_health
from .export import csv_rows
from .view import JourneyMap

__all__ = ["JourneyMap", "build_journey_map", "csv_rows", "headline_metrics", "scheduler_health"]
