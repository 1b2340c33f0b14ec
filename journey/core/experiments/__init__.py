"""Randomized holdouts (and variants) for every tool that acts on a person: who is in which group, decided once
per person and period with a keyed draw, the orders each person placed within the tool's window, and erasure that
keeps the sums.  The numbers (intervals, verdicts) are computed above the tools, in journey.insights.incrementality.
See docs/measurement.md."""


def connect():
    """Wire the holdout gate, the order receiver and the eraser (called by the core's receivers.connect())."""
    from . import gate, outcomes, privacy

    gate.connect()
    outcomes.connect()
    privacy.connect()
