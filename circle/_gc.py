"""Python's cyclic garbage collector paused while circle builds many objects at once.

Shapely geometries are objects that CPython's cyclic collector tracks. Building a network
(a million line strings and half a million points on a 500,000-node city), a study or a
report makes CPython run a collection every 700 new objects and, each time enough have
piled up, a full one that walks every object alive, again and again. Measured with
``benchmarks/scale.py``, before and with the pause: on a 150,000-node grid the cached
network load took 0.27-0.30 s and now 0.08 s, the first load 1.24-1.32 s and now 0.83 s; on
the 500,000-node grid the cached load 0.77-0.81 s and now 0.25 s, the first 3.8-4.0 s and
now 2.9 s, the map 2.0-2.1 s and now 1.6 s. On Andorra ``Study.load`` from the cached
network took 0.21 s and now 0.11 s (``benchmarks/end_to_end.py``).

While :func:`paused_collection` functions run, collection is paused, and it resumes when the
outermost one returns (or raises): the objects made meanwhile are then looked at once, not
dozens of times. Reference counting frees everything but cycles at once, as before; cycles
made meanwhile are freed when collection resumes. A collector the caller had disabled stays
disabled. Nested and concurrent calls (threads) share one pause.
"""

from __future__ import annotations

import functools
import gc
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["collection_paused", "paused_collection"]

P = ParamSpec("P")
R = TypeVar("R")


class _Pause:
    """How many callers are inside a pause, and whether to resume collection after."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.resume = False


_PAUSE = _Pause()


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause cyclic garbage collection inside the ``with`` block (module docstring)."""
    with _PAUSE.lock:
        if _PAUSE.depth == 0:
            _PAUSE.resume = gc.isenabled()
            gc.disable()
        _PAUSE.depth += 1
    try:
        yield
    finally:
        with _PAUSE.lock:
            _PAUSE.depth -= 1
            if _PAUSE.depth == 0 and _PAUSE.resume:
                gc.enable()


def paused_collection(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` with cyclic garbage collection paused (module docstring)."""

    @functools.wraps(func)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        with collection_paused():
            return func(*args, **kwargs)

    return paused
