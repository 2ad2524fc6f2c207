"""segment: messages -> sessions -> turns (consecutive messages of one sender merged)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from stages import params as params_mod
from stages.errors import InputError
from stages.ingest import write_json, write_parquet
from stages.schemas import Message, Turn

PARAM_DEFAULTS = {"session_gap_hours": 24, "drop_sessions_without_owner": True}
KEYS = ["chat_id", "session_id"]


def sessions(messages: pl.DataFrame, gap_hours: float) -> pl.DataFrame:
    """Kept messages, sorted, each with its session_id (0, 1, ... per chat). A session starts after a silence
    longer than the gap, measured as total elapsed time (1 day 3 min is more than 1 day)."""
    gap = pl.col("ts").diff().over("chat_id")
    new_session = (gap > pl.duration(microseconds=int(gap_hours * 3_600_000_000))).fill_null(True)
    return (
        messages.filter(pl.col("drop_reason").is_null())
        .sort("chat_id", "ts", "message_id")
        .with_columns(session_id=new_session.cum_sum().over("chat_id") - 1)
    )


def turns(with_sessions: pl.DataFrame) -> pl.DataFrame:
    """Runs of one sender inside a session become one turn, their texts joined by newlines."""
    run = pl.struct("chat_id", "session_id", "sender_id").rle_id().alias("run")
    return (
        with_sessions.with_columns(run)
        .group_by("run", maintain_order=True)
        .agg(
            pl.col("chat_id").first(),
            pl.col("session_id").first(),
            pl.col("is_owner").first(),
            pl.col("text").str.join("\n"),
            pl.col("ts").min().alias("ts_start"),
            pl.col("ts").max().alias("ts_end"),
            pl.len().alias("n_messages"),
        )
        .with_columns(turn_index=pl.int_range(pl.len()).over(KEYS))
        .select(*Turn.to_schema().columns)
    )


def segment(messages: pl.DataFrame, params: dict) -> tuple[pl.DataFrame, dict]:
    p = {**PARAM_DEFAULTS, **params}
    try:
        gap_hours = float(p["session_gap_hours"])
    except (TypeError, ValueError):
        raise InputError("params.yaml", f"segment.session_gap_hours must be a number, got {p['session_gap_hours']!r}") from None
    if gap_hours <= 0:
        raise InputError("params.yaml", f"segment.session_gap_hours must be positive, got {gap_hours}")
    msgs = sessions(messages, gap_hours)
    all_turns = turns(msgs)
    owner_sessions = all_turns.group_by(KEYS).agg(pl.col("is_owner").any().alias("has_owner"))
    all_turns = all_turns.join(owner_sessions, on=KEYS, how="left", maintain_order="left")
    drop = pl.col("has_owner").not_() & bool(p["drop_sessions_without_owner"])
    dropped = all_turns.filter(drop)
    kept = all_turns.filter(~drop).drop("has_owner")
    n_sessions = owner_sessions.height
    report = {
        "messages_in": msgs.height,
        "messages_out": int(kept["n_messages"].sum() or 0),
        "messages_dropped": {"session_without_owner": int(dropped["n_messages"].sum() or 0)},
        "sessions": n_sessions,
        "sessions_dropped": {"session_without_owner": int(owner_sessions["has_owner"].not_().sum())},
        "turns": kept.height,
        "owner_turns": int(kept["is_owner"].sum()),
        "messages_per_turn_mean": round(kept["n_messages"].mean() or 0.0, 3),
    }
    return Turn.validate(kept), report


def summary(report: dict) -> str:
    return (
        f"segment: {report['messages_in']:,} messages -> {report['sessions']:,} sessions -> "
        f"{report['turns']:,} turns ({report['owner_turns']:,} by the owner, "
        f"{report['messages_per_turn_mean']} messages per turn)\n"
        f"  dropped: {report['sessions_dropped']['session_without_owner']:,} sessions without the owner "
        f"({report['messages_dropped']['session_without_owner']:,} messages)"
    )


def read_parquet(path: Path, columns: list[str], model=Message) -> pl.DataFrame:
    """A previous stage's table, checked for the columns this stage reads and their types (the model's)."""
    if not path.exists():
        raise InputError(path, "no such file (run the previous stage first: `dvc repro`)")
    try:
        frame = pl.read_parquet(path)
    except Exception as err:  # polars raises several error types for a file that is not parquet
        raise InputError(path, f"not a readable parquet file ({type(err).__name__})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(path, f"missing columns: {', '.join(missing)}")
    expected = model.to_schema().columns
    for c in columns:
        want = expected[c].dtype.type
        if frame.schema[c] != want and not (frame.schema[c].is_integer() and want.is_integer()):
            raise InputError(path, f"column {c!r} is {frame.schema[c]}, expected {want}")
    return frame


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="doppel segment", description=__doc__.split("\n")[0])
    ap.add_argument("--input", type=Path, default=Path("data/interim/messages_clean.parquet"))
    ap.add_argument("--output", type=Path, default=Path("data/interim/turns.parquet"))
    ap.add_argument("--report", type=Path, default=Path("reports/segment.json"))
    ap.add_argument("--params", type=Path, default=params_mod.PARAMS_FILE)
    args = ap.parse_args(argv)
    messages = read_parquet(args.input, ["chat_id", "ts", "message_id", "sender_id", "is_owner", "text"])
    if "drop_reason" not in messages.columns:
        messages = messages.with_columns(drop_reason=pl.lit(None, pl.String))
    result, report = segment(messages, params_mod.load("segment", args.params))
    write_parquet(result, args.output)
    write_json(args.report, report)
    print(summary(report), file=sys.stderr)
    return 0


if __name__ == "__main__":
    from stages.cli import module_main

    module_main("segment")
