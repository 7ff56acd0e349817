"""Hunting bugs like a model checker: the classic Raft bugs behind switches
(``BUGS``), a search over schedules and faults that finds a violation and shrinks it
(``explore``), and the MIT 6.5840 Raft lab's tests as a gallery (``labs``).

Uses ``sim`` and ``check``, never ``viz``: the search runs headless, in tests and in
worker processes. A notebook's progress display is plugged in from outside
(``search.DISPLAY``).
"""

from .classic import BUGS, BugCatalogue, ClassicBug
from .result import ExploreResult, SearchStats
from .search import Progress, explore

__all__ = [
    "BUGS",
    "BugCatalogue",
    "ClassicBug",
    "ExploreResult",
    "Progress",
    "SearchStats",
    "explore",
]
