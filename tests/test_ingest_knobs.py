"""ingest's knobs change exactly the rows they name: skip_chats, keep_forwarded, keep_media_captions."""
from __future__ import annotations

import polars as pl

from conftest import cfg, chat_export, msg, write_export
from doppel import ingest


def export(tmp_path):
    """Two personal chats: the owner is user1; chat 2 has a forward and two photos (one with a caption)."""
    return write_export(tmp_path / "result.json", {
        "about": "x",
        "personal_information": {"user_id": 1, "first_name": "Me"},
        "chats": {"about": "", "list": [
            chat_export([msg(1, 2, "hi", 1000), msg(2, 1, "hey", 1010),
                         msg(3, 2, "look at this", 1020, forwarded_from="News"),
                         msg(4, 1, "my cat", 1030, photo="(File not included.)"),
                         msg(5, 2, "", 1040, photo="(File not included.)"),
                         msg(6, 1, "nice", 1050)], chat_id=2),
            chat_export([msg(1, 3, "yo", 2000), msg(2, 1, "sup", 2010)], chat_id=3, name="Other"),
        ]},
    })


def kept(tmp_path, **knobs) -> tuple[list[tuple[int, int]], dict]:
    messages, report = ingest.read_exports([export(tmp_path)], cfg("ingest", **knobs))
    rows = messages.filter(pl.col("drop_reason").is_null()).sort("chat_id", "message_id")
    return list(zip(rows["chat_id"].to_list(), rows["message_id"].to_list())), report


def test_defaults_drop_forwards_and_media_keep_captions(tmp_path):
    rows, report = kept(tmp_path, keep_forwarded=False, keep_media_captions=True, skip_chats=[])
    assert rows == [(2, 1), (2, 2), (2, 4), (2, 6), (3, 1), (3, 2)]
    assert report["dropped"] == {"forwarded": 1, "media_only": 1}


def test_skip_chats_drops_exactly_those_chats(tmp_path):
    rows, report = kept(tmp_path, keep_forwarded=False, keep_media_captions=True, skip_chats=[3])
    assert rows == [(2, 1), (2, 2), (2, 4), (2, 6)]
    assert report["dropped"]["skipped_chat"] == 2
    rows, _ = kept(tmp_path, keep_forwarded=False, keep_media_captions=True, skip_chats=[2, 3])
    assert rows == []


def test_keep_forwarded_keeps_the_forward(tmp_path):
    rows, report = kept(tmp_path, keep_forwarded=True, keep_media_captions=True, skip_chats=[])
    assert (2, 3) in rows and len(rows) == 7
    assert "forwarded" not in report["dropped"]


def test_media_captions_can_be_dropped_with_their_media(tmp_path):
    rows, report = kept(tmp_path, keep_forwarded=False, keep_media_captions=False, skip_chats=[])
    assert rows == [(2, 1), (2, 2), (2, 6), (3, 1), (3, 2)]
    assert report["dropped"]["media_only"] == 2
