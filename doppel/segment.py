"""segment: messages -> sessions -> turns (consecutive messages of one sender merged)."""
from __future__ import annotations

import polars as pl

from doppel.config import SegmentConfig
from doppel.errors import InputError
from doppel.schemas import Turn

KEYS = ["chat_id", "session_id"]
# what segment reads of the message table (a table without drop_reason counts as all kept)
COLUMNS_READ = ["chat_id", "ts", "message_id", "sender_id", "is_owner", "text"]
COLUMNS_OPTIONAL = ("drop_reason",)


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


def run(cfg: SegmentConfig, messages: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """Messages (kept ones: drop_reason null) -> (validated turns, report)."""
    if "drop_reason" not in messages.columns:
        messages = messages.with_columns(drop_reason=pl.lit(None, pl.String))
    msgs = sessions(messages, cfg.session_gap_hours)
    all_turns = turns(msgs)
    owner_sessions = all_turns.group_by(KEYS).agg(pl.col("is_owner").any().alias("has_owner"))
    all_turns = all_turns.join(owner_sessions, on=KEYS, how="left", maintain_order="left")
    drop = pl.col("has_owner").not_() & cfg.drop_sessions_without_owner
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
    check_gap(kept, report, cfg)
    return Turn.validate(kept), report


def check_gap(kept: pl.DataFrame, report: dict, cfg: SegmentConfig) -> None:
    """Every kept turn the owner's. With sessions without the owner dropped, the gap is shorter than the wait
    for a reply, so each reply fell into a session of its own (dropped); with none dropped, the history holds
    no one else's message at all (a one-message export, only the owner's side). Either way nothing is left to
    learn from. Said here, where the cause is known: build would only see owner-only turns (a swapped owner
    flag's look)."""
    if not kept.height or not kept["is_owner"].all():
        return
    dropped = report["sessions_dropped"]["session_without_owner"]
    if dropped:
        raise InputError("messages", f"every kept session holds only the owner's messages: {dropped:,} session(s) "
                         "of only the other side were dropped, so the replies are cut off from what they answer; "
                         f"segment.session_gap_hours ({cfg.session_gap_hours:g}) is shorter than the wait for a "
                         "reply: raise it")
    raise InputError("messages", f"too little history: all {report['messages_out']:,} kept message(s) are the "
                     "owner's, so no reply has anything to answer; export more history (chats where others write "
                     "to you; see the ingest summary for what it dropped)")


def summary(report: dict) -> str:
    return (
        f"segment: {report['messages_in']:,} messages -> {report['sessions']:,} sessions -> "
        f"{report['turns']:,} turns ({report['owner_turns']:,} by the owner, "
        f"{report['messages_per_turn_mean']} messages per turn)\n"
        f"  dropped: {report['sessions_dropped']['session_without_owner']:,} sessions without the owner "
        f"({report['messages_dropped']['session_without_owner']:,} messages)"
    )
