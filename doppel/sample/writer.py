"""The export on disk: the exporter's exact layout (one space per indent level, its `reactions` quirk), written
streamed (fine for 1M messages); `generate` holds it all in memory instead."""
from __future__ import annotations

import time
from pathlib import Path
from typing import BinaryIO

import orjson

from doppel.sample import facts as planted_facts
from doppel.sample.header import chat_head, header
from doppel.sample.people import Chat
from doppel.sample.private import DECOY
from doppel.sample.renderer import Renderer
from doppel.sample.skeleton import MIN_MESSAGES, plan
from doppel.sample.words import ABOUT


def _check(n_messages: int) -> None:
    if int(n_messages) < MIN_MESSAGES:
        raise ValueError(f"n_messages must be at least {MIN_MESSAGES} (got {n_messages})")


def _messages(chat: Chat, no: int, seed: int, planted: list[dict], facts: bool, language: str = "ru"):
    """A chat's rendered messages; with `facts`, a personal chat's get the planted facts (doppel.sample.facts)."""
    messages = Renderer(chat, no, seed, planted, language).messages()
    if facts and chat.kind == "dialog":
        return planted_facts.plant(messages, list(chat.ts), seed, chat.key)
    return messages


def generate(n_messages: int, seed: int, facts: bool = False, language: str = "ru") -> tuple[dict, list[dict]]:
    """The export as a dict (the exact content of result.json) and the planted rows (private data + decoys).
    Holds everything in memory: for large sizes use write_sample, which streams."""
    _check(n_messages)
    chats = plan(int(n_messages), int(seed), language)
    planted: list[dict] = []
    export = header(seed)
    lists: dict[bool, list] = {False: [], True: []}
    for no, chat in enumerate(chats, 1):
        c = chat_head(chat)
        c["messages"] = list(_messages(chat, no, seed, planted, facts, language))
        lists[chat.left].append(c)
    export["chats"] = {"about": ABOUT["chats"], "list": lists[False]}
    export["left_chats"] = {"about": ABOUT["left_chats"], "list": lists[True]}
    return export, planted


_INDENT2 = orjson.OPT_INDENT_2


def _reindent(buf: bytes, extra: int, depth: int = 12) -> bytes:
    """orjson's two-space indentation -> the exporter's one space per level, shifted by `extra` spaces.
    Raw newlines only ever occur between tokens (strings escape theirs), so this is exact."""
    for k in range(depth, 0, -1):
        buf = buf.replace(b"\n" + b"  " * k, b"\n" + b"\t" * k)
    if extra:
        buf = buf.replace(b"\n", b"\n" + b" " * extra)
    return buf.replace(b"\t", b" ")


def _quirk_reactions(buf: bytes, key_indent: int = 6) -> bytes:
    """The exporter indents a message's `reactions` array one level deeper than the rest (see the real
    samples): every line after `"reactions": [` up to its `]` carries one more space. `key_indent`: where a
    message's keys sit (6 in a full-account export, 3 in a single-chat one)."""
    start = b"\n" + b" " * key_indent + b'"reactions": ['
    if start not in buf:
        return buf
    end_of_message = b"\n" + b" " * (key_indent - 1) + b"}"
    pieces = buf.split(start)
    out = [pieces[0]]
    for piece in pieces[1:]:
        end = piece.index(end_of_message)
        out.append(start + piece[:end].replace(b"\n", b"\n ") + piece[end:])
    return b"".join(out)


def dumps_like_exporter(export: dict) -> bytes:
    """A whole export (full-account or single-chat) laid out byte for byte as Telegram Desktop writes it.
    (It reproduces the real exports in ../shared/samples exactly.)"""
    text = _reindent(orjson.dumps(export, option=_INDENT2), 0)
    return _quirk_reactions(text, 6 if "chats" in export else 3)


def _dump_messages(msgs: list[dict]) -> bytes:
    raw = orjson.dumps(msgs, option=_INDENT2)
    return _quirk_reactions(_reindent(raw[1:-2], 4))  # strip "[" and "\n]"; messages sit 5 spaces deep


def _write_chat(f: BinaryIO, chat: Chat, no: int, seed: int, planted: list[dict], chunk: int,
                facts: bool = False, language: str = "ru") -> int:
    """One chat of the `list`, its messages rendered and written `chunk` at a time; returns how many."""
    for k, v in chat_head(chat).items():
        f.write(b'\n    "' + k.encode() + b'": ' + orjson.dumps(v) + b",")
    f.write(b'\n    "messages": [')
    batch: list[dict] = []
    first = True
    n_written = 0
    for m in _messages(chat, no, seed, planted, facts, language):
        batch.append(m)
        if len(batch) == chunk:
            f.write(_dump_messages(batch) if first else b"," + _dump_messages(batch))
            first = False
            n_written += len(batch)
            batch = []
    if batch:
        f.write(_dump_messages(batch) if first else b"," + _dump_messages(batch))
        n_written += len(batch)
    f.write(b"\n    ]\n   }")
    return n_written


def _write_export(f: BinaryIO, chats: list[Chat], seed: int, planted: list[dict], chunk: int,
                  facts: bool = False, language: str = "ru") -> int:
    head = _reindent(orjson.dumps(header(seed), option=_INDENT2), 0)
    f.write(head[:-2])  # drop the closing "\n}"
    n_written = 0
    for left in (False, True):
        key, about = ("left_chats", ABOUT["left_chats"]) if left else ("chats", ABOUT["chats"])
        f.write(b',\n "' + key.encode() + b'": {\n  "about": ' + orjson.dumps(about) + b',\n  "list": [')
        first_chat = True
        for no, chat in enumerate(chats, 1):
            if chat.left != left:
                continue
            f.write(b"\n   {" if first_chat else b",\n   {")
            first_chat = False
            n_written += _write_chat(f, chat, no, seed, planted, chunk, facts, language)
        f.write(b"\n  ]\n }")
    f.write(b"\n}")
    return n_written


def write(out_dir: str | Path, n_messages: int, seed: int, planted_path: str | Path | None,
          chunk: int = 4000, facts: bool = False, language: str = "ru") -> tuple[Path, dict]:
    """out_dir/result.json (streamed, replaced whole at the end), the planted rows if asked; and counts."""
    _check(n_messages)
    n_messages, seed = int(n_messages), int(seed)
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "result.json"
    tmp = path.with_name(path.name + ".tmp")
    chats = plan(n_messages, seed, language)
    planted: list[dict] = []
    with open(tmp, "wb", buffering=1 << 20) as f:
        n_written = _write_export(f, chats, seed, planted, chunk, facts, language)
    tmp.replace(path)
    if planted_path is not None:
        planted_path = Path(planted_path)
        planted_path.parent.mkdir(parents=True, exist_ok=True)
        with open(planted_path, "wb") as f:
            f.write(b"".join(orjson.dumps(r) + b"\n" for r in planted))
    assert n_written == n_messages, (n_written, n_messages)
    stats = {
        "messages": n_written,
        "chats": len(chats),
        "planted": sum(r["type"] != DECOY for r in planted),
        "decoys": sum(r["type"] == DECOY for r in planted),
        "bytes": path.stat().st_size,
        "seconds": time.perf_counter() - t0,
    }
    return path, stats


def write_sample(out_dir: str | Path, n_messages: int, seed: int, planted_path: str | Path | None = None,
                 facts: bool = False, language: str = "ru") -> Path:
    """Write out_dir/result.json (streamed) and, if asked, the planted rows as JSON Lines; returns the path."""
    return write(out_dir, n_messages, seed, planted_path, facts=facts, language=language)[0]
