"""An export in any JSON layout (re-indented, minified, tabs, CRLF, a BOM, keys in any order, escapes, extra
sections) read with a streaming JSON parser: ijson, with its C backend (yajl2_c).

ijson's C `items` builds each message dict; the parser's events pass through `_Walk` on their way to it,
which notes where chats start and end, their `id`/`type`/`name` and the export's owner, so messages go out in
batches of BATCH_MESSAGES with their chat. Memory follows the batch size, not the export, except for a chat
whose `id`/`type` come after its `messages` (keys reordered): its batches are held as columns until its end.
"""
from __future__ import annotations

import re
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import polars as pl

from doppel.errors import InputError
from doppel.telegram.desktop import BOM, _repair, chat_from_obj
from doppel.telegram.messages import Chat, Tally, frame_from_dicts, normalize_chat_id

try:
    import ijson.backends.yajl2_c as backend
except ImportError:  # no compiled backend for this platform: correct, several times slower
    import ijson.backends.python as backend

    print("ingest: warning: ijson's C backend (yajl2_c) is not available; using its pure-Python backend, "
          "which is much slower on exports not in Telegram Desktop's own layout", file=sys.stderr)
from ijson.common import JSONError

BATCH_MESSAGES = 50_000
CHAT = "chats.list.item"
MESSAGES = CHAT + ".messages"
MESSAGE = MESSAGES + ".item"
LEFT = "left_chats.list.item"
HEADER = {f"{CHAT}.{key}": key for key in ("id", "type", "name")}
ROOT_HEADER = {"id", "type", "name"}
SCALAR = {"string", "number", "boolean", "null"}
# what cannot be valid JSON: invalid escapes (or `\\` before one: a false alarm, repaired the same), control
# characters that are not whitespace between tokens
SUSPECT = re.compile(rb'\\[^"\\/bfnrtu]|[\x00-\x08\x0b\x0c\x0e-\x1f]')
CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class _ChatState:
    index: int | None = None  # among the chats with a `messages` list, in file order (as the Desktop reader counts)
    header: dict = field(default_factory=dict)
    chat: Chat | None = None  # known once `messages` starts after `id` and `type`
    batch: list = field(default_factory=list)
    held: list = field(default_factory=list)  # frames of batches read before the chat was known
    first: list = field(default_factory=list)  # its first message, for old exports' shifted chat ids


class _Walk:
    """Watches parser events on their way to ijson's `items`: chats, their headers, the export's owner."""

    def __init__(self, name: str, tally: Tally):
        self.name, self.tally = name, tally
        self.current: _ChatState | None = None
        self.done: deque[_ChatState] = deque()
        self.chats = 0
        self.root: _ChatState | None = None
        self.single = self.has_chats = self.started = False

    def events(self, events) -> Iterator[tuple]:
        for prefix, event, value in events:
            if prefix.startswith(MESSAGE):
                yield prefix, event, value
                continue
            if prefix.startswith(LEFT):  # left_chats are chats like the others
                prefix = CHAT + prefix[len(LEFT):]
            elif self.single and prefix.startswith("messages"):  # a single-chat export: the root is the chat
                prefix = f"{CHAT}.{prefix}"
            if prefix.startswith(MESSAGE):
                yield prefix, event, value
            else:
                self._watch(prefix, event, value)

    def _watch(self, prefix: str, event: str, value) -> None:
        if prefix == CHAT:
            if event == "start_map":
                self.current = _ChatState()
            elif event == "end_map":
                self.done.append(self.current)
                self.current = None
            elif event in SCALAR or event == "start_array":
                self.tally.malformed += 1  # a chat that is not an object
        elif prefix in HEADER:
            _note(self.current, HEADER[prefix], event, value)
        elif prefix == MESSAGES and self.current is not None:
            if event == "start_array":
                state = self.current
                state.index, self.chats = self.chats, self.chats + 1
                if {"id", "type"} <= state.header.keys():
                    state.chat = chat_from_obj(self.name, state.header, None)
            elif event != "end_array":
                chat_id = self.current.header.get("id")
                raise InputError(self.name, f"chat {chat_id!r}: `messages` is not a list")
        elif prefix == "":
            self._root(event, value)
        elif prefix in ROOT_HEADER:
            _note(self.root, prefix, event, value)
        elif prefix == "personal_information.user_id" and event == "number" and not isinstance(value, bool):
            self.tally.file_owner = self.tally.file_owner or f"user{value}"

    def _root(self, event: str, value) -> None:
        if not self.started:
            self.started = True
            if event != "start_map":
                raise InputError(self.name, "not a Telegram export (the top level is not an object)")
            self.root = _ChatState()
        elif event == "map_key" and value == "messages" and not self.has_chats:
            self.single, self.current = True, self.root
        elif event == "map_key" and value == "chats":
            self.has_chats = True
        elif event == "end_map":
            if self.single:
                self.done.append(self.root)
            elif not self.has_chats:
                raise InputError(self.name, "not a Telegram export (no `messages` and no `chats` list)")


