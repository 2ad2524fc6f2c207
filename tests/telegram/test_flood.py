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
    assert [format_wait(s) for s in (0, 59, 60, 61, 3599, 3600, 3661, 5000, 36000.9)] == [
        "0:00", "0:59", "1:00", "1:01", "59:59", "1:00:00", "1:01:01", "1:23:20", "10:00:00"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


LINE = "  Telegram asks to slow down (FloodWait): resuming in "
OVER = "  FloodWait over, resuming" + " " * 30 + "\n"


def test_countdown_a_tick_a_second_in_a_log_and_on_a_terminal():
    from doppel.telegram.flood import countdown

    sleep, log = Sleeps(), io.StringIO()
    asyncio.run(countdown(121, sleep, log))
    assert sleep.calls == [1] * 121  # a log gets the first line and one a minute, not one a second
    assert log.getvalue() == f"{LINE}2:01\n{LINE}2:00\n{LINE}1:00\n{OVER}"
    sleep, term = Sleeps(), Terminal()
    asyncio.run(countdown(3, sleep, term))
    assert sleep.calls == [1, 1, 1]  # a terminal gets one line rewritten in place
    assert term.getvalue() == f"\r{LINE}0:03 \r{LINE}0:02 \r{LINE}0:01 \r{OVER}"


def test_an_error_without_seconds_waits_a_second_and_call_passes_its_arguments():
    g, stopped = guard(0)
    asyncio.run(g.wait(ValueError("no seconds")))
    asyncio.run(g.wait(errors.FloodWaitError(request=None, capture=0)))
    assert g.sleep.calls == [1, 1] and stopped == []

    async def echo(*args, **kwargs):
        return args, kwargs
    assert asyncio.run(g.call(echo, 1, "a", key="v")) == ((1, "a"), {"key": "v"})


class Recorder:
    """A log with write and flush only (no isatty: not a terminal), recording both in order."""

    def __init__(self):
        self.events: list[str] = []

    def write(self, text: str) -> None:
        self.events.append(text)

    def flush(self) -> None:
        self.events.append("<flush>")


@pytest.mark.parametrize("tty", [False, True])
def test_every_countdown_line_is_flushed_at_once(tty):
    """A countdown shows while the command waits: each line is flushed as it is written, a log with no isatty
    counts as no terminal."""
    from doppel.telegram.flood import countdown

    log = Recorder()
    if tty:
        log.isatty = lambda: True
    asyncio.run(countdown(2, Sleeps(), log))
    text = "".join(e for e in log.events if e != "<flush>")
    assert text.startswith("\r" if tty else LINE) and text.count("\r") == (3 if tty else 0)
    assert log.events[-1] == "<flush>" and log.events.count("<flush>") == (3 if tty else 2)
