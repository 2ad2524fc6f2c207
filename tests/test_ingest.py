"""ingest: real exports, the bundled sample, malformed inputs, accounting, determinism, streaming."""
from __future__ import annotations

import json
from pathlib import Path

import orjson
import polars as pl
import pytest

from conftest import ROOT, SHARED_SAMPLES, cfg, chat_export, doppel, msg, write_export
from doppel import ingest
from doppel.schemas import Message
from doppel.telegram import desktop

SHARED = sorted(SHARED_SAMPLES.glob("*.json")) if SHARED_SAMPLES.exists() else []


def assert_accounting(report: dict) -> None:
    assert report["kept"] + sum(report["dropped"].values()) == report["messages_read"]
    assert sum(c["read"] for c in report["chats"].values()) <= report["messages_read"]


@pytest.mark.skipif(not SHARED, reason="../shared/samples not present")
@pytest.mark.parametrize("path", SHARED, ids=lambda p: p.stem)
def test_real_exports_ingest(path: Path):
    messages, report = ingest.read_exports([path], cfg("ingest", chat_types=["personal_chat", "private_group",
                                                                             "private_channel"]))
    assert_accounting(report)
    raw = orjson.loads(path.read_bytes())
    assert report["messages_read"] == len(raw["messages"])
    assert messages["ts"].null_count() == 0
    assert messages.filter(pl.col("drop_reason").is_null()).height > 0


@pytest.mark.skipif(not SHARED, reason="../shared/samples not present")
def test_real_personal_chat_details():
    messages, report = ingest.read_exports([SHARED_SAMPLES / "jimmy_personal_chat_2026.json"], cfg("ingest"))
    row = messages.filter(pl.col("message_id") == 771681).row(0, named=True)
    # date 08:33:59 local; date_unixtime 1786102439 is 11:33:59 UTC
    assert str(row["ts"]) == "2026-08-07 11:33:59+00:00"
    assert row["is_owner"] and row["sender_id"] == "user123456789"
    kinds = set(messages["kind"])
    assert {"voice", "video_message", "sticker", "animation", "photo", "location", "contact", "service"} <= kinds
    assert report["dropped"]["forwarded"] == 5
    replies = messages.filter(pl.col("reply_to").is_not_null())
    assert replies.height == 4


@pytest.mark.skipif(not SHARED, reason="../shared/samples not present")
def test_old_numeric_ids_match_new_ids():
    """The same channel exported before and after Telegram Desktop 2.7.2 maps to the same ids."""
    channels = cfg("ingest", chat_types=["private_channel"])
    old, _ = ingest.read_exports([SHARED_SAMPLES / "tg2md_old_ids.json"], channels)
    new, _ = ingest.read_exports([SHARED_SAMPLES / "tg2md_new_ids.json"], channels)
    assert set(old["chat_id"]) == set(new["chat_id"]) == {1292077344}
    assert set(old["sender_id"].drop_nulls()) == {"channel1292077344"}


def test_bundled_sample(bundled_sample):
    messages, report = ingest.read_exports([bundled_sample.parent], cfg("ingest"))
    assert_accounting(report)
    kept = messages.filter(pl.col("drop_reason").is_null())
    assert set(kept["chat_type"]) == {"personal_chat"}
    assert kept["is_owner"].any() and not kept["is_owner"].all()
    assert 777000 not in set(kept["chat_id"])
    for reason in ("chat_type", "service_chat", "service", "forwarded", "media_only"):
        assert report["dropped"].get(reason, 0) > 0, reason
    Message.validate(messages)


def test_accounting_and_owner_full_account(tmp_path):
    export = {
        "about": "x",
        "personal_information": {"user_id": 1, "first_name": "Me"},
        "chats": {"about": "", "list": [
            chat_export([msg(1, 2, "hi", 1000), msg(2, 1, "hey", 1010),
                         msg(3, 1, "", 1020, photo="(File not included.)"),
                         msg(4, 2, "fwd", 1030, forwarded_from="Someone"),
                         {"id": 5, "type": "service", "date_unixtime": "1040", "actor_id": "user1",
                          "action": "pin_message", "text": ""}], chat_id=2),
            chat_export([msg(1, 777000, "code 12345", 900)], chat_id=777000, chat_type="personal_chat"),
            chat_export([msg(9, 1, "note", 950)], chat_id=1, chat_type="saved_messages", name=None),
            chat_export([msg(1, 3, "group", 960), msg(2, 1, "yo", 970)], chat_id=5, chat_type="private_group"),
        ]},
        "left_chats": {"about": "", "list": []},
    }
    path = write_export(tmp_path / "result.json", export)
    messages, report = ingest.read_exports([tmp_path], cfg("ingest"))
    assert_accounting(report)
    assert report["messages_read"] == 9
    assert report["kept"] == 2 and report["kept_owner"] == 1
    assert report["dropped"] == {"chat_type": 3, "forwarded": 1, "media_only": 1, "service": 1,
                                 "service_chat": 1}
    assert report["chats"]["2"] == {"type": "personal_chat", "read": 5, "kept": 2, "kept_owner": 1}
    with_groups, report = ingest.read_exports([path], cfg("ingest", chat_types=["personal_chat", "private_group"]))
    assert report["kept"] == 4


