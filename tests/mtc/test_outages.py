"""mtc.outages: a failing Redis is said once per process per minute, skipped for a moment, then tried again."""

from __future__ import annotations

import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from mtc.outages import Outage


class Clock:
    """A monotonic clock the test moves by hand (no sleeping, no timed assertion)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def outage(clock):
    return Outage("Redis (TEST)", fallback="the job rows are read", retry_seconds=5, clock=clock)


def warnings_of(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "mtc.outages" and r.levelno == logging.WARNING]


def test_a_thousand_failures_in_a_minute_are_one_warning_then_one_more_the_next_minute(outage, clock, caplog):
    caplog.set_level(logging.INFO, logger="mtc.outages")
    for _ in range(1000):
        outage.failed(RedisConnectionError("Connection refused"))
        clock.now += 0.05  # 50 s in all
    assert warnings_of(caplog) == [
        "Redis (TEST) is unavailable (ConnectionError: Connection refused); the job rows are read. "
        "Retried every 5 s; this warning is repeated at most once a minute."
    ]
    clock.now += 10.1  # past the minute since the first warning
    outage.failed(RedisConnectionError("Connection refused"))
    assert len(warnings_of(caplog)) == 2


def test_after_a_failure_the_service_is_skipped_for_retry_seconds_then_tried(outage, clock):
    assert not outage.skip()
    outage.failed(RedisConnectionError("down"))
    assert outage.skip()
    assert outage.ongoing
    clock.now += 5
    assert not outage.skip()  # tried again; still ongoing until it answers
    assert outage.ongoing


def test_recovery_is_said_once_and_ends_the_outage(outage, caplog):
    caplog.set_level(logging.INFO, logger="mtc.outages")
    outage.recovered()
    assert caplog.records == []  # nothing to say when nothing failed
    outage.failed(RedisConnectionError("down"))
    outage.recovered()
    outage.recovered()
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
        "Redis (TEST) answers again; the fallback is no longer used."
    ]
    assert not outage.ongoing
    assert not outage.skip()
