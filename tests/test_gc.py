"""circle._gc: collection paused inside circle's bulk calls, and as it was afterwards."""

from __future__ import annotations

import gc
import threading

import pytest

from circle._gc import collection_paused, paused_collection


@pytest.fixture(autouse=True)
def _collector_restored():
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_resumed_after_a_return_or_a_raise():
    seen = []

    @paused_collection
    def work(fail: bool) -> int:
        seen.append(gc.isenabled())
        if fail:
            raise ValueError("bad input")
        return 7

    gc.enable()
    assert work(False) == 7
    assert gc.isenabled()
    with pytest.raises(ValueError, match="bad input"):
        work(True)
    assert gc.isenabled()
    assert seen == [False, False]
    assert work.__name__ == "work"  # the wrapped function's name and docs are kept


def test_nested_pauses_resume_once_at_the_outermost_end():
    gc.enable()
    with collection_paused():
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer call is still running
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled():
    gc.disable()
    with collection_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_pauses_in_threads_overlap_and_resume_when_the_last_ends():
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with collection_paused():
            inside.set()
            assert release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert inside.wait(10)
    with collection_paused():
        pass
    assert not gc.isenabled()  # the thread's pause is still on
    release.set()
    thread.join(10)
    assert gc.isenabled()
