"""ingest: Telegram Desktop exports (and `doppel fetch` output) -> the message table.

Telegram Desktop pretty-prints its export with one space per level, and JSON strings never span lines, so a
line holding only `{` / `}` / `]` at a given indentation is structure. The reader uses that to cut each
chat's `messages` array into batches of whole message objects, parses them (Polars, or orjson for damaged
ones) and spills the finished rows to disk every SPILL_ROWS messages; the table is then streamed from the
spill into the output. Memory follows the chunk and spill sizes, not the export's size. Exports in any other
layout (minified, hand-edited) are parsed whole.
"""
from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import polars as pl

from doppel import params as params_mod
from doppel.errors import InputError
from doppel.schemas import PII_HINTS, Message, MessageBatch

CHUNK_BYTES = 16 << 20
PARSE_THREADS = 2  # Polars parses batches without the GIL: one per core here
SPILL_ROWS = 200_000  # finished messages held in memory before they are checked and written to the spill
TELEGRAM_SERVICE_CHAT = 777000
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
PARAM_DEFAULTS = {
    "chat_types": ["personal_chat"],
    "skip_chats": [],
    "keep_forwarded": False,
    "keep_media_captions": True,
    "owner_id": None,
}

MESSAGES_LINE = re.compile(rb'\n( *)"messages": (\S)(\])?')
PERSONAL_INFO = re.compile(rb'\n "personal_information": (\{.*?\n \})', re.S)
BAD_ESCAPE = re.compile(rb'\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)', re.S)
RAW_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f]")


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
class RawBatch:
    """Whole message objects as they stand in the file (`{...},\n {...}`), not parsed yet."""

    segment: bytes
    indent: int


@dataclass
class Tally:
    malformed: int = 0
    repaired_batches: int = 0
    files: list = field(default_factory=list)


# --------------------------------------------------------------------------- reading


def _repair(raw: bytes) -> bytes:
    """Make an almost-JSON batch parseable: invalid UTF-8, `\\x0C`-style and other invalid escapes, raw
    control characters inside strings."""
    raw = raw.decode("utf-8", "replace").encode()

    def escape(m: re.Match) -> bytes:
        seq = m.group(1)
        if seq[:1] == b"u" and len(seq) == 5 or seq in (b'"', b"\\", b"/", b"b", b"f", b"n", b"r", b"t"):
            return m.group(0)
        if seq[:1] == b"x" and len(seq) == 3:
            return b"\\u00" + seq[1:]
        return b"\\\\" + seq if seq != b"\n" else b"\\n"

    raw = BAD_ESCAPE.sub(escape, raw)
    return RAW_CONTROL.sub(lambda m: b"\\u%04x" % m.group(0)[0], raw)


def _loads(raw: bytes, tally: Tally):
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        obj = orjson.loads(_repair(raw))
        tally.repaired_batches += 1
        return obj


def _parse_batch(segment: bytes, indent: int, tally: Tally) -> list[dict]:
    """A run of whole message objects (`{...},\\n {...}`) -> dicts; a broken object is counted, not fatal."""
    segment = segment.lstrip(b",")  # what follows the previous batch's last `}`
    if not segment.strip():
        return []
    try:
        return _loads(b"[" + segment + b"]", tally)
    except orjson.JSONDecodeError:
        pass
    out = []
    start = b"\n" + b" " * indent + b"{"
    for piece in segment.split(start)[1:]:
        try:
            obj = _loads(b"{" + piece.rstrip(b", \n\r\t"), tally)
        except orjson.JSONDecodeError:
            tally.malformed += 1
            continue
        out.append(obj)
    return out


def _chat_from_header(path: Path, header: bytes, owner_id: str | None, tally: Tally) -> Chat:
    try:
        obj = _loads(header.rstrip().rstrip(b",") + b', "messages": []}', tally)
    except orjson.JSONDecodeError:
        raise InputError(path, "a chat header is not valid JSON") from None
    return _chat_from_obj(path, obj, owner_id)


