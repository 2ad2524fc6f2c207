"""The twin's side of `doppel quiz`: its reply to each round's context, generated the way `doppel chat` replies
(the chat section's sampling, the placeholder guard on), seeded per round so a rerun shows the same replies."""
from __future__ import annotations

import sys
from typing import Callable, TextIO

from doppel.config.types import Sampling


def replies(twin, rows: list[dict], sampling: Sampling, progress: Callable[[int, int], None] | None = None) -> list[str]:
    """The twin's reply to each row's context; reply i uses the seed + i (`Sampling.seeded`)."""
    out = []
    for i, row in enumerate(rows):
        out.append(twin.reply(row["instruction"], sampling.seeded(i)))
        if progress:
            progress(i + 1, len(rows))
    return out


def printer(stream: TextIO = sys.stderr) -> Callable[[int, int], None]:
    """Progress as one rewritten line: `doppel quiz: the twin replies 3/20`; into a log (not a terminal), the
    last count alone (carriage returns would glue every count into one line there)."""
    tty = stream.isatty()

    def show(done: int, total: int) -> None:
        if not tty and done != total:
            return
        start = "\r" if tty else ""
        print(f"{start}doppel quiz: the twin replies {done}/{total}", end="\n" if done == total else "", file=stream,
              flush=True)
    return show
