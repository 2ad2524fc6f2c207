"""memory: turns -> the owner's past messages, one row per owner turn, with the message it answered.

Reads only the segment stage's turns, which are built from scrub's redacted messages: no raw text reaches the
memory. Pure core: frame in, (frame, report) out.
"""
from __future__ import annotations

import polars as pl

from doppel.config import MemoryConfig

COLUMNS_READ = ["chat_id", "session_id", "turn_index", "is_owner", "text", "ts_start", "ts_end"]
# The memory table's columns: `text` is the owner's turn, `answered` the other person's turn just before it in the
# same session ("" when the owner spoke first), `ts` when the owner's turn started (what as-of compares with).
COLUMNS = ["chat_id", "session_id", "turn_index", "ts", "answered", "text"]
# A turn of only placeholders and punctuation (e.g. "<PHONE>", "ok!") carries no fact to recall.
MIN_WORD_CHARS = 2
WORD = r"(?:^|[^<\w])\w{%d,}" % MIN_WORD_CHARS  # a word of 2+ letters/digits, not a <PLACEHOLDER>'s name


def answered() -> pl.Expr:
    """On turns sorted by session and turn: the other person's turn just before ("" after an owner turn or at a
    session's start). What a memory answered, and build's query for a row's memories: one expression for both."""
    return (
        pl.when(pl.col("is_owner").shift(1).over("chat_id", "session_id").not_())
        .then(pl.col("text").shift(1).over("chat_id", "session_id"))
        .otherwise(pl.lit(""))
        .fill_null("")
    )


def run(cfg: MemoryConfig, turns: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """Turns (validated as `Turn`) -> (memory table sorted by chat and time, report with rows in/out/dropped)."""
    ordered = turns.sort("chat_id", "session_id", "turn_index")
    with_answered = ordered.with_columns(answered=answered())
    owner = with_answered.filter(pl.col("is_owner"))
    has_words = pl.col("text").str.replace_all(r"<[A-Z_]+>", " ").str.contains(WORD)
    worded = owner.filter(has_words)
    kept = worded if cfg.enabled else worded.clear()
    memory = kept.select(*COLUMNS[:3], pl.col("ts_start").alias("ts"), "answered", "text")
    report = {
        "turns_in": turns.height,
        "memories_out": memory.height,
        "dropped": {
            "not_owner": turns.height - owner.height,
            "no_words": owner.height - worded.height,
            "disabled": 0 if cfg.enabled else worded.height,
        },
        "chats": memory["chat_id"].n_unique(),
    }
    return memory, report


def summary(report: dict) -> str:
    d = report["dropped"]
    return (f"memory: {report['turns_in']:,} turns -> {report['memories_out']:,} owner messages in "
            f"{report['chats']:,} chats\n  dropped: {d['not_owner']:,} not the owner's, {d['no_words']:,} without "
            f"words, {d['disabled']:,} with memory.enabled false")
