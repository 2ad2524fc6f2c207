"""The data stages run one after the other as a user runs them (`doppel NAME`, from the project root), outside
the slow pipeline test: each exits 0, prints its summary on stderr and nothing on stdout, and each report's
counts agree with the next stage's input and with the files written."""
from __future__ import annotations

import orjson
import polars as pl

from conftest import ROOT, doppel


def run(name: str, *args) -> dict:
    proc = doppel(name, *args, cwd=ROOT, check=True)
    assert proc.stdout == "" and proc.stderr.startswith(f"{name}: "), proc.stderr
    return proc


def test_ingest_scrub_segment_build_chain(tmp_path, bundled_sample):
    t = tmp_path
    run("ingest", "--input", bundled_sample, "--output", t / "m.parquet", "--report", t / "ingest.json")
    run("scrub", "--input", t / "m.parquet", "--output", t / "c.parquet", "--report", t / "scrub.json")
    run("segment", "--input", t / "c.parquet", "--output", t / "turns.parquet", "--report", t / "segment.json",
        "--plots", t / "plots")  # not the project's own plots/activity
    run("build", "--input", t / "turns.parquet", "--output", t / "processed", "--report", t / "dataset.json")
    ingest, scrub, segment, dataset = (orjson.loads((t / f"{n}.json").read_bytes())
                                       for n in ("ingest", "scrub", "segment", "dataset"))
    messages = pl.read_parquet(t / "m.parquet")
    assert messages.height == ingest["messages_read"]
    assert messages["drop_reason"].is_null().sum() == ingest["kept"] == scrub["rows_out"]
    assert scrub["rows_in"] == ingest["messages_read"]
    assert pl.read_parquet(t / "c.parquet").height == scrub["rows_out"] == segment["messages_in"]
    turns = pl.read_parquet(t / "turns.parquet")
    assert turns.height == segment["turns"] and int(turns["n_messages"].sum()) == segment["messages_out"]
    assert int(turns["is_owner"].sum()) == segment["owner_turns"] == dataset["owner_turns"]
    train = orjson.loads((t / "processed" / "train.json").read_bytes())
    val = orjson.loads((t / "processed" / "val.json").read_bytes())
    assert (len(train), len(val)) == (dataset["rows"]["train"], dataset["rows"]["val"])
    assert len(train) > 0 and len(val) > 0
    assert sum(dataset["dropped"].values()) + len(train) + len(val) == dataset["owner_turns"]
    assert {r["session"] for r in train}.isdisjoint({r["session"] for r in val})
