"""`doppel fetch` output (chat_*.jsonl): a header line naming the chat, then one Desktop-shaped message
per line."""
from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import orjson

from doppel.errors import InputError
from doppel.telegram.desktop import chat_from_obj, loads
from doppel.telegram.messages import Chat, Tally

BATCH_MESSAGES = 50_000


def iter_fetch_file(f: BinaryIO, name: str, tally: Tally) -> Iterator[tuple[Chat, list[dict]]]:
    """`doppel fetch` output, read from `f`: a header line, then one Desktop-shaped message per line."""
    first = f.readline()
    try:
        header = orjson.loads(first)
        chat = chat_from_obj(name, header["chat"], header.get("owner_id"))
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise InputError(name, "not a doppel fetch file (line 1 is not a chat header)") from None
    batch: list[dict] = []
    for line in f:
        if not line.strip():
            continue
        try:
            obj = loads(line, tally)
        except orjson.JSONDecodeError:
            tally.malformed += 1  # e.g. a partial last line of a killed fetch
            continue
        batch.append(obj)
        if len(batch) >= BATCH_MESSAGES:
            yield chat, batch
            batch = []
    yield chat, batch
