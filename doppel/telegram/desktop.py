"""Telegram Desktop's own layout of result.json, read fast: a stream of (chat, batch of raw messages).

Telegram Desktop pretty-prints its export with one space per level and `\n` line ends, and JSON strings never
span lines, so a line holding only `{` / `}` / `]` at a given indentation is structure. The same holds for the
export re-saved pretty-printed with another indentation unit (2 or 4 spaces, a tab: Python's `json.dump(indent=)`,
editors), read the same way with that unit. The reader uses that to
cut each chat's `messages` array into batches of whole message objects (RawBatch), read CHUNK_BYTES at a time,
so memory follows the chunk size, not the export's size. A file in any other layout (minified, CRLF, keys
reordered) is doppel.telegram.stream's: `layout_indent` tells which, and a chat found out of
layout further on raises NotDesktopLayout so that the stream reader takes over from that chat.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import orjson

from doppel.errors import InputError
from doppel.telegram.messages import Chat, Tally

if TYPE_CHECKING:
    import numpy as np

CHUNK_BYTES = 16 << 20
BOM = b"\xef\xbb\xbf"
HEAD_LAYOUT = re.compile(rb'\{\n( +|\t)"')  # the first key's indentation is the file's indentation unit
BAD_ESCAPE = re.compile(rb'\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)', re.S)
RAW_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f]")


class NotDesktopLayout(Exception):
    """The file leaves Telegram's layout at chat number `chats_done` (the ones before it are read)."""

    def __init__(self, chats_done: int):
        super().__init__(chats_done)
        self.chats_done = chats_done


def layout_indent(head: bytes) -> bytes | None:
    """The indentation unit of a file (its start, BOM stripped) in Telegram Desktop's layout (one space) or the
    same layout re-indented (spaces or a tab per level): `{`, then keys indented by one unit, `\n` line ends.
    None for any other layout (minified, CRLF, ...)."""
    m = HEAD_LAYOUT.match(head)
    return m.group(1) if m and b"\r" not in head else None


def _layout_patterns(unit: bytes) -> tuple[re.Pattern, re.Pattern]:
    """A chat's `"messages": ` line (its indentation, the opening bracket, `]` when empty); the top-level
    `personal_information` object."""
    u = re.escape(unit)
    return (re.compile(rb'\n((?:' + u + rb')*)"messages": (\S)(\])?'),
            re.compile(rb'\n' + u + rb'"personal_information": (\{.*?\n' + u + rb'\})', re.S))


@dataclass
class RawBatch:
    """Whole message objects as they stand in the file (`{...},\n {...}`), not parsed yet."""

    segment: bytes
    indent: bytes  # the indentation of a message's opening `{`
    starts: np.ndarray | None = None  # each message's offset in `segment`, when known (doppel.telegram.compact)


def _repair(raw: bytes, controls: re.Pattern = RAW_CONTROL) -> bytes:
    """Make an almost-JSON batch parseable: invalid UTF-8, `\\x0C`-style and other invalid escapes, raw
    control characters inside strings (`controls`: the ones that cannot be whitespace between tokens)."""
    raw = raw.decode("utf-8", "replace").encode()

    def escape(m: re.Match) -> bytes:
        seq = m.group(1)
        if seq[:1] == b"u" and len(seq) == 5 or seq in (b'"', b"\\", b"/", b"b", b"f", b"n", b"r", b"t"):
            return m.group(0)
        if seq[:1] == b"x" and len(seq) == 3:
            return b"\\u00" + seq[1:]
        return b"\\\\" + seq if seq != b"\n" else b"\\n"

    raw = BAD_ESCAPE.sub(escape, raw)
    return controls.sub(lambda m: b"\\u%04x" % m.group(0)[0], raw)