def _chat_from_obj(path: Path, obj: dict, owner_id: str | None) -> Chat:
    chat_id = obj.get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise InputError(path, f"a chat has no numeric id (got {chat_id!r})")
    chat_type = obj.get("type")
    return Chat(chat_id, chat_type if isinstance(chat_type, str) else "unknown", obj.get("name"), owner_id)


def _owner_from_info(info: object) -> str | None:
    user_id = info.get("user_id") if isinstance(info, dict) else None
    return f"user{user_id}" if isinstance(user_id, int) else None


def iter_desktop_export(path: Path, tally: Tally) -> Iterator[tuple[Chat, RawBatch | list[dict]]]:
    """(chat, batch of messages) for every chat in a Desktop export, streamed: raw JSON cut at message
    boundaries when the file is in the Desktop app's layout, else parsed dicts."""
    with open(path, "rb") as f:
        buf = f.read(CHUNK_BYTES)
        if not buf.lstrip()[:1] in (b"{", b""):
            raise InputError(path, "not a Telegram export (not a JSON object)")
        eof = len(buf) < CHUNK_BYTES
        owner_id, pos, found_any = None, 0, False

        def more() -> bool:
            nonlocal buf, pos, eof
            if eof:
                return False
            chunk = f.read(CHUNK_BYTES)
            eof = len(chunk) < CHUNK_BYTES
            buf, pos = buf[pos:] + chunk, 0
            return bool(chunk)

        while True:
            m = MESSAGES_LINE.search(buf, pos)
            if m is None:
                if owner_id is None and (info := PERSONAL_INFO.search(buf, pos)):
                    owner_id = _owner_from_info(_loads(info.group(1), tally))
                # keep the tail: it may hold the start of the next chat's header
                keep = max(pos, buf.rfind(b"\n", 0, max(0, len(buf) - (1 << 16))))
                pos = keep
                if not more():
                    break
                continue
            found_any = True
            if m.group(2) != b"[":
                raise InputError(path, "a chat's `messages` is not a list")
            if owner_id is None and (info := PERSONAL_INFO.search(buf, pos, m.start())):
                owner_id = _owner_from_info(_loads(info.group(1), tally))
            indent = len(m.group(1))
            chat_open = b"\n" + b" " * (indent - 1) + b"{\n"
            hs = buf.rfind(chat_open, pos, m.start())
            hs = hs + 1 if hs >= 0 else buf.find(b"{", pos)
            chat = _chat_from_header(path, buf[hs:m.start()], owner_id, tally)
            pos = m.end()
            if m.group(3):  # "messages": []
                yield chat, []
                continue
            msg_close = b"\n" + b" " * (indent + 1) + b"}"
            array_end = b"\n" + b" " * indent + b"]"
            while True:
                end = buf.find(array_end, pos)
                if end >= 0:
                    yield chat, RawBatch(buf[pos:end], indent + 1)
                    pos = end + len(array_end)
                    break
                cut = buf.rfind(msg_close, pos)
                if cut >= 0:
                    cut += len(msg_close)
                    yield chat, RawBatch(buf[pos:cut], indent + 1)
                    pos = cut
                if not more():
                    raise InputError(path, f"truncated: the messages of chat {chat.id} never end")
        if not found_any:
            yield from _iter_whole(path, tally)


def _iter_whole(path: Path, tally: Tally) -> Iterator[tuple[Chat, list[dict]]]:
    """Fallback for exports not in the Desktop app's layout: parse the whole file."""
    raw = path.read_bytes()
    try:
        root = _loads(raw, tally)
    except orjson.JSONDecodeError as err:
        problem = "truncated JSON" if "EOF" in str(err) or "end of" in str(err).lower() else f"not valid JSON ({err})"
        raise InputError(path, problem) from None
    if not isinstance(root, dict):
        raise InputError(path, "not a Telegram export (the top level is not an object)")
    if "messages" in root:
        chats = [root]
    elif isinstance(root.get("chats"), dict):
        chats = list(root["chats"].get("list") or []) + list((root.get("left_chats") or {}).get("list") or [])
    else:
        raise InputError(path, "not a Telegram export (no `messages` and no `chats` list)")
    owner_id = _owner_from_info(root.get("personal_information"))
    for obj in chats:
        if not isinstance(obj, dict):
            tally.malformed += 1
            continue
        messages = obj.get("messages")
        if not isinstance(messages, list):
            raise InputError(path, f"chat {obj.get('id')!r}: `messages` is not a list")
        yield _chat_from_obj(path, obj, owner_id), messages


