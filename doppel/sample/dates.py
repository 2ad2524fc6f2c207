"""The sample's clock: the span of the history and the export's local `date` strings."""
from __future__ import annotations

import time
from datetime import datetime, timezone

TZ = 3 * 3600  # the exporting machine's clock: Moscow (UTC+3, no DST), so `date` is UTC+3 without offset
T_START = int(datetime(2020, 1, 10, tzinfo=timezone.utc).timestamp())
T_END = int(datetime(2026, 10, 30, tzinfo=timezone.utc).timestamp())
DAY = 86400

_DAY_PREFIX: dict[int, str] = {}


def export_date(ts: int) -> str:
    day, sec = divmod(ts + TZ, DAY)
    p = _DAY_PREFIX.get(day)
    if p is None:
        p = _DAY_PREFIX[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * DAY))
    h, rem = divmod(sec, 3600)
    m, s = divmod(rem, 60)
    return f"{p}{h:02d}:{m:02d}:{s:02d}"
