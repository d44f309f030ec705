"""Garbage collection on the GUI thread: once the console is up, what is alive is frozen and
automatic collection is off; cycles made afterwards, in any thread, are collected by the GUI
thread's timer; stopping gives collection back to CPython."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from ui.shell.garbage_collection import GarbageCollector


class Node:
    def __init__(self) -> None:
        self.other: Any = self  # a cycle: only the collector frees it


@pytest.fixture
def collector(qapp: Any) -> Iterator[GarbageCollector]:
    was_enabled = gc.isenabled()
    gc.enable()  # as in a console's process before it starts (the test suite turns it off)
    c = GarbageCollector(interval_ms=20)
    yield c
    c.stop()
    gc.unfreeze()  # the test process goes on as before
    if not was_enabled:
        gc.disable()


def test_collection_moves_to_the_gui_thread_and_back(qtbot, collector: GarbageCollector) -> None:  # type: ignore[no-untyped-def]
    assert gc.isenabled()
    collector.start()
    assert collector.running and not gc.isenabled()
    assert gc.get_freeze_count() > 1000  # modules, classes and the rest of what was alive at start

    collected_in: list[str] = []

    def note(phase: str, _info: dict[str, int]) -> None:
        if phase == "stop":
            collected_in.append(threading.current_thread().name)

    refs: list[weakref.ref[Node]] = []

    def make_cycles() -> None:  # garbage made in a worker thread, as the database threads do
        for _ in range(2000):
            refs.append(weakref.ref(Node()))

    worker = threading.Thread(target=make_cycles, name="db-worker")
    gc.callbacks.append(note)
    try:
        worker.start()
        worker.join()
        assert sum(r() is not None for r in refs) > 1000  # automatic collection is off
        qtbot.waitUntil(lambda: all(r() is None for r in refs), timeout=5000)
    finally:
        gc.callbacks.remove(note)
    assert collected_in and set(collected_in) == {threading.main_thread().name}
    assert collector.collections[0] >= 1

    collector.stop()
    assert gc.isenabled() and not collector.running


def test_the_oldest_generation_is_collected_in_cpythons_rhythm(qtbot, collector: GarbageCollector) -> None:  # type: ignore[no-untyped-def]
    collector.start()
    gc.collect()  # counts from zero
    young, middle, old = collector.threshold
    for _round in range((middle + 2) * (old + 2) + 1):  # a collection is due past the threshold
        for _ in range(young + 50):
            Node()
        collector.collect_due()
    assert collector.collections[1] >= 1 and collector.collections[2] >= 1
    assert collector.collections[0] > collector.collections[1] > collector.collections[2]


def test_start_twice_freezes_once_and_stop_is_safe_when_not_started(collector: GarbageCollector) -> None:
    collector.stop()  # never started: nothing to give back
    assert gc.isenabled()
    collector.start()
    frozen = gc.get_freeze_count()
    collector.start()
    assert gc.get_freeze_count() == frozen
