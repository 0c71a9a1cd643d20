"""The time budget of a search, planned up front so that it bounds the whole run.

A user who asks for ``time_budget=300`` expects an answer in five minutes, not
a five-minute search followed by as long again of scoring. So the budget is
split before the search starts, from what the run has measured by then:

1. the catalog laws are scored first; their cost per law is the measured unit;
2. the engines get what is left after a reserve for scoring the laws they will
   hand over (:data:`HANDED_OVER` per engine and :data:`NEIGHBOURS` simpler
   variants, each costing :data:`DISCOVERED_COST` catalog laws), a share of the
   budget for the bootstrap (:data:`BOOTSTRAP_SHARE`) and one for the reports,
   within :data:`MIN_SEARCH_SHARE` and :data:`MAX_SEARCH_SHARE` of the budget;
3. the handed-over laws are scored in the engines' order (best and simplest
   taking turns) until the bootstrap's share is reached, each engine's best law
   always (the rest are left out, and the results say how many);
4. the bootstrap gets the time left, an equal share per law, the recommended
   law first; each law keeps the resamples done in its share, and the results
   say how many the recommended law's intervals rest on.

Each part is bounded by the clock, so an estimate that is off costs laws or
resamples, never the deadline. The constants were set on the SLD tables at 120 s
(developed there, then checked on the real suite).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

#: Laws an engine hands over, about (the grammar's 15 best plus its simplest good ones).
HANDED_OVER = 25
#: A discovered law costs about this many catalog laws to score: it has about twice their constants,
#: and a fit's cost grows with their square (measured 4-9x on the SLD and Chinchilla-shaped tables).
DISCOVERED_COST = 4.0
#: Simpler neighbours scored after the first ranking, about (five laws, three neighbours each).
NEIGHBOURS = 15
#: Left for writing results.json and the reports, as a share of the budget and at least this many seconds.
REPORT_SHARE, REPORT_MIN_S = 0.03, 1.0
#: Kept for the bootstrap when it is asked for, as a share of the budget (it also gets what scoring leaves).
BOOTSTRAP_SHARE = 0.1
#: The engines' share of the budget is never below this (a slow table still gets a search), nor above
#: the second (what they hand over must be judged: a fast catalog says little of their laws' cost).
MIN_SEARCH_SHARE, MAX_SEARCH_SHARE = 0.2, 0.7
#: The engines' share of the time left when nothing measured what scoring a law costs (no catalog law).
UNMEASURED_SHARE = 0.6


@dataclass
class Budget:
    """The run's clock: the total budget, when the run started, and each phase's measured seconds."""

    total: float
    start: float = field(default_factory=time.monotonic)
    phases: dict = field(default_factory=dict)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        """Seconds left before the reports' share, never below 0."""
        return max(0.0, self.total - self.report_reserve() - self.elapsed())

    def report_reserve(self) -> float:
        return max(REPORT_MIN_S, REPORT_SHARE * self.total)

    def deadline(self) -> float:
        """The monotonic time at which scoring and the bootstrap must be done."""
        return self.start + self.total - self.report_reserve()

    def phase(self, name: str, seconds: float) -> None:
        self.phases[name] = round(self.phases.get(name, 0.0) + seconds, 3)

    def search_seconds(self, per_law: float | None, n_engines: int, bootstrap: bool) -> float:
        """The engines' share: what is left after scoring what they hand over, and the bootstrap.
        ``per_law`` None (no law was fitted before the search to measure it): :data:`UNMEASURED_SHARE`
        of what is left."""
        if per_law is None:
            wanted = UNMEASURED_SHARE * self.left()
        else:
            reserve = per_law * DISCOVERED_COST * (HANDED_OVER * max(n_engines, 1) + NEIGHBOURS)
            wanted = self.left() - reserve - self.bootstrap_reserve(bootstrap)
        return min(MAX_SEARCH_SHARE * self.total, max(MIN_SEARCH_SHARE * self.total, wanted))

    def bootstrap_reserve(self, bootstrap: bool) -> float:
        """Seconds kept for the bootstrap (scoring must end this long before the deadline)."""
        return BOOTSTRAP_SHARE * self.total if bootstrap else 0.0


class Deadline:
    """A stop flag that is also set when the clock passes ``at`` (truthy then), so that a loop that
    honours a stop request also ends on time; ``passed`` says whether the clock ended it."""

    def __init__(self, at: float, stop=None):
        self.at, self.stop = at, stop
        self.reason = getattr(stop, "reason", "")

    @property
    def passed(self) -> bool:
        return time.monotonic() > self.at

    def __bool__(self) -> bool:
        return bool(self.stop) or self.passed


__all__ = ["Budget", "Deadline", "HANDED_OVER", "DISCOVERED_COST", "BOOTSTRAP_SHARE", "MIN_SEARCH_SHARE",
           "MAX_SEARCH_SHARE", "UNMEASURED_SHARE"]
