"""The memory table: owner turns only, each with the turn it answered (same session), redacted text as given."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl

from doppel.config import MemoryConfig
from doppel.memory import index

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def turns(rows: list[tuple[int, int, bool, str]]) -> pl.DataFrame:
    """(chat_id, session_id, is_owner, text) in order; turn_index and times follow the order."""
    out = []
    for i, (chat, session, owner, text) in enumerate(rows):
        idx = sum(1 for r in rows[:i] if r[0] == chat and r[1] == session)
        ts = T0 + timedelta(minutes=i)
        out.append({"chat_id": chat, "session_id": session, "turn_index": idx, "is_owner": owner, "text": text,
                    "ts_start": ts, "ts_end": ts, "n_messages": 1})
    return pl.DataFrame(out).with_columns(pl.col("ts_start", "ts_end").dt.cast_time_unit("us"))


def cfg(enabled: bool = True) -> MemoryConfig:
    return MemoryConfig(enabled=enabled, k=4, tokens=96, scope="chat")


def test_owner_turns_with_what_they_answered():
    table, report = index.run(cfg(), turns([
        (1, 0, True, "morning!"),                 # owner first: answered nothing
        (1, 0, False, "how is the dog?"),
        (1, 0, True, "Rex is fine"),
        (1, 1, False, "new session"),
        (2, 0, True, "other chat"),               # chat 2's first turn: chat 1's last turn is not its question
    ]))
    assert table.columns == index.COLUMNS
    assert table.select("chat_id", "answered", "text").rows() == [
        (1, "", "morning!"), (1, "how is the dog?", "Rex is fine"), (2, "", "other chat")]
    assert table["ts"].to_list() == [T0, T0 + timedelta(minutes=2), T0 + timedelta(minutes=4)]
    assert report == {"turns_in": 5, "memories_out": 3, "chats": 2,
                      "dropped": {"not_owner": 2, "no_words": 0, "disabled": 0}}


def test_session_boundary_breaks_the_answered_link():
    table, _ = index.run(cfg(), turns([(1, 0, False, "question?"), (1, 1, True, "answer next day")]))
    assert table["answered"].to_list() == [""]


def test_placeholder_only_and_wordless_turns_are_dropped():
    table, report = index.run(cfg(), turns([
        (1, 0, True, "<PHONE>"), (1, 0, True, "!!"), (1, 0, True, "<NAME> ok"), (1, 0, True, "a")]))
    assert table["text"].to_list() == ["<NAME> ok"]
    assert report["dropped"] == {"not_owner": 0, "no_words": 3, "disabled": 0}


def test_disabled_builds_an_empty_table():
    table, report = index.run(cfg(enabled=False), turns([(1, 0, True, "hello there")]))
    assert table.height == 0 and table.columns == index.COLUMNS
    assert report["dropped"]["disabled"] == 1 and report["memories_out"] == 0
