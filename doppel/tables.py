"""The column types of the tables the data stages pass each other, in Polars terms alone.

What a stage that only reads a table checks its input against (io.read_table): scrub and memory read, they do not
validate, so they import this instead of doppel.schemas, whose pandera models (the full contracts: nullability,
value checks, uniqueness) cost ~0.2 s of CPU at each start-up (pandera and numpy). tests/test_tables.py checks
these are the models' own types.
"""
from __future__ import annotations

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")
PII_HINTS = pl.List(pl.Struct({"type": pl.String, "text": pl.String}))

MESSAGE = {
    "chat_id": pl.Int64, "chat_type": pl.String, "message_id": pl.Int64, "ts": UTC_TS, "sender_id": pl.String,
    "is_owner": pl.Boolean, "text": pl.String, "kind": pl.String, "reply_to": pl.Int64, "forwarded": pl.Boolean,
    "drop_reason": pl.String, "pii_hints": PII_HINTS,
}
TURN = {
    "chat_id": pl.Int64, "session_id": pl.Int64, "turn_index": pl.Int64, "is_owner": pl.Boolean, "text": pl.String,
    "ts_start": UTC_TS, "ts_end": UTC_TS, "n_messages": pl.Int64,
}
