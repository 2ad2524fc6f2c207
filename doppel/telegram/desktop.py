"""Telegram Desktop exports (result.json), read as a stream of (chat, batch of messages).

Telegram Desktop pretty-prints its export with one space per level, and JSON strings never span lines, so a
line holding only `{` / `}` / `]` at a given indentation is structure. The reader uses that to cut each
chat's `messages` array into batches of whole message objects (RawBatch), read CHUNK_BYTES at a time, so
memory follows the chunk size, not the export's size. Exports in any other layout (minified, hand-edited)
are parsed whole.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from doppel.errors import InputError
from doppel.telegram.messages import Chat, Tally

CHUNK_BYTES = 16 << 20
MESSAGES_LINE = re.compile(rb'\n( *)"messages": (\S)(\])?')
PERSONAL_INFO = re.compile(rb'\n "personal_information": (\{.*?\n \})', re.S)
BAD_ESCAPE = re.compile(rb'\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)', re.S)
RAW_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f]")


@dataclass
class RawBatch:
    """Whole message objects as they stand in the file (`{...},\n {...}`), not parsed yet."""

    segment: bytes
    indent: int


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


def loads(raw: bytes, tally: Tally):
    """JSON, repaired when it must be (counted in `tally`); still invalid: orjson.JSONDecodeError."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        obj = orjson.loads(_repair(raw))
        tally.repaired_batches += 1
        return obj


def parse_batch(segment: bytes, indent: int, tally: Tally) -> list[dict]:
    """A run of whole message objects (`{...},\\n {...}`) -> dicts; a broken object is counted, not fatal."""
    segment = segment.lstrip(b",")  # what follows the previous batch's last `}`
    if not segment.strip():
        return []
    try:
        return loads(b"[" + segment + b"]", tally)
    except orjson.JSONDecodeError:
        pass
    out = []
    start = b"\n" + b" " * indent + b"{"
    for piece in segment.split(start)[1:]:
        try:
            obj = loads(b"{" + piece.rstrip(b", \n\r\t"), tally)
        except orjson.JSONDecodeError:
            tally.malformed += 1
            continue
        out.append(obj)
    return out


def _chat_from_header(path: Path, header: bytes, owner_id: str | None, tally: Tally) -> Chat:
    try:
        obj = loads(header.rstrip().rstrip(b",") + b', "messages": []}', tally)
    except orjson.JSONDecodeError:
        raise InputError(path, "a chat header is not valid JSON") from None
    return chat_from_obj(path, obj, owner_id)


def chat_from_obj(path: Path, obj: dict, owner_id: str | None) -> Chat:
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
                    owner_id = _owner_from_info(loads(info.group(1), tally))
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
                owner_id = _owner_from_info(loads(info.group(1), tally))
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
        root = loads(raw, tally)
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
        yield chat_from_obj(path, obj, owner_id), messages
