"""Database round trips of one search stage, side by side.

Why: a search waits on the database more than it computes, and on FalkorDB one query runs
on one server thread. Lookups that do not depend on each other (the three labels of an
arm, the two halves of the profile query) are sent together, so the stage waits for the
slowest one instead of their sum; their answers come back in the order asked, so what is
built from them is the same as one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: Threads for the lookups of a few searches at a time (up to three per arm, two arms).
#: Apart from the service's arm pool: an arm waits on these, and a pool whose workers wait
#: on tasks queued in that same pool can run out of workers.
_POOL = ThreadPoolExecutor(max_workers=12, thread_name_prefix="impact-graph-search-lookup")


def side_by_side(calls: Sequence[Callable[[], T]]) -> list[T]:
    """The results of ``calls``, run at the same time, in the order given. The first
    call's error (in that order) is raised, as it would have been one after the other."""
    if len(calls) == 1:
        return [calls[0]()]
    futures = [_POOL.submit(call) for call in calls]
    return [f.result() for f in futures]
