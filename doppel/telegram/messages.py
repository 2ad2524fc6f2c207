"""Telegram messages -> the message table's columns.

Two ways in: the fast path, where Polars parses a batch of raw message objects straight into columns, and the
tolerant path, one Python loop over message dicts (damaged batches, old exports, fetch files). Both give the
same columns; `finish_batch` then sets times, kinds and drop reasons, and `to_messages` the owner flag.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from doppel.config import IngestConfig
from doppel.schemas import PII_HINTS, Message

TELEGRAM_SERVICE_CHAT = 777000
NULL_FORWARD = re.compile(rb'"forwarded_from"\s*:\s*null')  # in any JSON layout (minified: no space)
PII_ENTITY_TYPES = {"phone": "PHONE", "email": "EMAIL", "bank_card": "CARD"}
# Before Telegram Desktop 2.7.2 ids were numbers, with chats and channels shifted into their own ranges.
OLD_ID_SHIFTS = ((1 << 33, "channel"), (1 << 32, "chat"), (0, "user"))
MEDIA_KINDS = {
    "sticker": "sticker", "voice_message": "voice", "video_message": "video_message",
    "animation": "animation", "video_file": "video", "audio_file": "audio",
}
OTHER_MEDIA_KEYS = (
    ("photo", "photo"), ("poll", "poll"), ("contact_information", "contact"),
    ("location_information", "location"), ("place_name", "location"), ("game_title", "game"),
    ("invoice_information", "invoice"), ("dice", "dice"), ("file", "file"),
)


@dataclass
class Chat:
    id: int
    type: str
    name: str | None
    owner_id: str | None  # "user123", when the file says (full-account export, fetch header)


@dataclass
class Columns:
    """Message fields gathered column by column (a loop over dicts is the one unavoidable Python loop)."""

    chat_id: list = field(default_factory=list)
    chat_type: list = field(default_factory=list)
    message_id: list = field(default_factory=list)
    unixtime: list = field(default_factory=list)
    date: list = field(default_factory=list)
    sender_id: list = field(default_factory=list)
    text: list = field(default_factory=list)
    kind: list = field(default_factory=list)
    reply_to: list = field(default_factory=list)
    forwarded: list = field(default_factory=list)
    msg_type: list = field(default_factory=list)
    # the export's phone/email/bank_card entities, flat: (row, type, text)
    hint_row: list = field(default_factory=list)
    hint_type: list = field(default_factory=list)
    hint_text: list = field(default_factory=list)


@dataclass
class Tally:
    """What the readers count as they go: damaged messages, repaired batches, files read, and the owner the
    file being read names (personal_information), wherever in the file it stands."""

    malformed: int = 0
    repaired_batches: int = 0
    files: list = field(default_factory=list)
    file_owner: str | None = None


# --------------------------------------------------------------------------- message dicts -> columns


def _int64(value) -> int | None:
    """A JSON integer that fits the table's Int64 columns, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and -(1 << 63) <= value < (1 << 63):
        return value
    return None


def _normalize_id(value) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        for shift, prefix in OLD_ID_SHIFTS:
            if value >= shift:
                return f"{prefix}{value - shift}"
    return None


def _text(msg: dict, hints: list) -> str | None:
    entities = msg.get("text_entities")
    pieces = entities if isinstance(entities, list) else msg.get("text", "")
    if isinstance(pieces, str):
        return pieces
    if not isinstance(pieces, list):
        return None
    out = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
        elif isinstance(piece, dict) and isinstance(t := piece.get("text"), str):
            out.append(t)
            if (pii := PII_ENTITY_TYPES.get(piece.get("type"))) and t:
                hints.append((pii, t))
    return "".join(out)


def _kind(msg: dict, msg_type) -> str:
    if msg_type != "message":
        return "unsupported" if msg_type == "unsupported" else "service"
    media = msg.get("media_type")
    if media is not None:
        return MEDIA_KINDS.get(media, "file")
    for key, kind in OTHER_MEDIA_KEYS:
        if msg.get(key) is not None:
            return kind
    return "text"


def normalize_chat_id(chat: Chat, batch: list) -> None:
    """An old export's shifted chat id (its messages' senders are numbers) -> today's."""
    first = next((m for m in batch if isinstance(m, dict)), {})
    if chat.id >= 1 << 32 and isinstance(first.get("from_id", first.get("actor_id")), int):
        chat.id = int(_normalize_id(chat.id).lstrip("chatnel"))


