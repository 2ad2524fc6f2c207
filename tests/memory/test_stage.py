"""The memory stage as a user runs it (`doppel memory`): after segment, from redacted turns only."""
from __future__ import annotations

import orjson
import polars as pl

from conftest import ROOT, doppel
from doppel.memory.index import COLUMNS
from doppel.memory.store import Memory
from doppel.redact.patterns import PII_PATTERN
from doppel.sample.facts import FACTS


def test_stage_builds_the_table_from_the_redacted_chain(tmp_path):
    t = tmp_path
    doppel("sample", "-o", t / "s", "--messages", 20000, "--seed", 7, "--facts", cwd=ROOT, check=True)
    for name, args in [("ingest", ["--input", t / "s", "--output", t / "m.parquet"]),
                       ("scrub", ["--input", t / "m.parquet", "--output", t / "c.parquet"]),
                       ("segment", ["--input", t / "c.parquet", "--output", t / "turns.parquet", "--plots", t / "p"]),
                       ("memory", ["--input", t / "turns.parquet", "--output", t / "memory.parquet"])]:
        proc = doppel(name, *args, "--report", t / f"{name}.json", cwd=ROOT, check=True)
        assert proc.stdout == "" and proc.stderr.startswith(f"{name}: "), proc.stderr
    report = orjson.loads((t / "memory.json").read_bytes())
    turns = pl.read_parquet(t / "turns.parquet")
    memory = pl.read_parquet(t / "memory.parquet")
    assert memory.columns == COLUMNS
    assert report["turns_in"] == turns.height
    assert report["memories_out"] == memory.height > 0
    assert report["memories_out"] + sum(report["dropped"].values()) == turns.height
    assert report["dropped"]["not_owner"] == int((~turns["is_owner"]).sum())
    # only the owner's redacted words: every memory is an owner turn, none holds what scrub redacts
    owner_texts = set(turns.filter(pl.col("is_owner"))["text"].to_list())
    assert set(memory["text"].to_list()) <= owner_texts
    assert not (memory["text"] + "\n" + memory["answered"]).str.contains(PII_PATTERN).any()
    assert len(Memory.load(t / "memory.parquet")) == memory.height
    # the planted facts: asked late in a chat, found among the k=4 memories of that chat from before the question
    # (measured 74 of 100 when written; lexical retrieval misses a statement sharing no word with the question)
    store = Memory.load(t / "memory.parquet")
    questions = {f.question: f for f in FACTS}
    asked = turns.filter(~pl.col("is_owner")).with_columns(q=pl.col("text").str.split("\n").list.last()) \
        .filter(pl.col("q").is_in(list(questions)))
    found = sum(any(questions[r["q"]].value in h["text"] for h in
                    store.search(r["q"], chat_id=r["chat_id"], k=4, scope="chat", as_of=r["ts_start"]))
                for r in asked.iter_rows(named=True))
    assert asked.height >= 90 and found / asked.height >= 0.7, (found, asked.height)


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "turns.parquet").write_text("not parquet")
    proc = doppel("memory", "--input", tmp_path / "turns.parquet", "--output", tmp_path / "m.parquet",
                  "--report", tmp_path / "r.json", cwd=ROOT)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "turns.parquet" in proc.stderr, proc.stderr
    assert not (tmp_path / "m.parquet").exists()
