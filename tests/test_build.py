"""segment and build on hand-made inputs, checked row by row: sessions split at the gap, runs of one sender
merged only inside a session, and a row's context drawn only from its own session's earlier turns."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from conftest import cfg
from doppel import build
from doppel.build import check_val, fit_line, instruction_rows, percentiles, split_by_time, summary, warnings
from doppel.errors import InputError
from doppel.schemas import Turn
from doppel import segment
from doppel.segment import sessions

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
ME, AL, BO = "user1", "user2", "user3"


def messages(rows) -> pl.DataFrame:
    """(chat, seconds after T0, sender, text[, drop_reason]) -> a message table as ingest writes it."""
    return pl.DataFrame([
        {"chat_id": r[0], "ts": T0 + timedelta(seconds=r[1]), "message_id": i, "sender_id": r[2],
         "is_owner": r[2] == ME, "text": r[3], "drop_reason": r[4] if len(r) > 4 else None}
        for i, r in enumerate(rows, 1)
    ], schema_overrides={"drop_reason": pl.String})


H = 3600


def turn_rows(turns: pl.DataFrame) -> list[tuple]:
    return [(r["chat_id"], r["session_id"], r["turn_index"], r["is_owner"], r["text"], r["n_messages"],
             (r["ts_start"] - T0).total_seconds(), (r["ts_end"] - T0).total_seconds())
            for r in turns.sort("chat_id", "session_id", "turn_index").iter_rows(named=True)]


# --------------------------------------------------------------------------------------------------- segment


def test_a_run_of_one_sender_is_cut_at_the_session_boundary():
    msgs = messages([
        (7, 0, AL, "a1"), (7, 60, AL, "a2"), (7, 120, ME, "o1"),
        (7, 120 + 25 * H, ME, "o2"),                  # 25 h later: a new session, though the same sender
        (7, 121 + 25 * H, AL, "a3"),
    ])
    turns, report = segment.run(cfg("segment", session_gap_hours=24), msgs)
    assert turn_rows(turns) == [
        (7, 0, 0, False, "a1\na2", 2, 0, 60),
        (7, 0, 1, True, "o1", 1, 120, 120),
        (7, 1, 0, True, "o2", 1, 120 + 25 * H, 120 + 25 * H),
        (7, 1, 1, False, "a3", 1, 121 + 25 * H, 121 + 25 * H),
    ]
    assert report["sessions"] == 2 and report["turns"] == 4 and report["owner_turns"] == 2
    assert report["messages_in"] == report["messages_out"] == 5
    assert report["messages_per_turn_mean"] == 1.25


def test_a_gap_of_exactly_the_limit_stays_in_the_session_and_a_minute_more_does_not():
    msgs = messages([(1, 0, AL, "a"), (1, 24 * H, ME, "b"), (1, 48 * H + 60, AL, "c"), (1, 48 * H + 61, ME, "d")])
    got = sessions(msgs, 24)
    assert got["session_id"].to_list() == [0, 0, 1, 1]
    assert sessions(msgs, 0.5)["session_id"].to_list() == [0, 1, 2, 2]


def test_sessions_are_numbered_per_chat_and_dropped_messages_are_left_out():
    msgs = messages([
        (2, 100, AL, "x"), (1, 0, AL, "p"), (1, 30, ME, "q"), (2, 110, ME, "y"),
        (1, 40, ME, "fwd", "forwarded"), (1, 50, AL, "r"),
    ])
    turns, report = segment.run(cfg("segment"), msgs)
    assert turn_rows(turns) == [
        (1, 0, 0, False, "p", 1, 0, 0), (1, 0, 1, True, "q", 1, 30, 30), (1, 0, 2, False, "r", 1, 50, 50),
        (2, 0, 0, False, "x", 1, 100, 100), (2, 0, 1, True, "y", 1, 110, 110),
    ]
    assert report["messages_in"] == 5


def test_sessions_without_the_owner_are_dropped_and_counted():
    msgs = messages([(1, 0, AL, "a"), (1, 5, ME, "b"), (3, 0, AL, "c"), (3, 9, BO, "d"), (3, 10, AL, "e")])
    turns, report = segment.run(cfg("segment"), msgs)
    assert turns["chat_id"].to_list() == [1, 1]
    assert report["sessions"] == 2
    assert report["sessions_dropped"] == {"session_without_owner": 1}
    assert report["messages_dropped"] == {"session_without_owner": 3}
    assert report["messages_out"] == 2 and report["turns"] == 2 and report["owner_turns"] == 1
    kept, report = segment.run(cfg("segment", drop_sessions_without_owner=False), msgs)
    assert kept["chat_id"].to_list() == [1, 1, 3, 3, 3]
    assert report["messages_dropped"] == {"session_without_owner": 0} and report["messages_out"] == 5
    assert report["sessions_dropped"] == {"session_without_owner": 1}


def test_a_table_without_drop_reason_counts_as_all_kept():
    msgs = messages([(1, 0, AL, "a"), (1, 5, ME, "b")]).drop("drop_reason")
    turns, report = segment.run(cfg("segment"), msgs)
    assert turns["text"].to_list() == ["a", "b"] and report["messages_in"] == 2


# --------------------------------------------------------------------------------------------------- build


def turns_table(rows) -> pl.DataFrame:
    """(chat, session, turn_index, is_owner, text, minutes after T0) -> a validated turns table."""
    return Turn.validate(pl.DataFrame([
        {"chat_id": c, "session_id": s, "turn_index": i, "is_owner": o, "text": t,
         "ts_start": T0 + timedelta(minutes=m), "ts_end": T0 + timedelta(minutes=m), "n_messages": 1}
        for c, s, i, o, t, m in rows
    ]))


CONVERSATION = [
    (5, 0, 0, False, "hi there", 0), (5, 0, 1, True, "hello", 1), (5, 0, 2, False, "how are you", 2),
    (5, 0, 3, True, "fine", 3),
    (5, 1, 0, True, "morning", 2000),              # opens a session: no context, even though session 0 has turns
    (5, 1, 1, False, "up already?", 2001), (5, 1, 2, True, "yes", 2002),
    (6, 0, 0, False, "other chat", 10), (6, 0, 1, True, "answer", 11),
]


def test_context_is_the_sessions_previous_turns_only():
    rows, dropped = instruction_rows(turns_table(CONVERSATION), cfg("build", system_prompt="SYS", context_tokens=384))
    got = [(r["chat_id"], r["session_id"], r["instruction"], r["output"]) for r in rows.iter_rows(named=True)]
    assert got == [
        (5, 0, "SYS\nThem: hi there", "hello"),
        (5, 0, "SYS\nThem: hi there\nMe: hello\nThem: how are you", "fine"),
        (5, 1, "SYS\nMe: morning\nThem: up already?", "yes"),
        (6, 0, "SYS\nThem: other chat", "answer"),
    ]
    assert dropped == {"no_context": 1, "output_too_long": 0, "duplicate": 0}
    assert rows["input"].to_list() == [""] * 4
    shuffled, _ = instruction_rows(turns_table(CONVERSATION[::-1]), cfg("build", system_prompt="SYS"))
    assert shuffled.equals(rows)


def test_context_is_trimmed_from_the_oldest_turn_to_the_budget():
    # each line costs ceil(bytes / 4) + 1 (its newline):
    # "Them: hi there" 14 bytes -> 5; "Me: hello" 9 -> 4; "Them: how are you" 17 -> 6
    turns = turns_table(CONVERSATION[:4])
    rows, _ = instruction_rows(turns, cfg("build", system_prompt="", context_tokens=10))
    assert rows["instruction"].to_list() == ["Them: hi there", "Me: hello\nThem: how are you"]
    rows, _ = instruction_rows(turns, cfg("build", system_prompt="", context_tokens=15))
    assert rows["instruction"].to_list() == ["Them: hi there", "Them: hi there\nMe: hello\nThem: how are you"]
    rows, _ = instruction_rows(turns, cfg("build", system_prompt="", context_tokens=14))
    assert rows["instruction"].to_list() == ["Them: hi there", "Me: hello\nThem: how are you"]
    # the system line takes its own cost out of the budget: "SYS" -> 1 + 1
    rows, _ = instruction_rows(turns, cfg("build", system_prompt="SYS", context_tokens=17))
    assert rows["instruction"].to_list() == ["SYS\nThem: hi there", "SYS\nThem: hi there\nMe: hello\nThem: how are you"]
    rows, _ = instruction_rows(turns, cfg("build", system_prompt="SYS", context_tokens=16))
    assert rows["instruction"].to_list() == ["SYS\nThem: hi there", "SYS\nMe: hello\nThem: how are you"]


def test_a_context_turn_longer_than_the_budget_keeps_its_label_and_its_end():
    turns = turns_table([(1, 0, 0, False, "x" * 30 + "END", 0), (1, 0, 1, True, "ok", 1)])
    rows, _ = instruction_rows(turns, cfg("build", system_prompt="", context_tokens=4))
    assert rows["instruction"].to_list() == ["Them: " + "x" * 6 + "END"]  # 4 * 4 - 1 = 15 bytes: label + 9
    later = turns_table([(1, 0, 0, False, "hi", 0), (1, 0, 1, True, "yo", 1), (1, 0, 2, False, "y" * 30 + "END", 2),
                         (1, 0, 3, True, "ok", 3)])   # the long turn is the third row: it is cut, not its neighbours
    rows, _ = instruction_rows(later, cfg("build", system_prompt="", context_tokens=4))
    assert rows["instruction"].to_list() == ["Them: hi", "Them: " + "y" * 6 + "END"]
    assert fit_line("Them: abcdef", 9) == "Them: def"
    assert fit_line("Them: a: bcdef", 9) == "Them: def"  # the label ends at the first ": "
    assert fit_line("Them: abcdef", 7) == "Them: f"
    assert fit_line("Them: abcdef", 6) == "Them: "
    assert fit_line("Me: \u0436\u0436", 7) == "Me: \u0436"  # a cut inside a 2-byte letter drops the half
    assert fit_line("Me: \u0436\u0436", 5) == "Me: "


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_contexts_assembled_a_few_turns_at_a_time_give_the_same_rows(monkeypatch, chunk):
    """Owner turns are given their context CONTEXT_CHUNK_TURNS at a time (memory); a slice boundary anywhere,
    duplicates on both sides of one included, changes no row and no count."""
    turns = turns_table(CONVERSATION + [(7, 0, 0, False, "other chat", 0), (7, 0, 1, True, "answer", 1)])
    whole, dropped = instruction_rows(turns, cfg("build", system_prompt="SYS"))
    assert dropped["duplicate"] == 1 and whole.height == 4
    monkeypatch.setattr(build, "CONTEXT_CHUNK_TURNS", chunk)
    rows, dropped_sliced = instruction_rows(turns, cfg("build", system_prompt="SYS"))
    assert rows.equals(whole) and dropped_sliced == dropped
    none, dropped = instruction_rows(turns_table(CONVERSATION[4:5]), cfg("build"))
    assert none.is_empty() and none.columns == whole.columns and dropped["no_context"] == 1


def test_min_context_turns_long_outputs_and_duplicates_are_dropped_and_counted():
    turns = turns_table([
        (1, 0, 0, False, "q", 0), (1, 0, 1, True, "a" * 41, 1), (1, 0, 2, False, "q2", 2), (1, 0, 3, True, "ok", 3),
        (2, 0, 0, False, "q", 0), (2, 0, 1, True, "ok", 1), (3, 0, 0, False, "q", 0), (3, 0, 1, True, "ok", 1),
    ])
    rows, dropped = instruction_rows(turns, cfg("build", system_prompt="", max_output_tokens=10))
    assert [(r["chat_id"], r["output"]) for r in rows.iter_rows(named=True)] == [(1, "ok"), (2, "ok")]
    assert dropped == {"no_context": 0, "output_too_long": 1, "duplicate": 1}
    assert instruction_rows(turns, cfg("build", system_prompt="", max_output_tokens=11))[1]["output_too_long"] == 0
    rows, dropped = instruction_rows(turns, cfg("build", system_prompt="", min_context_turns=3))
    assert rows["output"].to_list() == ["ok"] and dropped["no_context"] == 3
    rows, dropped = instruction_rows(turns, cfg("build", system_prompt="", min_context_turns=0))
    assert dropped["no_context"] == 0  # 0 still needs one turn before: a row needs some context


def test_split_puts_the_latest_sessions_in_val():
    turns = turns_table([
        (1, 0, 0, False, "a", 0), (1, 0, 1, True, "b", 1),
        (1, 1, 0, False, "c", 300), (1, 1, 1, True, "d", 301),
        (2, 0, 0, False, "e", 100), (2, 0, 1, True, "f", 101),
        (2, 1, 0, False, "g", 200), (2, 1, 1, True, "h", 201),
    ])
    rows, _ = instruction_rows(turns, cfg("build", system_prompt=""))
    train, val = split_by_time(rows, turns, 0.5)
    assert train["output"].to_list() == ["b", "f"] and train["session"].to_list() == [0, 1]
    assert val["output"].to_list() == ["d", "h"] and val["session"].to_list() == [3, 2]
    train, val = split_by_time(rows, turns, 0.01)   # rounds to 0, but a val split needs one session
    assert val["output"].to_list() == ["d"]
    train, val = split_by_time(rows, turns, 0.99)   # and train keeps one
    assert train["output"].to_list() == ["b"] and val.height == 3
    same_start = turns_table([(2, 0, 0, False, "a", 0), (2, 0, 1, True, "b", 1),
                              (1, 0, 0, False, "c", 0), (1, 0, 1, True, "d", 1)])
    both, _ = instruction_rows(same_start, cfg("build", system_prompt=""))
    train, val = split_by_time(both, same_start, 0.5)       # a tie in start time: by chat, then session
    assert (train["output"].to_list(), val["output"].to_list()) == (["d"], ["b"])
    train, val = split_by_time(rows.head(2), turns, 0.1)   # two sessions: one each, whatever the share
    assert (train["output"].to_list(), val["output"].to_list()) == (["b"], ["d"])
    train, val = split_by_time(rows.head(1), turns, 0.5)   # one session: nothing to split
    assert train.height == 1 and val.height == 0


def test_build_report_and_refusals():
    turns = turns_table(CONVERSATION)
    train, val, report = build.run(cfg("build", system_prompt="", val_share=0.3), turns)
    assert report["rows"] == {"train": 3, "val": 1} and report["sessions"] == {"train": 2, "val": 1}
    assert report["owner_turns"] == 5 and report["owner_share"] == round(5 / 9, 4)
    assert report["dropped"] == {"no_context": 1, "output_too_long": 0, "duplicate": 0}
    assert val["output"].to_list() == ["yes"]
    assert percentiles(pl.Series([5, 1, 3, 2, 4])) == {"p50": 3, "p90": 5, "p99": 5, "max": 5}
    assert percentiles(pl.Series([], dtype=pl.Int64)) == {"p50": 0, "p90": 0, "p99": 0, "max": 0}
    owners_only = turns_table([(1, 0, 0, True, "a", 0), (1, 0, 1, True, "b", 1)])
    with pytest.raises(InputError) as err:
        build.run(cfg("build"), owners_only)
    assert str(err.value) == ("turns: every turn is the owner's, so no reply has anything to answer: too little "
                              "history (export more: chats where others write to you), or the owner flag is wrong "
                              "(check ingest.owner_id)")
    assert report["tokens_approx"] == {"p50": 8, "p90": 12, "p99": 12, "max": 12}  # of 5, 6, 8, 12
    assert report["output_tokens_approx"] == {"p50": 2, "p90": 2, "p99": 2, "max": 2}  # of 1, 1, 2, 2
    with pytest.raises(InputError) as err:   # an empty export: once "no owner turn has context (...chat_types)"
        build.run(cfg("build"), owners_only.clear())
    assert str(err.value) == ("turns: no turns at all: no session holding an owner's message was kept (an empty "
                              "export, every message dropped, or none by the owner: see the ingest and segment "
                              "summaries, reports/ingest.json)")
    no_context = turns_table([(1, 0, 0, True, "a", 0), (1, 0, 1, False, "b", 1)])
    with pytest.raises(InputError) as err:
        build.run(cfg("build"), no_context)
    assert str(err.value) == (
        "turns: no training rows: no owner turn has context (are there conversations with the owner replying to "
        "someone? a group-only export needs its chat types in ingest.chat_types, e.g. private_group; see the "
        "ingest summary)")
    leaky = turns_table([(1, 0, 0, False, "call me", 0), (1, 0, 1, True, "+7 912 345 67 89", 1),
                         (2, 0, 0, False, "hi", 0), (2, 0, 1, True, "hey", 1)])
    with pytest.raises(InputError) as err:
        build.run(cfg("build"), leaky)
    assert str(err.value) == "dataset: 1 row(s) fail the instruction schema: ['no_unredacted_pii']"


def test_an_empty_val_split_is_refused_naming_rows_and_sessions():
    one_session = turns_table([(1, 0, 0, False, "q", 0), (1, 0, 1, True, "a", 1), (1, 0, 2, False, "q2", 2),
                               (1, 0, 3, True, "b", 3)])
    with pytest.raises(InputError) as err:
        build.run(cfg("build", system_prompt="", val_share=0.5), one_session)
    assert str(err.value) == (
        "turns: the val split is empty: 2 training row(s) in 1 session(s), and val takes whole sessions (the "
        "latest), so it needs at least 2; export more history, or lower segment.session_gap_hours to cut it into "
        "more sessions (keep it longer than the wait for a reply)")
    rows = pl.DataFrame({"chat_id": [1, 1, 2, 2], "session_id": [0, 0, 0, 1], "output": list("abcd")})
    with pytest.raises(InputError, match=r"4 training row\(s\) in 3 session\(s\)"):
        check_val(rows, rows.clear())
    check_val(rows, rows.head(1))  # any val row: accepted


def test_few_train_rows_warn_and_the_summary_shows_everything():
    turns = turns_table(CONVERSATION)
    train, val, report = build.run(cfg("build", system_prompt="", val_share=0.3), turns)
    assert warnings(report, cfg("build", min_train_rows_warning=3)) == []      # 3 rows: not fewer than 3
    assert warnings(report, cfg("build", min_train_rows_warning=4)) == [
        "only 3 train rows (fewer than build.min_train_rows_warning: 4): the model will memorise them rather than "
        "learn how you write; export more history (or more chat types in ingest.chat_types)"]
    report["rows"]["train"] = 1234
    assert "only 1,234 train rows (fewer than build.min_train_rows_warning: 5,000)" in \
        warnings(report, cfg("build", min_train_rows_warning=5000))[0]
    report["rows"]["train"] = 3
    two_val_rows = turns_table(CONVERSATION + [(5, 1, 3, False, "and?", 2003), (5, 1, 4, True, "done", 2004)])
    _, val, two = build.run(cfg("build", system_prompt="", val_share=0.3), two_val_rows)
    assert two["rows"]["val"] == 2 and two["sessions"]["val"] == 1 and val["output"].to_list() == ["yes", "done"]
    assert summary(report) == (
        "build: 3 train rows / 1 val rows (2 / 1 sessions), owner share 56%\n"
        "  tokens (approx) p50 8 p90 12 p99 12 max 12\n"
        "  dropped: no_context 1, output_too_long 0, duplicate 0")
    assert summary(report, cfg("build", min_train_rows_warning=4)) == summary(report) + (
        "\n  warning: " + warnings(report, cfg("build", min_train_rows_warning=4))[0])


def test_one_microsecond_over_the_gap_is_a_new_session():
    msgs = messages([(1, 0, AL, "a"), (1, 1, ME, "b")])
    later = msgs.with_columns(ts=pl.Series([T0, T0 + timedelta(hours=2, microseconds=1)]))
    assert sessions(later, 2)["session_id"].to_list() == [0, 1]
    assert sessions(later.with_columns(ts=pl.Series([T0, T0 + timedelta(hours=2)])), 2)["session_id"].to_list() == [0, 0]


def test_messages_are_read_in_time_order_then_by_id():
    # ids out of time order (an edited import, a merged export) and two messages in the same second
    msgs = messages([(1, 50, ME, "third"), (1, 10, AL, "first"), (1, 30, ME, "second-b"), (1, 30, AL, "second-a")])
    msgs = msgs.with_columns(message_id=pl.Series([1, 9, 4, 3]))
    got = sessions(msgs, 24)
    assert got["text"].to_list() == ["first", "second-a", "second-b", "third"]
    turns, _ = segment.run(cfg("segment"), msgs)
    assert turns["text"].to_list() == ["first\nsecond-a", "second-b\nthird"]


def test_many_turns_keep_their_order_and_the_table_is_sorted():
    rows = [(c, 60 * i, ME if i % 2 else AL, f"{c}-{i}") for c in (3, 1, 2) for i in range(300)]
    turns, report = segment.run(cfg("segment"), messages(rows))
    assert turns.select("chat_id", "turn_index").rows() == [(c, i) for c in (1, 2, 3) for i in range(300)]
    assert turns["text"].to_list() == [f"{c}-{i}" for c in (1, 2, 3) for i in range(300)]
    assert report["messages_per_turn_mean"] == 1.0


def test_report_of_nothing_kept_and_a_rounded_mean():
    turns, report = segment.run(cfg("segment"), messages([(1, 0, AL, "a"), (1, 5, BO, "b")]))
    assert turns.height == 0
    assert (report["messages_out"], report["turns"], report["owner_turns"]) == (0, 0, 0)
    assert report["messages_per_turn_mean"] == 0.0
    # 7 messages in 3 turns: 2.333 (three decimals)
    _, report = segment.run(cfg("segment"), messages([(1, 0, AL, "a"), (1, 1, AL, "b"), (1, 2, AL, "c"), (1, 3, ME, "d"),
                                  (1, 4, ME, "e"), (1, 5, AL, "f"), (1, 6, AL, "g")]))
    assert report["messages_per_turn_mean"] == 2.333


def test_segment_summary():
    from doppel.segment import summary

    _, report = segment.run(cfg("segment"), messages([(1, 0, AL, "a"), (1, 5, ME, "b"), (2, 0, AL, "c")]))
    assert summary(report) == (
        "segment: 3 messages -> 2 sessions -> 2 turns (1 by the owner, 1.0 messages per turn)\n"
        "  dropped: 1 sessions without the owner (1 messages)")
