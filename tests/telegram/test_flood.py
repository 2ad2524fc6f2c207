"""doppel.telegram.flood: the one FloodWait policy of fetch and bot, exactly at max_flood_wait_s and one past."""
from __future__ import annotations

import asyncio
import io

import pytest
from telethon import errors

from doppel.telegram.flood import FloodGuard, Stop, format_wait


class Sleeps:
    def __init__(self):
        self.calls: list[float] = []

    async def __call__(self, seconds):
        self.calls.append(seconds)


def guard(max_wait_s: int):
    stopped: list[int] = []
    g = FloodGuard(max_wait_s, Sleeps(), io.StringIO(), lambda wait: f"wait {wait}", on_stop=stopped.append)
    return g, stopped


def test_a_wait_exactly_at_the_cap_is_waited_out_one_past_stops():
    g, stopped = guard(60)
    calls = iter([errors.FloodWaitError(request=None, capture=60), errors.FloodPremiumWaitError(request=None,
                                                                                                 capture=2)])

    async def flaky():
        err = next(calls, None)
        if err is not None:
            raise err
        return "ok"
    assert asyncio.run(g.call(flaky)) == "ok"
    assert g.sleep.calls == [1] * 61 + [1] * 3 and stopped == []  # a tick a second, plus one, per wait
    assert "FloodWait over, resuming" in g.log.getvalue()
    with pytest.raises(Stop, match=r"^wait 1:01$"):
        asyncio.run(g.wait(errors.FloodWaitError(request=None, capture=61)))
    assert stopped == [61] and len(g.sleep.calls) == 64  # no wait at all before stopping


def test_format_wait():
    assert [format_wait(s) for s in (0, 59, 61, 3600, 5000)] == ["0:00", "0:59", "1:01", "1:00:00", "1:23:20"]
