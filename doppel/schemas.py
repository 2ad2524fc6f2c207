"""Data contracts between stages, as pandera models (one place for all of them)."""
from __future__ import annotations

import pandera.polars as pa
import polars as pl

from doppel.tables import PII_HINTS, UTC_TS  # noqa: F401 - the types' one source, re-exported

# What a message can be; ingest maps the export's media keys onto these.
KINDS = [
    "text", "photo", "video", "video_message", "voice", "audio", "animation", "sticker",
    "file", "poll", "contact", "location", "game", "invoice", "dice", "service", "unsupported",
]
# Why ingest drops a message (the row stays in the table with its reason; kept rows have null).
DROP_REASONS = [
    "chat_type",        # a chat type the params exclude (groups, channels, bots, saved messages, ...)
    "service_chat",     # 777000 (Telegram's login codes) and other service senders
    "skipped_chat",     # listed in ingest.skip_chats
    "service",          # service messages (pins, calls, joins)
    "unsupported",      # the exporter could not render it
    "forwarded",        # forwards are someone else's words
    "media_only",       # media without a caption
    "empty",            # no text at all
    "no_sender",        # deleted account (`from` null) with no from_id
    "malformed",        # a message object that could not be parsed or is missing required fields
    "duplicate",        # the same (chat_id, message_id) seen before, e.g. overlapping exports
]


class MessageBatch(pa.DataFrameModel):
    """One row per message read from an export; `drop_reason` is null for the messages kept. What ingest
    checks batch by batch (`Message` adds the checks that need the whole table)."""

    chat_id: int = pa.Field()
    chat_type: str = pa.Field()
    message_id: int = pa.Field()
    ts: UTC_TS = pa.Field(nullable=True)  # null only on rows dropped as malformed or unsupported
    sender_id: str = pa.Field(nullable=True)
    is_owner: bool = pa.Field()
    text: str = pa.Field()
    kind: str = pa.Field(isin=KINDS)
    reply_to: int = pa.Field(nullable=True)
    forwarded: bool = pa.Field()
    drop_reason: str = pa.Field(nullable=True, isin=DROP_REASONS)
    # spans the export itself marked as phone/email/bank_card entities: signals for scrub
    pii_hints: PII_HINTS = pa.Field(nullable=True)

    class Config:
        strict = True
        coerce = True

    @pa.dataframe_check(name="kept_messages_have_time")
    def kept_messages_have_time(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("drop_reason").is_not_null() | pl.col("ts").is_not_null())



class Message(MessageBatch):
    """The whole message table: a kept message appears once (Config is MessageBatch's)."""

    @pa.dataframe_check(name="kept_messages_unique")
    def kept_messages_unique(cls, data) -> pl.LazyFrame:
        kept = pl.col("drop_reason").is_null()
        return data.lazyframe.select(~(kept & pl.struct("chat_id", "message_id", kept).is_duplicated()))


class Turn(pa.DataFrameModel):
    """Consecutive messages of one sender inside one session, merged."""

    chat_id: int = pa.Field()
    session_id: int = pa.Field(ge=0)
    turn_index: int = pa.Field(ge=0)
    is_owner: bool = pa.Field()
    text: str = pa.Field(str_length={"min_value": 1})
    ts_start: UTC_TS = pa.Field()
    ts_end: UTC_TS = pa.Field()
    n_messages: int = pa.Field(ge=1)

    class Config:
        strict = True
        coerce = True
        unique = ["chat_id", "session_id", "turn_index"]

    @pa.dataframe_check
    def ends_after_start(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("ts_end") >= pl.col("ts_start"))


class InstructionRow(pa.DataFrameModel):
    """What litgpt's JSON data module (and our train stage) reads: one row per owner reply."""

    instruction: str = pa.Field(str_length={"min_value": 1, "max_value": 100_000})
    input: str = pa.Field()
    output: str = pa.Field(str_length={"min_value": 1, "max_value": 20_000})

    class Config:
        strict = False  # extra keys (the session number) ride along for base and evaluate
        coerce = True
        unique = ["instruction", "input", "output"]

    @pa.check("output", name="output_not_blank")
    def output_not_blank(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).str.strip_chars().str.len_chars() > 0)

    @pa.dataframe_check(name="no_unredacted_pii")
    def no_unredacted_pii(cls, data) -> pl.LazyFrame:
        from doppel.redact.patterns import PII_PATTERN

        return data.lazyframe.select(
            ~(pl.col("instruction") + "\n" + pl.col("input") + "\n" + pl.col("output"))
            .str.contains(PII_PATTERN)
        )