def add_batch(cols: Columns, chat: Chat, batch: list[dict], tally: Tally) -> None:
    normalize_chat_id(chat, batch)
    for msg in batch:
        if not isinstance(msg, dict):
            tally.malformed += 1
            continue
        mid = _int64(msg.get("id"))
        msg_type = msg.get("type")
        msg_type = "message" if msg_type is None else msg_type
        if mid is None or not isinstance(msg_type, str):
            tally.malformed += 1
            continue
        # a message without a usable date stays in the table: `finish_batch` drops it as malformed (or as
        # unsupported: the exporter writes only id and type for those)
        unixtime = msg.get("date_unixtime")
        date = msg.get("date")
        if not isinstance(date, str):
            date = None
        if isinstance(unixtime, str) and unixtime.isdigit() and len(unixtime) < 19:
            unixtime = int(unixtime)
        else:
            unixtime = _int64(unixtime)
        hints: list = []
        text = _text(msg, hints)
        if text is None:
            tally.malformed += 1
            continue
        reply = msg.get("reply_to_message_id")
        sender = msg.get("from_id", msg.get("actor_id"))
        cols.chat_id.append(chat.id)
        cols.chat_type.append(chat.type)
        cols.message_id.append(mid)
        cols.unixtime.append(unixtime)
        cols.date.append(date)
        cols.sender_id.append(_normalize_id(sender))
        cols.text.append(text)
        cols.kind.append(_kind(msg, msg_type))
        cols.reply_to.append(_int64(reply))
        cols.forwarded.append("forwarded_from" in msg or "forwarded_from_id" in msg)  # the key, even if null
        cols.msg_type.append(msg_type)
        for pii, t in hints:
            cols.hint_row.append(len(cols.chat_id) - 1)
            cols.hint_type.append(pii)
            cols.hint_text.append(t)


# --------------------------------------------------------------------------- fast path: Polars parses a batch

_PRESENT = pl.Struct({"_": pl.Int8})  # an object-valued key we only test for presence
FAST_SCHEMA = {
    "id": pl.Int64, "type": pl.String, "date": pl.String, "date_unixtime": pl.String,
    "from_id": pl.String, "actor_id": pl.String, "reply_to_message_id": pl.Int64,
    "forwarded_from": pl.String, "forwarded_from_id": pl.String, "media_type": pl.String,
    "text_entities": pl.List(pl.Struct({"type": pl.String, "text": pl.String})),
    "photo": pl.String, "file": pl.String, "place_name": pl.String, "game_title": pl.String,
    "poll": _PRESENT, "contact_information": _PRESENT, "location_information": _PRESENT,
    "invoice_information": _PRESENT, "dice": _PRESENT,
}


def _sender_expr() -> pl.Expr:
    """from_id (actor_id for service messages); bare numbers are pre-2.7.2 ids, shifted by peer type."""
    raw = pl.when(pl.col("from_id").is_not_null()).then("from_id").otherwise("actor_id")
    n = raw.cast(pl.Int64, strict=False)
    shifted = pl.when(n.is_null()).then(raw)
    for shift, prefix in OLD_ID_SHIFTS:
        shifted = shifted.when(n >= shift).then(pl.lit(prefix) + (n - shift).cast(pl.String))
    return shifted.otherwise(raw)


def _kind_expr() -> pl.Expr:
    kind = (
        pl.when(pl.col("type") == "unsupported").then(pl.lit("unsupported"))
        .when(pl.col("type") != "message").then(pl.lit("service"))
        .when(pl.col("media_type").is_not_null())
        .then(pl.col("media_type").replace_strict(MEDIA_KINDS, default="file", return_dtype=pl.String))
    )
    for key, name in OTHER_MEDIA_KEYS:
        kind = kind.when(pl.col(key).is_not_null()).then(pl.lit(name))
    return kind.otherwise(pl.lit("text"))