def test_single_chat_owner_is_the_sender_who_is_not_the_peer(tmp_path):
    path = write_export(tmp_path / "result.json", chat_export(
        [msg(1, 42, "hi", 100), msg(2, 7, "hey", 110), msg(3, 7, "sup", 120)], chat_id=42))
    messages, _ = ingest.read_exports([path], cfg("ingest"))
    assert messages.filter(pl.col("is_owner"))["sender_id"].to_list() == ["user7", "user7"]


def test_text_forms_and_entities(tmp_path):
    rich = msg(2, 7, [{"type": "bold", "text": "Hi "}, "call ", {"type": "phone", "text": "+7 912 345-67-89"}], 110)
    rich["text_entities"] = [{"type": "bold", "text": "Hi "}, {"type": "plain", "text": "call "},
                             {"type": "phone", "text": "+7 912 345-67-89"}]
    legacy = msg(3, 7, ["legacy ", {"type": "link", "text": "x.com"}], 120)
    del legacy["text_entities"]
    path = write_export(tmp_path / "result.json", chat_export([msg(1, 42, "hi", 100), rich, legacy]))
    messages, _ = ingest.read_exports([path], cfg("ingest"))
    texts = dict(zip(messages["message_id"], messages["text"]))
    assert texts[2] == "Hi call +7 912 345-67-89" and texts[3] == "legacy x.com"
    hints = messages.filter(pl.col("message_id") == 2)["pii_hints"].to_list()[0]
    assert hints == [{"type": "PHONE", "text": "+7 912 345-67-89"}]


def test_dates_without_unixtime_are_utc(tmp_path):
    m = msg(1, 7, "old", 0)
    del m["date_unixtime"]
    m["date"] = "2019-05-01T10:20:30"
    path = write_export(tmp_path / "result.json", chat_export([m]))
    messages, _ = ingest.read_exports([path], cfg("ingest"))
    assert str(messages["ts"][0]) == "2019-05-01 10:20:30+00:00"


def test_streaming_matches_whole_file_and_small_chunks(tmp_path, bundled_sample, monkeypatch):
    """Batches cut at any chunk size, and the whole-file fallback, give the same table."""
    reference, report = ingest.read_exports([bundled_sample], cfg("ingest"))
    minified = tmp_path / "minified" / "result.json"
    minified.parent.mkdir()
    minified.write_bytes(orjson.dumps(orjson.loads(bundled_sample.read_bytes())))
    whole, _ = ingest.read_exports([minified], cfg("ingest"))
    assert whole.equals(reference)
    monkeypatch.setattr(desktop, "CHUNK_BYTES", 4099)
    chunked, chunked_report = ingest.read_exports([bundled_sample], cfg("ingest"))
    assert chunked.equals(reference) and chunked_report == report


def test_spill_size_does_not_change_the_table(bundled_sample, monkeypatch):
    reference, report = ingest.read_exports([bundled_sample], cfg("ingest"))
    monkeypatch.setattr(ingest, "SPILL_ROWS", 777)  # many parts, chats cut across them
    spilled, spilled_report = ingest.read_exports([bundled_sample], cfg("ingest"))
    assert spilled.equals(reference) and spilled_report == report


def test_overlapping_exports_keep_each_message_once(tmp_path):
    """Two exports of one chat that overlap (an old one and a newer one): the overlap is dropped as
    duplicate, the table comes out sorted by chat and message id, and every message read is counted."""
    first = [msg(i, 1 if i % 2 else 2, f"m{i}", 1_700_000_000 + 60 * i) for i in range(1, 11)]
    second = [msg(i, 1 if i % 2 else 2, f"m{i}", 1_700_000_000 + 60 * i) for i in range(6, 16)]
    info = {"personal_information": {"user_id": 1}}
    write_export(tmp_path / "a" / "result.json", {**info, "chats": {"list": [chat_export(first, chat_id=2)]}})
    write_export(tmp_path / "b" / "result.json", {**info, "chats": {"list": [
        chat_export([msg(1, 3, "hi", 1_700_000_000)], chat_id=3), chat_export(second, chat_id=2)]}})
    messages, report = ingest.read_exports([tmp_path], cfg("ingest"))
    assert report["messages_read"] == 21 and report["kept"] == 16 and report["dropped"] == {"duplicate": 5}
    assert_accounting(report)
    kept = messages.filter(pl.col("drop_reason").is_null())
    assert kept["message_id"].to_list() == list(range(1, 16)) + [1]
    assert messages.select("chat_id", "message_id").equals(messages.select("chat_id", "message_id").sort("chat_id", "message_id"))
    # the copy read first is the one kept
    assert messages.filter(pl.col("drop_reason") == "duplicate")["message_id"].to_list() == [6, 7, 8, 9, 10]