def iter_fetch_file(path: Path, tally: Tally) -> Iterator[tuple[Chat, list[dict]]]:
    """`doppel fetch` output: a header line, then one Desktop-shaped message per line."""
    with open(path, "rb") as f:
        first = f.readline()
        try:
            header = orjson.loads(first)
            chat = _chat_from_obj(path, header["chat"], header.get("owner_id"))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise InputError(path, "not a doppel fetch file (line 1 is not a chat header)") from None
        batch: list[dict] = []
        for line in f:
            if not line.strip():
                continue
            try:
                obj = _loads(line, tally)
            except orjson.JSONDecodeError:
                tally.malformed += 1  # e.g. a partial last line of a killed fetch
                continue
            batch.append(obj)
            if len(batch) >= 50_000:
                yield chat, batch
                batch = []
        yield chat, batch


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


def add_batch(cols: Columns, chat: Chat, batch: list[dict], tally: Tally) -> None:
    first = next((m for m in batch if isinstance(m, dict)), {})
    if chat.id >= 1 << 32 and isinstance(first.get("from_id", first.get("actor_id")), int):
        chat.id = int(_normalize_id(chat.id).lstrip("chatnel"))  # an old export's shifted chat id
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
    if b'"forwarded_from": null' in segment:
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


def find_inputs(paths: list[Path]) -> list[Path]:
    """Export files under the given paths: result.json files, and fetch's chat_*.jsonl."""
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise InputError(path, "no such file or folder")
        if path.is_file():
            files.append(path)
            continue
        found = sorted(path.rglob("result.json")) + sorted(path.rglob("chat_*.jsonl"))
        if not found:
            raise InputError(path, "no Telegram export here (no result.json, no chat_*.jsonl from doppel fetch)")
        files += found
    return files


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


