"""Training sees the memory block: each dataset row gets the memories it would have had at that moment.

For a row (an owner turn with its context), the query is the other person's turn just before it (as at reply
time, doppel.memory.recall) and the memories come from the **train split only** (sessions whose rows are in
train.json), from the row's chat (`memory.scope: chat`) or every chat (`all`), and only from owner turns that
started **strictly before** the row's turn: no row ever sees its future, and no val message reaches a training row.
Val rows get their block the same way (from the train split, before the row), so evaluate scores the twin as it
is trained. The block (doppel.memory.block) goes right after the system line; build reserves `memory.tokens` + 1
(its newline) of `build.context_tokens` for it on every row, so a row's instruction stays within the budget.
Pure core: frames in, frames out.
"""
from __future__ import annotations

import polars as pl

from doppel.config import MemoryConfig
from doppel.memory import block, index
from doppel.memory.store import Memory
from doppel.segment import KEYS

# what build's rows carry for this module (dropped before the rows are written)
ROW_TS, ROW_QUERY = "ts_start", "query"


def reserve(cfg: MemoryConfig | None) -> int:
    """Tokens of build.context_tokens kept for the block on every row: its budget and its newline."""
    return cfg.tokens + 1 if cfg is not None and cfg.enabled else 0


def train_memories(turns: pl.DataFrame, train: pl.DataFrame, cfg: MemoryConfig) -> pl.DataFrame:
    """The memory table (doppel.memory.index) of the train split's sessions only (a memory's `answered` comes
    from its own session, so indexing only those sessions' turns gives the same rows)."""
    table, _ = index.run(cfg, turns.join(train.select(KEYS).unique(), on=KEYS, how="semi"))
    return table


def indexes(memories: pl.DataFrame, cfg: MemoryConfig) -> dict:
    """The searchable memories, built once: one index per chat (`scope: chat`) or one of all (key None)."""
    if cfg.scope != "chat":
        return {None: Memory(memories)} if memories.height else {}
    return {chat: Memory(part) for (chat,), part in memories.partition_by("chat_id", as_dict=True).items()}


def blocks(searchable: dict, rows: pl.DataFrame, cfg: MemoryConfig) -> list[str]:
    """The block of each row (rows with chat_id, ts_start, query), in the rows' order ("" for none)."""
    out = [""] * rows.height
    if not cfg.enabled or not rows.height or not searchable:
        return out
    indexed = rows.with_row_index("_i")
    groups = indexed.partition_by("chat_id", as_dict=True) if cfg.scope == "chat" else {(None,): indexed}
    for (chat,), part in groups.items():
        memory = searchable.get(chat)
        if memory is None:
            continue
        for i, chat_id, ts, query in part.select("_i", "chat_id", ROW_TS, ROW_QUERY).iter_rows():
            if query:
                hits = memory.search(query, chat_id=chat_id, k=cfg.k, scope=cfg.scope, as_of=ts)
                out[i] = block.render(hits, cfg.tokens)
    return out


def with_memory(turns: pl.DataFrame, train: pl.DataFrame, val: pl.DataFrame, cfg: MemoryConfig | None,
                system: str) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """(train, val) with a `memory` column (the block, "" for none) and the block inside each instruction;
    the report counts rows with a block and memories in the train split."""
    if cfg is None or not cfg.enabled:
        empty = pl.lit("", dtype=pl.String).alias("memory")
        return train.with_columns(empty), val.with_columns(empty), {"train_memories": 0, "rows_with_memory": 0}
    memories = train_memories(turns, train, cfg)
    searchable = indexes(memories, cfg)
    done = []
    for rows in (train, val):
        texts = pl.Series("memory", blocks(searchable, rows, cfg), dtype=pl.String)
        instructions = [block.insert(ins, mem, system) for ins, mem in zip(rows["instruction"], texts)]
        done.append(rows.with_columns(texts, instruction=pl.Series(instructions, dtype=pl.String)))
    with_block = sum(int((d["memory"] != "").sum()) for d in done)
    return done[0], done[1], {"train_memories": memories.height, "rows_with_memory": with_block}
