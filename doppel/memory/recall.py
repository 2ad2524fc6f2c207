"""At reply time: the memory block for the conversation so far (what `doppel chat` puts in the prompt).

The query is the other person's latest message; the memories come from the chat being answered (`memory.scope:
chat`) or from every chat (`all`), only from before now, at most `memory.k`, rendered within `memory.tokens`.
`last` keeps what was retrieved for the latest reply (`doppel chat --show-memory` prints it).
"""
from __future__ import annotations

import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TextIO

from doppel.config import MemoryConfig
from doppel.errors import InputError
from doppel.memory import block
from doppel.memory.store import Memory


TABLE = Path("data/interim/memory.parquet")  # the memory stage's output (dvc.yaml): what chat, serve and bot read

# serve's request `user` names the chat: its id as the export writes it (decimal, an optional leading "-", no
# leading zero, nothing around it). Anything else (a name, "042", " 42", "42.0") is no chat: no memory under scope chat.
CHAT_ID = re.compile(r"-?[1-9][0-9]{0,18}")


def chat_of(user: object) -> int | None:
    """The chat id a serve request names in OpenAI's `user` field, or None."""
    return int(user) if isinstance(user, str) and CHAT_ID.fullmatch(user) else None


def open_memory(cfg: MemoryConfig, table: Path, context_tokens: int, params: str,
                stderr: TextIO | None = None, fix: str = "run `dvc repro memory`") -> Memory | None:
    """The memory for chat, serve and bot (None with a note on stderr when memory is off or the table is missing;
    `fix` is what the note tells the user to do)."""
    if not cfg.enabled:
        return None
    if not Path(table).is_file():
        print(f"(memory: no table at {table}: {fix}; replying without memory)", file=stderr or sys.stderr)
        return None
    check_budget(cfg, context_tokens, params)
    return Memory.load(table)


def recall_for(memory: Memory | None, cfg: MemoryConfig, chat_id: int | None) -> Recall | None:
    """The Recall for one conversation, or None when there is no memory."""
    return Recall(memory, cfg, chat_id) if memory is not None else None


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def check_budget(cfg: MemoryConfig, context_tokens: int, where: str = "params.yaml") -> None:
    """The block is taken from the context budget: it must leave room for the conversation."""
    if cfg.enabled and cfg.tokens >= context_tokens:
        raise InputError(where, f"memory.tokens ({cfg.tokens}) leaves no room for the conversation in a context "
                                f"of {context_tokens} tokens: lower it")


class Recall:
    """Callable on the conversation's turns [(is_owner, text), ...] -> the memory block ("" for none)."""

    def __init__(self, memory: Memory, cfg: MemoryConfig, chat_id: int | None,
                 clock: Callable[[], datetime] = utc_now):
        self.memory, self.cfg, self.chat_id, self.clock = memory, cfg, chat_id, clock
        self.last: list[dict] = []

    def __call__(self, turns: list[tuple[bool, str]]) -> str:
        query = next((text for owner, text in reversed(turns) if not owner), "")
        hits = self.memory.search(query, chat_id=self.chat_id, k=self.cfg.k, scope=self.cfg.scope,
                                  as_of=self.clock()) if self.cfg.enabled and query else []
        text = block.render(hits, self.cfg.tokens)
        self.last = hits[:text.count("\n")]  # the memories that made it into the block (one line each)
        return text


def describe(hits: list[dict]) -> str:
    """What `--show-memory` prints for a reply: one line per memory used, with its chat, date and score."""
    if not hits:
        return "(memory: nothing retrieved)"
    lines = [f"(memory: {len(hits)} retrieved)"]
    for h in hits:
        lines.append(f"  [chat {h['chat_id']} {h['ts']:%Y-%m-%d} score {h['score']:.2f}] "
                     + block.item(h["text"], h["answered"])[len(block.ITEM):])
    return "\n".join(lines)