def fast_frame(chat: Chat, segment: bytes) -> tuple[pl.DataFrame, int] | None:
    """A batch parsed by Polars straight into columns (no Python object per message). None when the batch
    needs the tolerant path: invalid JSON, unexpected types, text without text_entities (old exports), or
    a null `forwarded_from` (a forward all the same, which Polars cannot tell from a missing key).
    Also returns how many objects lacked an id (malformed)."""
    segment = segment.lstrip(b",")
    if not segment.strip():
        return _frame(Columns()), 0
    if NULL_FORWARD.search(segment):
        return None
    try:
        raw = pl.read_json(io.BytesIO(b"[" + segment + b"]"), schema=FAST_SCHEMA)
    except Exception:  # Polars raises several error types for JSON it cannot take
        return None
    if raw["text_entities"].null_count():
        return None
    unixtime = pl.col("date_unixtime").cast(pl.Int64, strict=False)
    good = raw.filter(pl.col("id").is_not_null()).with_columns(pl.col("type").fill_null("message"))
    entity = pl.element().struct.field
    hints = pl.col("text_entities").list.filter(
        entity("type").is_in(list(PII_ENTITY_TYPES)) & (entity("text").str.len_chars() > 0)
    ).list.eval(pl.struct(
        type=entity("type").replace_strict(PII_ENTITY_TYPES, return_dtype=pl.String), text=entity("text")))
    return good.select(
        chat_id=pl.lit(chat.id, pl.Int64),
        chat_type=pl.lit(chat.type, pl.String),
        message_id="id",
        unixtime=unixtime,
        date="date",
        sender_id=_sender_expr(),
        text=pl.col("text_entities").list.eval(entity("text").fill_null("")).list.join(""),
        kind=_kind_expr(),
        reply_to="reply_to_message_id",
        forwarded=pl.col("forwarded_from").is_not_null() | pl.col("forwarded_from_id").is_not_null(),
        msg_type="type",
        pii_hints=hints,
    ), raw.height - good.height


# --------------------------------------------------------------------------- the frame


def frame_from_dicts(chat: Chat, messages: list[dict], tally: Tally) -> pl.DataFrame:
    """The tolerant path: message dicts -> raw columns, a damaged message counted in `tally`, not fatal."""
    cols = Columns()
    add_batch(cols, chat, messages, tally)
    return _frame(cols)


def _frame(cols: Columns) -> pl.DataFrame:
    hints = (
        pl.DataFrame({"row": pl.Series(cols.hint_row, dtype=pl.UInt32), "type": cols.hint_type, "text": cols.hint_text},
                     schema={"row": pl.UInt32, "type": pl.String, "text": pl.String})
        .group_by("row", maintain_order=True)
        .agg(pii_hints=pl.struct("type", "text"))
    )
    return pl.DataFrame(
        {
            "chat_id": pl.Series(cols.chat_id, dtype=pl.Int64),
            "chat_type": pl.Series(cols.chat_type, dtype=pl.String),
            "message_id": pl.Series(cols.message_id, dtype=pl.Int64),
            "unixtime": pl.Series(cols.unixtime, dtype=pl.Int64),
            "date": pl.Series(cols.date, dtype=pl.String),
            "sender_id": pl.Series(cols.sender_id, dtype=pl.String),
            "text": pl.Series(cols.text, dtype=pl.String),
            "kind": pl.Series(cols.kind, dtype=pl.String),
            "reply_to": pl.Series(cols.reply_to, dtype=pl.Int64),
            "forwarded": pl.Series(cols.forwarded, dtype=pl.Boolean),
            "msg_type": pl.Series(cols.msg_type, dtype=pl.String),
        }
    ).with_row_index("row").join(hints, on="row", how="left", maintain_order="left").with_columns(
        pl.col("pii_hints").fill_null(pl.lit([], dtype=PII_HINTS))
    ).drop("row")


