"""The data stages run one after the other as a user runs them (`doppel NAME`, from the project root), outside
the slow pipeline test: each exits 0, prints its summary on stderr and nothing on stdout, and each report's
counts agree with the next stage's input and with the files written."""
from __future__ import annotations

import re

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


def test_a_one_message_exports_hints_lead_to_a_dataset(tmp_path):
    """A user's first try: an export of one message, the owner's. Each refusal names the real cause (once: build's
    "the owner flag looks swapped or unset"); following its hint, more history each time, ends in a dataset."""
    from conftest import chat_export, msg, write_export

    owner, friend, day = 7, 42, 86_400   # a personal chat's id is the friend's: the owner is the other sender
    history = [msg(2, owner, "hey, how are you?", 10 * day)]
    steps = [
        ("segment", "too little history: all 1 kept message(s) are the owner's, so no reply has "
                    "anything to answer; export more history"),
        ("build", "the val split is empty: 1 training row(s) in 1 session(s), and val takes whole sessions "
                  "(the latest), so it needs at least 2; export more history"),
        (None, None)]
    more = [[msg(1, friend, "are you up?", 10 * day - 60)],                                  # what it answered
            [msg(3, friend, "dinner on friday?", 12 * day), msg(4, owner, "sure, 8pm", 12 * day + 120)]]
    t = tmp_path
    for n, (refused_at, said) in enumerate(steps):
        write_export(t / "export" / "result.json", chat_export(sorted(history, key=lambda m: m["id"]), friend))
        chain = [("ingest", "--input", t / "export", "--output", t / "m.parquet", "--report", t / "i.json"),
                 ("scrub", "--input", t / "m.parquet", "--output", t / "c.parquet", "--report", t / "s.json"),
                 ("segment", "--input", t / "c.parquet", "--output", t / "t.parquet", "--report", t / "g.json",
                  "--plots", t / "plots"),
                 ("build", "--input", t / "t.parquet", "--output", t / "processed", "--report", t / "d.json")]
        for name, *args in chain:
            proc = doppel(name, *args, cwd=ROOT)
            if name == refused_at:
                assert proc.returncode == 2 and re.match(rf"doppel {name}: error: \S+: {re.escape(said)}", proc.stderr), \
                    proc.stderr
                assert "swapped" not in proc.stderr and proc.stderr.count("\n") == 1
                break
            assert proc.returncode == 0, (n, name, proc.stderr)
        if refused_at is None:
            assert orjson.loads((t / "d.json").read_bytes())["rows"] == {"train": 1, "val": 1}
        else:
            history += more[n]