def test_deterministic_output(tmp_path, bundled_sample):
    for name in ("a", "b"):
        assert doppel("ingest", "--input", bundled_sample, "--output", tmp_path / f"{name}.parquet",
                      "--report", tmp_path / f"{name}.json", cwd=ROOT).returncode == 0
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_repairs_invalid_escapes_duplicate_keys_and_bad_utf8(tmp_path):
    path = write_export(tmp_path / "result.json", chat_export(
        [msg(1, 42, "hi", 100), msg(2, 7, "PLACEHOLDER", 110), msg(3, 7, "dup", 120)]))
    raw = path.read_bytes()
    raw = raw.replace(b'"PLACEHOLDER"', b'"form\\x0Cfeed \xff bad"', 2)
    raw = raw.replace(b'"text": "dup",', b'"text": "first",\n   "text": "dup",', 1)
    path.write_bytes(raw)
    messages, report = ingest.read_exports([path], cfg("ingest"))
    texts = dict(zip(messages["message_id"], messages["text"]))
    assert texts[2].startswith("form\x0cfeed") and "\ufffd" in texts[2]
    assert texts[3] == "dup"
    assert report["repaired_batches"] >= 1 and report["messages_read"] == 3


def test_salvages_a_broken_message_and_counts_it(tmp_path):
    path = write_export(tmp_path / "result.json", chat_export(
        [msg(1, 42, "hi", 100), msg(2, 7, "BROKEN", 110), msg(3, 7, "fine", 120)]))
    path.write_bytes(path.read_bytes().replace(b'"BROKEN"', b'"broken" "oops"'))
    messages, report = ingest.read_exports([path], cfg("ingest"))
    assert set(messages["message_id"]) == {1, 3}
    assert report["dropped"]["malformed"] == 1 and report["messages_read"] == 3


def test_null_sender_missing_name_and_negative_ids(tmp_path):
    deleted = msg(2, 7, "from a deleted account", 110)
    deleted["from"] = None
    path = write_export(tmp_path / "result.json", chat_export(
        [msg(1, 42, "hi", 100), deleted], chat_id=-1001234, name=None, chat_type="private_supergroup"))
    messages, report = ingest.read_exports([path], cfg("ingest", chat_types=["private_supergroup"]))
    assert set(messages["chat_id"]) == {-1001234} and report["kept"] == 2


@pytest.mark.parametrize("case,content,problem", [
    ("missing", None, "no such file"),
    ("not_json", b"hello, I am not JSON", "not a Telegram export"),
    ("html", b"<!DOCTYPE html><html><body>export</body></html>", "not a Telegram export"),
    ("truncated", None, "truncated"),
    ("wrong_root", b"[1, 2, 3]", "not a Telegram export"),
    ("no_messages", b'{\n "foo": 1\n}', "not a Telegram export"),
    ("empty_folder", None, "no Telegram export here"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, case, content, problem):
    path = tmp_path / case / "result.json"
    path.parent.mkdir()
    if content is not None:
        path.write_bytes(content)
    elif case == "truncated":
        full = write_export(path, chat_export([msg(i, 7, f"message {i}", 100 + i) for i in range(1, 50)]))
        full.write_bytes(full.read_bytes()[:1500])
    target = path.parent if case == "empty_folder" else path
    proc = doppel("ingest", "--input", target, "--output", tmp_path / "out.parquet", "--report", tmp_path / "r.json",
                  cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0] and str(target) in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_prints_accounting(tmp_path, bundled_sample):
    proc = doppel("ingest", "--input", bundled_sample.parent, "--output", tmp_path / "m.parquet",
                  "--report", tmp_path / "r.json", cwd=ROOT, check=True)
    report = json.loads((tmp_path / "r.json").read_text())
    assert f"{report['messages_read']:,} messages read" in proc.stderr
    assert_accounting(report)


@pytest.mark.parametrize("which", ["bundled", "jimmy"])
def test_fast_and_tolerant_paths_agree(bundled_sample, monkeypatch, which):
    """Polars' batch parser (the fast path) and the per-message Python path give the same table."""
    path = bundled_sample if which == "bundled" else SHARED_SAMPLES / "jimmy_personal_chat_2026.json"
    if not path.exists():
        pytest.skip("../shared/samples not present")
    fast, fast_report = ingest.read_exports([path], cfg("ingest"))
    calls = []
    monkeypatch.setattr(ingest, "fast_frame", lambda *a: calls.append(1))
    tolerant, tolerant_report = ingest.read_exports([path], cfg("ingest"))
    assert calls and tolerant.equals(fast) and tolerant_report == fast_report