def finish_batch(raw: pl.DataFrame, cfg: IngestConfig) -> pl.DataFrame:
    """A batch's raw columns -> message columns: UTC times, kinds, and every drop reason a message carries
    by itself (the first that applies). Done every SPILL_ROWS messages, so the raw columns never pile up."""
    chat_types = list(cfg.chat_types)
    skip = list(cfg.skip_chats)
    # date_unixtime is UTC; exports older than it only have `date`, the exporting machine's local time,
    # which is read as UTC (the offset is not in the file)
    ts = pl.coalesce(
        pl.from_epoch("unixtime", time_unit="s").dt.replace_time_zone("UTC"),
        pl.col("date").str.to_datetime("%Y-%m-%dT%H:%M:%S", time_zone="UTC", strict=False),
    ).dt.cast_time_unit("us")
    media_only = (pl.col("kind") != "text") & (
        (pl.col("text").str.strip_chars() == "") | (not cfg.keep_media_captions)
    )
    drop = (
        pl.when(pl.col("chat_id") == TELEGRAM_SERVICE_CHAT).then(pl.lit("service_chat"))
        .when(pl.col("chat_id").is_in(skip)).then(pl.lit("skipped_chat"))
        .when(~pl.col("chat_type").is_in(chat_types)).then(pl.lit("chat_type"))
        .when(pl.col("msg_type") == "unsupported").then(pl.lit("unsupported"))
        .when(pl.col("msg_type") != "message").then(pl.lit("service"))
        .when(pl.col("ts").is_null()).then(pl.lit("malformed"))
        .when(pl.col("sender_id").is_null()).then(pl.lit("no_sender"))
        .when(pl.col("forwarded") & (not cfg.keep_forwarded)).then(pl.lit("forwarded"))
        .when(media_only).then(pl.lit("media_only"))
        .when(pl.col("text").str.strip_chars() == "").then(pl.lit("empty"))
    )
    return (
        raw.with_columns(
            ts=ts,
            kind=pl.when(pl.col("msg_type") == "unsupported").then(pl.lit("unsupported")).otherwise("kind"),
        )
        .with_columns(drop_reason=drop)
        .select(c for c in Message.to_schema().columns if c != "is_owner")
    )


def to_messages(parts: list[Path], chats: set[int], owners: dict[int, str],
                cfg: IngestConfig) -> tuple[pl.LazyFrame, dict[int, tuple[str, str]]]:
    """Finished messages spilled to disk in file order -> (the message table (lazy) with the owner flag,
    {chat: (owner id, how it is known)}: "param", "export" or "guess"; chats with no owner are left out).

    Rows stay in the export's order (chat by chat, message ids ascending), so nothing is sorted in memory.
    Only when that order is broken (overlapping exports, shuffled ids) is the table sorted by chat and
    message id, and a (chat, message id) seen before dropped as a duplicate."""
    files = [str(path) for path in parts]
    messages = pl.scan_ipc(files) if files else finish_batch(_frame(Columns()), cfg).lazy()
    # The owner: the param, else the file's personal_information/fetch header, else (single-chat export)
    # the sender of a personal chat who is not its peer (`id` of a personal chat is the peer's user id).
    if cfg.owner_id:  # already as the export writes from_id: "user123"
        owner = pl.lit(cfg.owner_id, dtype=pl.String)
        known = {chat: (cfg.owner_id, "param") for chat in chats}
    else:
        peer = pl.lit("user") + pl.col("chat_id").cast(pl.String)
        unknown = sorted(chats - owners.keys())
        inferred = (
            messages.filter(pl.col("chat_id").is_in(unknown) & (pl.col("chat_type") == "personal_chat")
                            & (pl.col("sender_id") != peer))
            .group_by("chat_id")
            .agg(pl.col("sender_id").mode().sort().first())
            .collect()
        ) if unknown else pl.DataFrame()
        guessed = {chat: sender for chat, sender in inferred.iter_rows() if sender is not None}
        owner_of = {**guessed, **owners}
        known = {**{c: (o, "guess") for c, o in guessed.items()}, **{c: (o, "export") for c, o in owners.items()}}
        owner = pl.col("chat_id").replace_strict(owner_of, default=None, return_dtype=pl.String)
    messages = messages.with_columns(is_owner=(pl.col("sender_id") == owner).fill_null(False))
    chat, mid = pl.col("chat_id"), pl.col("message_id")
    new_run = (chat != chat.shift()).fill_null(True)
    in_order = (new_run | (mid > mid.shift())).all() & (new_run.sum() == chat.n_unique())  # each chat once
    if not messages.select(in_order).collect().item():
        dup = (chat == chat.shift()) & (mid == mid.shift())
        messages = (
            messages.sort("chat_id", "message_id", maintain_order=True)
            .with_columns(drop_reason=pl.when(pl.col("drop_reason").is_null() & dup).then(pl.lit("duplicate"))
                          .otherwise("drop_reason"))
            .sort("chat_id", "message_id", "drop_reason", nulls_last=False, maintain_order=True)
            .collect()  # once: the report and the output both read it
            .lazy()
        )
    return messages.select(list(Message.to_schema().columns)), known
