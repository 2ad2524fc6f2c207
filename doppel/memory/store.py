"""Retrieval over the memory table: BM25 on the owner's past messages and the messages they answered.

    memory = Memory.load(Path("data/interim/memory.parquet"))
    hits = memory.search("what's your dog called?", chat_id=42, k=4, scope="chat", as_of=now)

Scope `chat` (the default in params.yaml) returns only memories from that chat: a fact told to one friend never
surfaces in another chat. Scope `all` searches every chat. `as_of` keeps only messages strictly before it (a
reply never sees its own future). A memory with no word in common with the query (score 0) is never returned.

The index is bm25s' BM25 (Lucene's IDF, k1 1.5, b 0.75, the same tokens: lowercased words of 2+ word characters),
built column-wise (Polars tokenizes, numpy counts and scores) rather than by bm25s' per-document Python loop:
the same scores (tests/memory/test_store.py checks them against bm25s) at several times its speed.
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
# A token: 2+ word characters, bm25s' default pattern `\b\w\w+\b` (a greedy run of word characters is bounded
# by word boundaries already, and Polars' regex is much faster without them); lowercased after tokenizing.
TOKEN = r"\w\w+"
K1, B = 1.5, 0.75  # BM25's term-frequency saturation and length normalization (bm25s' and Lucene's defaults)
DOC_BITS = 32  # a posting's sort key: term id above, document row below


def tokens(texts: pl.Series) -> pl.Series:
    """Each text's tokens, as written (a list per text; lowercasing is done once per distinct token)."""
    return texts.str.replace_all(PLACEHOLDER, " ").str.extract_all(TOKEN)


class Bm25:
    """BM25 postings of documents: per term (CSC layout) the rows holding it and their score for it."""

    def __init__(self, docs: pl.Series):
        self.n_docs = len(docs)
        listed = tokens(docs)
        lengths = listed.list.len().fill_null(0).to_numpy()
        flat = pl.DataFrame({"tok": listed}).with_row_index("doc").explode("tok").drop_nulls("tok")
        words = flat["tok"].cast(pl.Categorical)
        to_term, self.vocab = self._term_ids(words)
        # one sort key per token, term id above the document row; sorted, its runs are the (term, doc) pairs
        # and their term frequencies (Polars sorts and splits in parallel, without numpy temporaries)
        key = pl.DataFrame({"term": to_term.gather(words.to_physical()), "doc": flat["doc"]}).select(
            key=(pl.col("term") * (1 << DOC_BITS) + pl.col("doc").cast(pl.UInt64)).sort())
        runs = key["key"].rle().struct.unnest().select(
            term=(pl.col("value") // (1 << DOC_BITS)).cast(pl.Int64),
            row=(pl.col("value") % (1 << DOC_BITS)).cast(pl.Int32), tf=pl.col("len").cast(pl.Float64))
        term, self.rows, tf = (runs[c].to_numpy() for c in ("term", "row", "tf"))
        df = np.bincount(term, minlength=len(self.vocab))
        self.indptr = np.concatenate(([0], np.cumsum(df)))
        idf = np.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))
        norm = K1 * ((1 - B) + B * lengths[self.rows] / max(lengths.mean(), 1e-9))
        self.data = (idf[term] * tf / (norm + tf)).astype(np.float32)

    @staticmethod
    def _term_ids(words: pl.Series) -> tuple[pl.Series, dict[str, int]]:
        """Term id by the tokens' categorical code (its lowercased form's rank in the sorted vocabulary), and the
        vocabulary."""
        distinct = words.unique()
        lower = distinct.cast(pl.String).str.to_lowercase()
        vocab = lower.unique().sort()
        ids = dict(zip(vocab.to_list(), range(len(vocab))))
        to_term = np.zeros(int(distinct.to_physical().max() or 0) + 1, dtype=np.uint64)
        to_term[distinct.to_physical().to_numpy()] = np.array([ids[w] for w in lower.to_list()], dtype=np.uint64)
        return pl.Series(to_term), ids

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every document for the query (0 where no word is shared); a repeated word counts
        once per time it is repeated, as in bm25s."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        words = tokens(pl.Series([query], dtype=pl.String))[0].str.to_lowercase().to_list()
        for word in words:
            if (t := self.vocab.get(word)) is not None:
                lo, hi = self.indptr[t], self.indptr[t + 1]
                out[self.rows[lo:hi]] += self.data[lo:hi]
        return out


class Memory:
    """The memory table and its BM25 index (built in memory at load: `doppel bench memory` times it)."""

    def __init__(self, table: pl.DataFrame):
        missing = [c for c in COLUMNS if c not in table.columns]
        if missing:
            raise InputError("memory", f"not a memory table: columns {missing} missing (rerun the memory stage)")
        self.table = table.select(COLUMNS)
        self.chat_ids = self.table["chat_id"].to_numpy()
        self.ts = self.table["ts"].dt.epoch("us").to_numpy()
        self.index = Bm25(self.table.select(pl.concat_str("answered", "text", separator="\n")).to_series()) \
            if self.table.height else None

    @classmethod
    def load(cls, path: Path) -> "Memory":
        """The memory stage's table (io.read_table's checks: a missing, foreign or unreadable file is one line)."""
        return cls(read_table(path, list(COLUMNS), hint=LOAD_HINT))

    def __len__(self) -> int:
        return self.table.height

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every memory for the query (0 where no word is shared)."""
        return np.zeros(0) if self.index is None else self.index.scores(query)

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
        if candidates.size > k:  # only those scoring at least the k-th best (ties included) need ordering
            best = scores[candidates]
            candidates = candidates[best >= np.partition(best, candidates.size - k)[candidates.size - k]]
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
