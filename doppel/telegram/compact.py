"""An export re-saved without Telegram Desktop's line structure (minified, `json.dumps`' separators, CRLF line
ends, ...) cut into the same raw message batches as the Desktop reader's, so Polars parses them straight into
columns (the fast path) instead of the streaming parser building a dict per message.

Where the Desktop reader knows the structure from the lines, this reader finds it with a vectorised scan
(numpy, CHUNK_BYTES at a time): the quotes that are not escaped, the brackets outside strings between them, and
each bracket's depth. A chat is an object at CHAT_DEPTH with a `"messages": [` key; its messages are the objects
one level inside that array, and a batch is a run of whole ones (RawBatch, with each object's offset for the
tolerant path). Memory follows the chunk size, not the export's. A chat this reader does not take (its `id` or
`type` after `messages`, a single-chat export) raises NotDesktopLayout at that chat, and the streaming parser
(doppel.telegram.stream) reads the file from there; a file whose brackets do not balance is refused.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from doppel.errors import InputError
from doppel.telegram.desktop import (BOM, CHUNK_BYTES, NotDesktopLayout, RawBatch, _chat_from_header, loads,
                                     owner_from_info)
from doppel.telegram.messages import Chat, Tally

QUOTE, BACKSLASH = ord('"'), ord("\\")
CHAT_DEPTH = 4  # the root {, "chats" {, "list" [, the chat {: a chat's keys stand at depth 4 (left_chats' too)
OWNER_DEPTH = 1  # `personal_information` is a key of the root object
MESSAGES_KEY = re.compile(rb'"messages"\s*:\s*(\S)')
PERSONAL_INFO = re.compile(rb'"personal_information"\s*:\s*\{')


class Scan:
    """The brackets of `buf` outside strings: positions, whether each opens, the depth after each. `buf` starts
    outside any string, at depth `depth`; a bracket in an unterminated string at its end counts as in the string."""

    def __init__(self, buf: bytes, depth: int):
        a = np.frombuffer(buf, np.uint8)
        quote = a == QUOTE
        slash = np.flatnonzero(a == BACKSLASH)
        if slash.size:  # in a run of backslashes, the 1st, 3rd, ... escape the byte after them
            first = np.ones(slash.size, bool)
            first[1:] = slash[1:] != slash[:-1] + 1
            run_start = slash[first][np.cumsum(first) - 1]
            escaped = slash[(slash - run_start) % 2 == 0] + 1
            quote[escaped[escaped < a.size]] = False
        self.quotes = np.flatnonzero(quote)
        folded = a | 0x20  # [ and ] become { and }
        pos = np.flatnonzero(((folded - 0x7B) & 0xFD) == 0)  # { or } (0x7B, 0x7D)
        self.pos = pos[(np.searchsorted(self.quotes, pos) & 1) == 0]
        self.opens = (a[self.pos] & 0x02) != 0  # { [ have bit 1 set, } ] do not
        self.after = depth + np.cumsum(np.where(self.opens, 1, -1), dtype=np.int64)
        self.depth = depth

    def outside_string(self, at: int) -> bool:
        return not np.searchsorted(self.quotes, at) & 1

    def depth_at(self, at: int) -> int:
        """The depth just before byte `at`."""
        i = int(np.searchsorted(self.pos, at))
        return int(self.after[i - 1]) if i else self.depth

    def token(self, at: int) -> int | None:
        """The index of the bracket at byte `at`, None when there is none outside a string."""
        i = int(np.searchsorted(self.pos, at))
        return i if i < self.pos.size and self.pos[i] == at else None

    def first(self, start: int, mask: np.ndarray) -> int | None:
        """The first bracket index from byte `start` on where `mask` holds."""
        i = int(np.searchsorted(self.pos, start))
        hits = np.flatnonzero(mask[i:])
        return i + int(hits[0]) if hits.size else None


def iter_compact_export(f: BinaryIO, name: str, tally: Tally) -> Iterator[tuple[Chat, RawBatch | list]]:
    """(chat, raw batch of whole messages) for every chat of the export in `f`, in any JSON layout."""
    buf = f.read(CHUNK_BYTES)
    eof = len(buf) < CHUNK_BYTES
    buf = buf.removeprefix(BOM)
    depth, chats, chat = 0, 0, None  # chat: the one whose messages array is open at buf's start
    while True:
        scan = Scan(buf, depth)
        start = 0
        while True:
            if chat is None:
                found = _next_chat(scan, buf, start, name, tally, chats)
                if found is None:
                    break
                chat, start = found
                chats += 1
                continue
            level = CHAT_DEPTH + 1  # inside the messages array
            end = scan.first(start, (scan.after == level - 1) & ~scan.opens)
            limit = scan.pos[end] if end is not None else len(buf)
            close = _last(scan, start, limit, (scan.after == level) & ~scan.opens)
            stop = scan.pos[end] if end is not None else (scan.pos[close] + 1 if close is not None else start)
            opens = _between(scan, start, stop, (scan.after == level + 1) & scan.opens)
            if opens.size:
                first = _after_comma(buf, start)
                yield chat, RawBatch(buf[first:stop], b"", opens - first)
            elif end is not None:
                yield chat, []
            if end is None:
                start = stop
                break
            chat, start = None, int(scan.pos[end]) + 1
        if eof:
            break
        keep = start if chat is not None else _outside_keep(scan, buf, start, tally)
        depth = scan.depth_at(keep)
        chunk = f.read(CHUNK_BYTES)
        eof = len(chunk) < CHUNK_BYTES
        buf = buf[keep:] + chunk
    if chat is not None:
        raise InputError(name, f"truncated: the messages of chat {chat.id} never end")
    if not chats:
        raise NotDesktopLayout(0)
    final = scan.after[-1] if scan.after.size else scan.depth
    if final != 0 or (scan.after.size and (scan.after < 0).any()):
        raise InputError(name, "not valid JSON (its brackets do not balance: truncated, or more after its end)")


def _next_chat(scan: Scan, buf: bytes, start: int, name: str, tally: Tally,
               chats: int) -> tuple[Chat, int] | None:
    """The next chat whose `"messages": [` opens after `start`, and where its messages begin; None when buf
    holds none (yet). Notes the export's owner on the way."""
    if tally.file_owner is None:
        _owner(scan, buf, start, tally)
    for m in MESSAGES_KEY.finditer(buf, start):
        if not scan.outside_string(m.start()) or scan.depth_at(m.start()) != CHAT_DEPTH:
            if scan.outside_string(m.start()) and scan.depth_at(m.start()) == OWNER_DEPTH:
                raise NotDesktopLayout(chats)  # a single-chat export: the root is the chat
            continue
        if m.group(1) != b"[":
            raise InputError(name, "a chat's `messages` is not a list")
        chat_open = _last(scan, start, m.start(), (scan.after == CHAT_DEPTH) & scan.opens)
        if chat_open is None:  # the chat's `{` is before `start`: cannot be, the buffer keeps it
            raise NotDesktopLayout(chats)
        chat = _chat_from_header(name, buf[scan.pos[chat_open]:m.start()], tally.file_owner, tally, chats)
        return chat, m.end()
    return None


