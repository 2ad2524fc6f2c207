"""`doppel bench memory` prints the index's build speed and retrieval latency beside the goals and bm25s."""
from __future__ import annotations

import re

import polars as pl

from conftest import ROOT, doppel
from doppel.bench.memory import COPY_SHIFT, memory_table


def test_bench_memory_prints_figures_beside_goals(tmp_path):
    proc = doppel("bench", "memory", "--messages", "3000", "--workdir", tmp_path, "--repeat", "1", "--queries", "5",
                  "--reference-rows", "300", cwd=ROOT, check=True)
    out = proc.stdout
    assert re.search(r"^bench memory build: 3,000 messages in [\d.]+s, [\d,]+ messages/s \(goal >= 200,000: "
                     r"[\d.]+x the goal; median of 1\)$", out, re.M), out
    assert re.search(r"^bench memory reference: bm25s tokenize \+ index of 300 of them [\d,]+ messages/s; doppel's "
                     r"index builds [\d.]+x as fast$", out, re.M), out
    for scope in ("chat", "all"):
        assert re.search(rf"^bench memory retrieval scope {scope}: p50 [\d.]+ ms, p95 [\d.]+ ms, max [\d.]+ ms over 5 "
                         r"replies, k 4 \(goal <= 20 ms: p95 is [\d.]+x the goal\)$", out, re.M), scope


def test_memory_table_repeats_the_texts_a_year_on_to_n_rows(tmp_path):
    ts = pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 4), "1d", eager=True, time_zone="UTC")
    messages = pl.DataFrame({"chat_id": [1, 1, 2, 1], "ts": ts, "message_id": [1, 2, 3, 4], "text": ["a", "b", "c", ""]})
    path = tmp_path / "m.parquet"
    messages.write_parquet(path)
    table = memory_table(path, 7)
    assert table["text"].to_list() == ["a", "b", "c", "a", "b", "c", "a"]
    assert table["answered"].to_list() == ["", "a", "", "", "a", "", ""]
    assert table["turn_index"].to_list() == list(range(7))
    assert table["ts"][3] - table["ts"][0] == COPY_SHIFT