def finish_batch(raw: pl.DataFrame, params: dict) -> pl.DataFrame:
    """A batch's raw columns -> message columns: UTC times, kinds, and every drop reason a message carries
    by itself (the first that applies). Done every SPILL_ROWS messages, so the raw columns never pile up."""
    p = {**PARAM_DEFAULTS, **params}
    chat_types = list(p["chat_types"])
    skip = [int(c) for c in p["skip_chats"]]
    # date_unixtime is UTC; exports older than it only have `date`, the exporting machine's local time,
    # which is read as UTC (the offset is not in the file)
    ts = pl.coalesce(
        pl.from_epoch("unixtime", time_unit="s").dt.replace_time_zone("UTC"),
        pl.col("date").str.to_datetime("%Y-%m-%dT%H:%M:%S", time_zone="UTC", strict=False),
    ).dt.cast_time_unit("us")
    media_only = (pl.col("kind") != "text") & (
        (pl.col("text").str.strip_chars() == "") | (not p["keep_media_captions"])
    )
    drop = (
        pl.when(pl.col("chat_id") == TELEGRAM_SERVICE_CHAT).then(pl.lit("service_chat"))
        .when(pl.col("chat_id").is_in(skip)).then(pl.lit("skipped_chat"))
        .when(~pl.col("chat_type").is_in(chat_types)).then(pl.lit("chat_type"))
        .when(pl.col("msg_type") == "unsupported").then(pl.lit("unsupported"))
        .when(pl.col("msg_type") != "message").then(pl.lit("service"))
        .when(pl.col("ts").is_null()).then(pl.lit("malformed"))
        .when(pl.col("sender_id").is_null()).then(pl.lit("no_sender"))
        .when(pl.col("forwarded") & (not p["keep_forwarded"])).then(pl.lit("forwarded"))
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


def to_messages(parts: list[Path], chats: set[int], owners: dict[int, str], params: dict) -> pl.LazyFrame:
    """Finished messages spilled to disk in file order -> the message table (lazy) with the owner flag.

    Rows stay in the export's order (chat by chat, message ids ascending), so nothing is sorted in memory.
    Only when that order is broken (overlapping exports, shuffled ids) is the table sorted by chat and
    message id, and a (chat, message id) seen before dropped as a duplicate."""
    p = {**PARAM_DEFAULTS, **params}
    files = [str(path) for path in parts]
    messages = pl.scan_ipc(files) if files else finish_batch(_frame(Columns()), p).lazy()
    # The owner: the param, else the file's personal_information/fetch header, else (single-chat export)
    # the sender of a personal chat who is not its peer (`id` of a personal chat is the peer's user id).
    if p["owner_id"]:
        owner = pl.lit(normalize_owner_id(p["owner_id"]), dtype=pl.String)
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
        owner_of = {**dict(inferred.iter_rows()), **owners}
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
    return messages.select(list(Message.to_schema().columns))


def normalize_owner_id(value) -> str:
    """params' owner_id as the export writes from_id: "user123" (a bare number is a user id)."""
    text = str(value).strip()
    return f"user{text}" if text.isdigit() else text


def scan_exports(paths: list[Path], spill: Path, params: dict | None = None,
                 tally: Tally | None = None) -> tuple[pl.LazyFrame, dict]:
    """Exports -> (the validated message table as a LazyFrame over batches spilled to `spill`, report).

    Every SPILL_ROWS messages read are finished (times, kinds, drop reasons), validated and written to
    `spill`, so memory holds a few batches, not the export."""
    params = check_params(params or {})
    tally = tally or Tally()
    parts: list[Path] = []
    chats: set[int] = set()
    owners: dict[int, str] = {}  # chats whose export names the owner
    pending: deque = deque()  # batches being parsed by Polars on the pool, settled in file order
    held: list[pl.DataFrame] = []  # read, not yet finished and spilled
    held_rows = 0

    def spill_held() -> None:
        nonlocal held_rows
        if not held:
            return
        frame = finish_batch(pl.concat(held, how="vertical", rechunk=False), params)
        held.clear()
        held_rows = 0
        # the owner flag is set at the end; uniqueness of kept messages is `to_messages`' job
        MessageBatch.validate(frame.with_columns(is_owner=pl.lit(False)))
        path = spill / f"part-{len(parts):06d}.arrow"
        frame.write_ipc(path, compression="uncompressed")
        parts.append(path)

    def add(chat: Chat, frame: pl.DataFrame) -> None:
        nonlocal held_rows
        if frame.is_empty():
            return
        held.append(frame)
        held_rows += frame.height
        chats.add(chat.id)
        if chat.owner_id:
            owners.setdefault(chat.id, chat.owner_id)
        if held_rows >= SPILL_ROWS:
            spill_held()

    def add_dicts(chat: Chat, messages: list[dict]) -> None:
        cols = Columns()
        add_batch(cols, chat, messages, tally)
        add(chat, _frame(cols))

    def settle() -> None:
        chat, batch, future = pending.popleft()
        if (result := future.result()) is not None:
            add(chat, result[0])
            tally.malformed += result[1]
        else:
            add_dicts(chat, _parse_batch(batch.segment, batch.indent, tally))

    with ThreadPoolExecutor(PARSE_THREADS) as pool:
        for path in find_inputs(paths):
            tally.files.append(str(path))
            reader = iter_fetch_file if path.suffix == ".jsonl" else iter_desktop_export
            try:
                for chat, batch in reader(path, tally):
                    if isinstance(batch, RawBatch):
                        pending.append((chat, batch, pool.submit(fast_frame, chat, batch.segment)))
                        while len(pending) > PARSE_THREADS:
                            settle()
                    else:
                        add_dicts(chat, batch)
                while pending:
                    settle()
            except IsADirectoryError:
                raise InputError(path, "is a folder") from None
            except PermissionError:
                raise InputError(path, "permission denied") from None
    spill_held()
    messages = to_messages(parts, chats, owners, params)
    return messages, accounting(messages, tally)


def read_exports(paths: list[Path], params: dict | None = None, tally: Tally | None = None) -> tuple[pl.DataFrame, dict]:
    """Exports -> (validated message table, accounting report), in memory."""
    with tempfile.TemporaryDirectory(prefix="doppel-ingest-") as spill:
        messages, report = scan_exports(paths, Path(spill), params, tally)
        return Message.validate(messages.collect()), report


def check_params(params: dict) -> dict:
    p = {**PARAM_DEFAULTS, **params}
    if not isinstance(p["chat_types"], list) or not all(isinstance(t, str) for t in p["chat_types"]):
        raise InputError("params.yaml", "ingest.chat_types must be a list of chat types, e.g. [personal_chat]")
    if not isinstance(p["skip_chats"], list) or not all(
            isinstance(c, int) or (isinstance(c, str) and c.lstrip("-").isdigit()) for c in p["skip_chats"]):
        raise InputError("params.yaml", f"ingest.skip_chats must be a list of chat ids, got {p['skip_chats']!r}")
    return p


def accounting(messages: pl.LazyFrame | pl.DataFrame, tally: Tally) -> dict:
    kept = pl.col("drop_reason").is_null()
    per_chat = (
        messages.lazy().group_by("chat_id")
        .agg(
            pl.col("chat_type").first().alias("type"),
            pl.len().alias("read"),
            kept.sum().alias("kept"),
            (kept & pl.col("is_owner")).sum().alias("kept_owner"),
        )
        .sort("chat_id")
        .collect()
    )
    dropped = dict(
        messages.lazy().filter(~kept).group_by("drop_reason").len().sort("drop_reason").collect().iter_rows()
    )
    if tally.malformed:
        dropped["malformed"] = dropped.get("malformed", 0) + tally.malformed
    return {
        "files": len(tally.files),
        "messages_read": int(per_chat["read"].sum()) + tally.malformed,
        "kept": int(per_chat["kept"].sum()),
        "kept_owner": int(per_chat["kept_owner"].sum()),
        "dropped": dict(sorted(dropped.items())),
        "repaired_batches": tally.repaired_batches,
        "chats": {str(r.pop("chat_id")): r for r in per_chat.iter_rows(named=True)},
    }


def summary(report: dict, seconds: float | None = None) -> str:
    lines = [
        f"ingest: {report['files']} file(s), {report['messages_read']:,} messages read, "
        f"{report['kept']:,} kept ({report['kept_owner']:,} by the owner)"
        + (f" in {seconds:.1f}s" if seconds is not None else ""),
    ]
    if report["dropped"]:
        lines.append("  dropped: " + ", ".join(f"{k} {v:,}" for k, v in report["dropped"].items()))
    if report["kept"] and not report["kept_owner"]:
        lines.append("  warning: none of the kept messages is the owner's: check ingest.owner_id")
    kept_chats = sum(1 for c in report["chats"].values() if c["kept"])
    lines.append(f"  chats: {len(report['chats'])} read, {kept_chats} with kept messages")
    if report["repaired_batches"]:
        lines.append(f"  repaired: {report['repaired_batches']} batch(es) had invalid JSON escapes or UTF-8")
    return "\n".join(lines)


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def write_parquet(frame: pl.DataFrame | pl.LazyFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(frame, pl.LazyFrame):
        frame.sink_parquet(path, statistics=False)
    else:
        frame.write_parquet(path, statistics=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="doppel ingest", description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+", type=Path, help="result.json files or folders holding them")
    ap.add_argument("-o", "--output", type=Path, required=True, help="the message table (.parquet)")
    ap.add_argument("--report", type=Path, help="accounting JSON (messages read, kept, dropped per reason)")
    ap.add_argument("--params", type=Path, default=params_mod.PARAMS_FILE)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    if args.output.is_dir():
        raise InputError(args.output, "is a folder: -o names the .parquet file to write")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=args.output.parent) as spill:
        messages, report = scan_exports(args.paths, Path(spill), params_mod.load("ingest", args.params))
        write_parquet(messages, args.output)
    if args.report:
        write_json(args.report, report)
    print(summary(report, time.perf_counter() - start), file=sys.stderr)
    return 0


if __name__ == "__main__":
    from doppel.cli import module_main

    module_main("ingest")
