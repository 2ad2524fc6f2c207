"""The dataset's shape as DVC plots (aggregates only, never text): when the owner writes (messages by hour of
day and by weekday, in `segment.time_zone`) and how long the kept sessions are (messages per session)."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from doppel import io

SESSION_BINS = (1, 2, 4, 8, 16, 32, 64, 128)   # lower edges, messages per session (the last bin is open)


def owner_messages(messages: pl.DataFrame, time_zone: str) -> pl.DataFrame:
    """The owner's kept messages' local time (hour, weekday 1-7)."""
    kept = messages.filter(pl.col("is_owner"))
    if "drop_reason" in kept.columns:
        kept = kept.filter(pl.col("drop_reason").is_null())
    local = pl.col("ts").dt.convert_time_zone(time_zone)
    return kept.filter(pl.col("ts").is_not_null()).select(hour=local.dt.hour(), weekday=local.dt.weekday())


def by_hour(local: pl.DataFrame) -> list[dict]:
    counts = dict(local.group_by("hour").len().iter_rows())
    return [{"hour": h, "messages": int(counts.get(h, 0))} for h in range(24)]


def by_weekday(local: pl.DataFrame) -> list[dict]:
    counts = dict(local.group_by("weekday").len().iter_rows())
    return [{"weekday": d, "messages": int(counts.get(d, 0))} for d in range(1, 8)]   # 1 = Monday


def session_lengths(turns: pl.DataFrame) -> list[dict]:
    """Sessions per length bin; labels are right-aligned (`  2-3`) so a chart's default order is numeric."""
    sizes = turns.group_by("chat_id", "session_id").agg(pl.col("n_messages").sum())["n_messages"].to_list()
    width = len(str(SESSION_BINS[-1]))
    rows = []
    for i, lo in enumerate(SESSION_BINS):
        hi = SESSION_BINS[i + 1] - 1 if i + 1 < len(SESSION_BINS) else None
        label = f"{lo:>{width}}" + ("+" if hi is None else "" if hi == lo else f"-{hi}")
        rows.append({"messages": label, "sessions": sum(1 for n in sizes if n >= lo and (hi is None or n <= hi))})
    return rows


def write_activity_plots(out_dir: Path, messages: pl.DataFrame, turns: pl.DataFrame, time_zone: str) -> list[Path]:
    """hours.json, weekdays.json and sessions.json under out_dir."""
    local = owner_messages(messages, time_zone)
    files = {"hours.json": by_hour(local), "weekdays.json": by_weekday(local), "sessions.json": session_lengths(turns)}
    out_dir = Path(out_dir)
    for name, rows in files.items():
        io.write_json(out_dir / name, rows)
    return [out_dir / name for name in files]
