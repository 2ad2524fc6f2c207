"""One export source -> (chat, batch) pairs, by the reader its format needs.

`doppel fetch` files: line by line. Desktop exports: a look at the first bytes says whether the file is in
Telegram Desktop's own layout, or that layout re-indented (the fast reader, doppel.telegram.desktop), or was
re-saved in another one (minified, CRLF, ...: doppel.telegram.compact, which cuts the same raw batches by a scan of
the JSON's structure); a chat either reader cannot take (keys reordered, a single-chat export in another layout) and
every chat after it go to the streaming JSON parser (doppel.telegram.stream). HTML is answered with how to export as JSON.
"""
from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from doppel.errors import InputError
from doppel.telegram.desktop import BOM, NotDesktopLayout, RawBatch, iter_desktop_export, layout_indent
from doppel.telegram.jsonl import iter_fetch_file
from doppel.telegram.messages import Chat, Tally
from doppel.telegram.sources import EXPORT_AS_JSON, Source, looks_like_html
from doppel.telegram.stream import iter_stream

HEAD_BYTES = 1 << 16
Batch = RawBatch | list | pl.DataFrame


def _head(source: Source) -> bytes:
    try:
        with source.open() as f:
            return f.read(HEAD_BYTES).removeprefix(BOM)
    except IsADirectoryError:
        raise InputError(source.name, "is a folder") from None
    except PermissionError:
        raise InputError(source.name, "permission denied") from None


def iter_source(source: Source, tally: Tally) -> Iterator[tuple[Chat, Batch]]:
    """(chat, batch) for every chat of one export file: raw Desktop-layout batches, message dicts, or (for a
    chat whose keys come after its messages) finished columns."""
    if source.kind == "fetch":
        with source.open() as f:
            yield from iter_fetch_file(f, source.name, tally)
        return
    head = _head(source)
    start = head.lstrip()[:1]
    if not start:
        raise InputError(source.name, "empty file (not a Telegram export)")
    if looks_like_html(head):
        raise InputError(source.name, f"not a Telegram export (HTML, not JSON: if it is Telegram's HTML export, {EXPORT_AS_JSON})")
    if start != b"{":
        raise InputError(source.name, "not a Telegram export (not a JSON object)")
    skip = 0
    try:
        with source.open() as f:
            if unit := layout_indent(head):
                yield from iter_desktop_export(f, source.name, tally, unit)
            else:
                from doppel.telegram.compact import iter_compact_export  # numpy: only for these layouts

                yield from iter_compact_export(f, source.name, tally)
        return
    except NotDesktopLayout as err:
        skip = err.chats_done
    with source.open() as f:
        yield from iter_stream(f, source.name, tally, skip)
