"""Telegram's FloodWait, handled once for `doppel fetch` and `doppel bot`: a wait up to the command's
max_flood_wait_s is waited out visibly (a countdown, a tick a second), a longer one stops the command with one
line (`Stop`, exit 2) saying what was kept and what to do."""
from __future__ import annotations

import sys
from typing import Callable


class Stop(Exception):
    """Stop the command with a one-line message (exit 2); what was done so far is kept."""


def flood_errors() -> tuple[type[BaseException], ...]:
    """Telethon's FloodWait errors (imported late: telethon is an optional dependency)."""
    from telethon import errors

    return errors.FloodWaitError, errors.FloodPremiumWaitError


def format_wait(seconds: int) -> str:
    h, rest = divmod(int(seconds), 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


async def countdown(seconds: int, sleep, log=sys.stderr) -> None:
    """Wait out a FloodWait, one visible tick per second."""
    tty = getattr(log, "isatty", lambda: False)()
    for left in range(int(seconds), 0, -1):
        if tty:
            print(f"\r  Telegram asks to slow down (FloodWait): resuming in {format_wait(left)} ", end="",
                  file=log, flush=True)
        elif left == seconds or left % 60 == 0:
            print(f"  Telegram asks to slow down (FloodWait): resuming in {format_wait(left)}", file=log, flush=True)
        await sleep(1)
    print(("\r" if tty else "") + "  FloodWait over, resuming" + " " * 30, file=log, flush=True)


class FloodGuard:
    """One command's FloodWait policy. `stop_line(wait)` words the Stop for a wait past `max_wait_s` (`wait` as
    H:MM:SS); `on_stop(seconds)` runs first (the bot logs it)."""

    def __init__(self, max_wait_s: int, sleep, log, stop_line: Callable[[str], str],
                 on_stop: Callable[[int], object] = lambda seconds: None):
        self.max_wait_s, self.sleep, self.log, self.stop_line, self.on_stop = max_wait_s, sleep, log, stop_line, on_stop

    async def wait(self, err: BaseException) -> None:
        """Wait out the FloodWait `err` (plus a second), or raise Stop when it is longer than allowed."""
        seconds = int(getattr(err, "seconds", 0) or 0)
        if seconds > self.max_wait_s:
            self.on_stop(seconds)
            raise Stop(self.stop_line(format_wait(seconds))) from None
        await countdown(seconds + 1, self.sleep, self.log)

    async def call(self, fn, *args, **kwargs):
        """`await fn(*args, **kwargs)`, again after each FloodWait that is waited out."""
        errors = flood_errors()
        while True:
            try:
                return await fn(*args, **kwargs)
            except errors as err:
                await self.wait(err)