def _note(state: _ChatState | None, key: str, event: str, value) -> None:
    """A chat's id/type/name; an object or list there is kept as `{}` (so a non-numeric id is refused)."""
    if state is not None and (event in SCALAR or event.startswith("start")):
        state.header[key] = value if event in SCALAR else {}


class _Repairing:
    """A byte stream made parseable where it cannot be JSON as it stands (invalid UTF-8, invalid escapes,
    control characters): the same repairs as the Desktop reader's, counted in `tally`."""

    def __init__(self, f: BinaryIO, tally: Tally):
        self.f, self.tally = f, tally
        self.carry, self.first = b"", True

    def read(self, n: int = 65536) -> bytes:
        if n == 0:  # ijson asks for 0 bytes to learn whether the stream gives bytes or text
            return b""
        while True:
            data = self.f.read(n)
            chunk = self.carry + data
            if self.first and (len(chunk) >= len(BOM) or not data):
                chunk, self.first = chunk.removeprefix(BOM), False
            if not data:  # the end
                self.carry = b""
                return self._repaired(chunk)
            cut = _safe_cut(chunk)
            self.carry, chunk = chunk[cut:], chunk[:cut]
            if chunk:
                return self._repaired(chunk)

    def _repaired(self, chunk: bytes) -> bytes:
        try:
            chunk.decode()
            if not SUSPECT.search(chunk):
                return chunk
        except UnicodeDecodeError:
            pass
        self.tally.repaired_batches += 1
        return _repair(chunk, CONTROLS)


def _safe_cut(chunk: bytes) -> int:
    """Where to end a chunk so that no escape sequence or UTF-8 character is split."""
    cut = len(chunk)
    slash = chunk.rfind(b"\\", max(0, cut - 8))
    if slash >= 0:
        while slash > 0 and chunk[slash - 1] == 0x5C:  # the whole run of backslashes goes on
            slash -= 1
        cut = slash
    j = cut
    while j > max(0, cut - 4) and 0x80 <= chunk[j - 1] < 0xC0:
        j -= 1
    if j > 0 and chunk[j - 1] >= 0xC0:
        cut = j - 1
    return cut


def iter_stream(f: BinaryIO, name: str, tally: Tally, skip_chats: int = 0) -> Iterator[tuple[Chat, list | pl.DataFrame]]:
    """(chat, batch of message dicts or of finished columns) for every chat of the export in `f`, after the
    first `skip_chats` (read already by the Desktop-layout reader)."""
    walk = _Walk(name, tally)
    events = walk.events(backend.parse(_Repairing(f, tally), use_float=True))
    try:
        for message in backend.items(events, MESSAGE):
            while walk.done:
                yield from _finish(walk.done.popleft(), name, tally, skip_chats)
            state = walk.current
            if state.index < skip_chats:
                continue
            state.batch.append(message)
            if len(state.batch) >= BATCH_MESSAGES:
                yield from _flush(state, tally)
        while walk.done:
            yield from _finish(walk.done.popleft(), name, tally, skip_chats)
    except JSONError as err:
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "premature EOF" in text:
            raise InputError(name, "truncated JSON (the file ends before the export does)") from None
        raise InputError(name, f"not valid JSON ({text.removeprefix('parse error: ')})") from None
    if not walk.started:
        raise InputError(name, "empty file (not a Telegram export)")


def _flush(state: _ChatState, tally: Tally) -> Iterator[tuple[Chat, list | pl.DataFrame]]:
    batch, state.batch = state.batch, []
    if not state.first and batch:
        state.first = batch[:1]
    if state.chat is not None:
        yield state.chat, batch
    else:
        state.held.append(frame_from_dicts(Chat(0, "unknown", None, None), batch, tally))


def _finish(state: _ChatState, name: str, tally: Tally, skip_chats: int) -> Iterator[tuple[Chat, list | pl.DataFrame]]:
    if state.index is None or state.index < skip_chats:  # no `messages` list (nothing to read), or read already
        return
    chat = state.chat
    if chat is None:  # `id` or `type` after `messages`, or no `messages` at all
        chat = chat_from_obj(name, state.header, None)
        normalize_chat_id(chat, state.first or state.batch[:1])
        for frame in state.held:
            yield chat, frame.with_columns(chat_id=pl.lit(chat.id, pl.Int64), chat_type=pl.lit(chat.type, pl.String))
        state.chat = chat
    yield from _flush(state, tally)
