"""The limiter's store without Redis: counts as limits' memory store does, without a thread
per request, and forgets expired counters (api/limit_store.py)."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from limits import RateLimitItemPerMinute
from limits.storage import memory, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from latepoint_forms.api.limit_store import MEMORY_URI, SweptMemoryStorage


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    return clock


def test_the_default_store_is_the_swept_one() -> None:
    assert isinstance(storage_from_string(MEMORY_URI), SweptMemoryStorage)


def test_a_budget_is_spent_and_refused_as_before(clock: Clock) -> None:
    limiter = FixedWindowRateLimiter(SweptMemoryStorage())
    minute = RateLimitItemPerMinute(3)
    assert [limiter.hit(minute, "key:a") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(minute, "key:b")  # another key, its own budget
    clock.now += 61
    assert limiter.hit(minute, "key:a")  # a new window


def test_no_timer_thread_is_started_per_request(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SweptMemoryStorage()
    started: list[Any] = []
    monkeypatch.setattr(memory.threading, "Timer", lambda *a, **k: started.append(a))
    for i in range(100):
        clock.now += 0.05
        store.incr(f"key:{i % 3}", 60)
    assert started == []


def test_expired_counters_are_swept(clock: Clock) -> None:
    store = SweptMemoryStorage()
    for i in range(50):
        store.incr(f"addr:{i}", 10)
    assert len(store.storage) == 50
    clock.now += 11
    store.incr("addr:new", 10)  # the first request after the sweep is due
    assert set(store.storage) == {"addr:new"}
    assert set(store.expirations) == {"addr:new"}


def test_it_copies_as_limits_store_does(clock: Clock) -> None:
    # deepcopy goes through the same __getstate__/__setstate__ as pickling.
    store = SweptMemoryStorage()
    store.incr("key:a", 60, 2)
    copied = copy.deepcopy(store)
    assert copied.get("key:a") == 2
    assert copied.incr("key:a", 60) == 3