def loads(raw: bytes, tally: Tally):
    """JSON, repaired when it must be (counted in `tally`); still invalid: orjson.JSONDecodeError."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        obj = orjson.loads(_repair(raw))
        tally.repaired_batches += 1
        return obj


def parse_batch(segment: bytes, indent: bytes, tally: Tally, starts: np.ndarray | None = None) -> list[dict]:
    """A run of whole message objects (`{...},\\n {...}`) -> dicts; a broken object is counted, not fatal.
    Objects are told apart by their indentation, or by `starts` (their offsets) when given."""
    segment = segment.lstrip(b",")  # what follows the previous batch's last `}`
    if not segment.strip():
        return []
    try:
        return loads(b"[" + segment + b"]", tally)
    except orjson.JSONDecodeError:
        pass
    out = []
    if starts is not None:
        bounds = [*starts.tolist(), len(segment)]
        pieces = [segment[a + 1:b] for a, b in zip(bounds, bounds[1:])]
    else:
        pieces = segment.split(b"\n" + indent + b"{")[1:]
    for piece in pieces:
        try:
            obj = loads(b"{" + piece.rstrip(b", \n\r\t"), tally)
        except orjson.JSONDecodeError:
            tally.malformed += 1
            continue
        out.append(obj)
    return out


def _chat_from_header(path: Path | str, header: bytes, owner_id: str | None, tally: Tally, index: int) -> Chat:
    try:
        obj = loads(header.rstrip().rstrip(b",") + b', "messages": []}', tally)
    except orjson.JSONDecodeError:
        raise NotDesktopLayout(index) from None
    if not isinstance(obj, dict) or "id" not in obj or "type" not in obj:  # keys after `messages`: reordered
        raise NotDesktopLayout(index)
    return chat_from_obj(path, obj, owner_id)


def chat_from_obj(path: Path | str, obj: dict, owner_id: str | None) -> Chat:
    chat_id = obj.get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise InputError(path, f"a chat has no numeric id (got {chat_id!r})")
    chat_type = obj.get("type")
    return Chat(chat_id, chat_type if isinstance(chat_type, str) else "unknown", obj.get("name"), owner_id)


def iter_desktop_export(f: BinaryIO, name: str, tally: Tally,
                        unit: bytes = b" ") -> Iterator[tuple[Chat, RawBatch | list[dict]]]:
    """(chat, raw batch of messages) for every chat of an export in Telegram Desktop's layout, indented by
    `unit` per level, streamed from `f` (its first bytes already checked by `layout_indent`). NotDesktopLayout when a chat turns out not
    to be, or when no chat is found (the stream reader then says what the file is)."""
    buf = f.read(CHUNK_BYTES)
    eof = len(buf) < CHUNK_BYTES
    buf = buf.removeprefix(BOM)
    pos, chats = 0, 0
    messages_line, personal_info = _layout_patterns(unit)

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        chunk = f.read(CHUNK_BYTES)
        eof = len(chunk) < CHUNK_BYTES
        buf, pos = buf[pos:] + chunk, 0
        return bool(chunk)

    while True:
        m = messages_line.search(buf, pos)
        if m is None:
            if tally.file_owner is None:
                _note_owner(personal_info.search(buf, pos), tally)
            # keep the tail: it may hold the start of the next chat's header
            pos = max(pos, buf.rfind(b"\n", 0, max(0, len(buf) - (1 << 16))))
            if not more():
                break
            continue
        if m.group(2) != b"[":
            raise InputError(name, "a chat's `messages` is not a list")
        if tally.file_owner is None:
            _note_owner(personal_info.search(buf, pos, m.start()), tally)
        depth = len(m.group(1)) // len(unit)
        chat_open = b"\n" + unit * (depth - 1) + b"{\n"
        hs = buf.rfind(chat_open, pos, m.start())
        hs = hs + 1 if hs >= 0 else buf.find(b"{", pos)
        chat = _chat_from_header(name, buf[hs:m.start()], tally.file_owner, tally, chats)
        chats += 1
        pos = m.end()
        if m.group(3):  # "messages": []
            yield chat, []
            continue
        msg_close = b"\n" + unit * (depth + 1) + b"}"
        array_end = b"\n" + unit * depth + b"]"
        while True:
            end = buf.find(array_end, pos)
            if end >= 0:
                yield chat, RawBatch(buf[pos:end], unit * (depth + 1))
                pos = end + len(array_end)
                break
            cut = buf.rfind(msg_close, pos)
            if cut >= 0:
                cut += len(msg_close)
                yield chat, RawBatch(buf[pos:cut], unit * (depth + 1))
                pos = cut
            if not more():
                raise InputError(name, f"truncated: the messages of chat {chat.id} never end")
    if not chats:
        raise NotDesktopLayout(0)


def _note_owner(info: re.Match | None, tally: Tally) -> None:
    if info is not None:
        tally.file_owner = owner_from_info(loads(info.group(1), tally))


def owner_from_info(info: object) -> str | None:
    user_id = info.get("user_id") if isinstance(info, dict) else None
    return f"user{user_id}" if isinstance(user_id, int) and not isinstance(user_id, bool) else None
