"""Retrieval over the memory table: BM25 (bm25s) on the owner's past messages and the messages they answered.

    memory = Memory.load(Path("data/interim/memory.parquet"))
    hits = memory.search("what's your dog called?", chat_id=42, k=4, scope="chat", as_of=now)

Scope `chat` (the default in params.yaml) returns only memories from that chat: a fact told to one friend never
surfaces in another chat. Scope `all` searches every chat. `as_of` keeps only messages strictly before it (a
reply never sees its own future). A memory with no word in common with the query (score 0) is never returned.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from doppel.errors import InputError
from doppel.io import read_table
from doppel.memory.index import COLUMNS

SCOPES = ("chat", "all")
LOAD_HINT = "run `dvc checkout` first (restores it from the DVC cache), else `dvc repro memory`"
# Placeholders (<NAME>, <PHONE>, ...) are not words: "name" in a query must not match every redacted name.
PLACEHOLDER = r"<[A-Z_]+>"


def _tokenize(texts: list[str], return_ids: bool):
    import bm25s  # imported where used: `doppel chat` without memory never loads it

    clean = [t.lower() for t in pl.Series(texts, dtype=pl.String).str.replace_all(PLACEHOLDER, " ").to_list()]
    return bm25s.tokenize(clean, stopwords=None, return_ids=return_ids, show_progress=False)


class Memory:
    """The memory table and its BM25 index (built in memory at load: ~1 s per million messages)."""

    def __init__(self, table: pl.DataFrame):
        missing = [c for c in COLUMNS if c not in table.columns]
        if missing:
            raise InputError("memory", f"not a memory table: columns {missing} missing (rerun the memory stage)")
        self.table = table.select(COLUMNS)
        self.chat_ids = self.table["chat_id"].to_numpy()
        self.ts = self.table["ts"].dt.epoch("us").to_numpy()
        self.retriever = None
        if self.table.height:
            import bm25s

            docs = (self.table["answered"] + "\n" + self.table["text"]).to_list()
            self.retriever = bm25s.BM25()
            self.retriever.index(_tokenize(docs, return_ids=True), show_progress=False)

    @classmethod
    def load(cls, path: Path) -> "Memory":
        """The memory stage's table (io.read_table's checks: a missing, foreign or unreadable file is one line)."""
        return cls(read_table(path, list(COLUMNS), hint=LOAD_HINT))

    def __len__(self) -> int:
        return self.table.height

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every memory for the query (0 where no word is shared)."""
        if self.retriever is None:
            return np.zeros(0)
        words = _tokenize([query], return_ids=False)[0]
        known = [w for w in words if w in self.retriever.vocab_dict]
        if not known:
            return np.zeros(len(self), dtype=np.float32)
        return np.asarray(self.retriever.get_scores(known), dtype=np.float32)

    def search(self, query: str, *, chat_id: int | None, k: int, scope: str = "chat",
               as_of: datetime | None = None) -> list[dict]:
        """The k best memories for the query, best first (dicts: chat_id, ts, answered, text, score).
        Scope `chat` with no chat_id finds nothing: without a chat there is no chat to remember."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
        scores = self.scores(query)
        if not len(scores) or k <= 0:
            return []
        allowed = scores > 0
        if scope == "chat":
            allowed &= self.chat_ids == chat_id if chat_id is not None else False
        if as_of is not None:
            allowed &= self.ts < _epoch_us(as_of)
        candidates = np.flatnonzero(allowed)
        if not candidates.size:
            return []
        # best first; ties: the more recent memory first, then the table's order (deterministic)
        order = np.lexsort((candidates, -self.ts[candidates], -scores[candidates]))[:k]
        picked = candidates[order]
        rows = self.table[picked.tolist()].to_dicts()
        for row, i in zip(rows, picked):
            row["score"] = float(scores[i])
        return rows


def _epoch_us(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (the memory's times are UTC)")
    return int(pl.Series([when]).dt.convert_time_zone("UTC").dt.epoch("us")[0])