def _owner(scan: Scan, buf: bytes, start: int, tally: Tally) -> int | None:
    """Notes the owner from `personal_information`; where it starts when buf holds only its beginning."""
    for m in PERSONAL_INFO.finditer(buf, start):
        at = m.end() - 1
        if scan.token(at) is None or scan.depth_at(at) != OWNER_DEPTH:
            continue
        close = scan.first(at + 1, (scan.after == OWNER_DEPTH) & ~scan.opens)
        if close is None:
            return m.start()
        tally.file_owner = owner_from_info(loads(buf[at:scan.pos[close] + 1], tally))
        return None
    return None


def _outside_keep(scan: Scan, buf: bytes, start: int, tally: Tally) -> int:
    """Between chats, where the next buffer starts: the last bracket (a chat's header holds none after its `{`,
    so no chat starts before it), or an unfinished `personal_information`; memory follows the chunk size however
    long the sections between chats are."""
    last = int(scan.pos[-1]) if scan.pos.size and scan.pos[-1] >= start else start
    pending = _owner(scan, buf, start, tally) if tally.file_owner is None else None
    return min(last, pending) if pending is not None else last


def _last(scan: Scan, start: int, stop: int, mask: np.ndarray) -> int | None:
    lo, hi = np.searchsorted(scan.pos, [start, stop])
    hits = np.flatnonzero(mask[lo:hi])
    return int(lo + hits[-1]) if hits.size else None


def _between(scan: Scan, start: int, stop: int, mask: np.ndarray) -> np.ndarray:
    lo, hi = np.searchsorted(scan.pos, [start, stop])
    return scan.pos[lo:hi][mask[lo:hi]]


def _after_comma(buf: bytes, at: int) -> int:
    """Past the whitespace and the one comma that follow a message (or the array's `[`)."""
    while at < len(buf) and buf[at] in b" \t\r\n":
        at += 1
    return at + 1 if buf[at:at + 1] == b"," else at
