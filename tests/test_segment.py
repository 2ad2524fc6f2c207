"""segment and build: sessions, merged turns, context trimming, the time split, schemas."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pandera.errors
import polars as pl
import pytest

from conftest import ROOT, cfg
from doppel import cli
from doppel import build, segment
from doppel.build import instruction_rows, split_by_time
from doppel.errors import InputError
from doppel.prompt import approx_tokens
from doppel.schemas import InstructionRow, Message, Turn

T0 = datetime(2026, 3, 1, 23, 50, tzinfo=timezone.utc)


def messages(rows: list[tuple]) -> pl.DataFrame:
    """rows: (chat_id, minutes after T0, is_owner, text)"""
    return Message.validate(pl.DataFrame([
        {"chat_id": c, "chat_type": "personal_chat", "message_id": i, "ts": T0 + timedelta(minutes=m),
         "sender_id": "user1" if o else f"user{100 + c}", "is_owner": o, "text": t, "kind": "text",
         "reply_to": None, "forwarded": False, "drop_reason": None, "pii_hints": []}
        for i, (c, m, o, t) in enumerate(rows, 1)
    ]))


DAY = 24 * 60


def test_sessions_across_midnight_and_days():
    msgs = messages([
        (1, 0, False, "before midnight"), (1, 20, True, "after midnight"),      # same session across 00:00
        (1, 20 + DAY, False, "exactly a day later"),                          # a gap of exactly 24 h: same
        (1, 20 + 2 * DAY + 3, True, "a day and 3 minutes later"),             # > 24 h: new session
        (2, 5, False, "other chat"), (2, 6, True, "reply"),
    ])
    turns, report = segment.run(cfg("segment", session_gap_hours=24), msgs)
    sessions = {t: s for t, s in zip(turns["text"], turns["session_id"])}
    assert sessions["before midnight"] == sessions["after midnight"] == sessions["exactly a day later"] == 0
    assert sessions["a day and 3 minutes later"] == 1
    assert report["sessions"] == 3 and report["sessions_dropped"]["session_without_owner"] == 0


def test_gap_param_and_sessions_without_owner_dropped():
    msgs = messages([(1, 0, False, "hi"), (1, 1, True, "hey"), (1, 200, False, "anyone?"), (1, 201, False, "hello?")])
    turns, report = segment.run(cfg("segment", session_gap_hours=1), msgs)
    assert turns["text"].to_list() == ["hi", "hey"]
    assert report["sessions_dropped"]["session_without_owner"] == 1
    assert report["messages_dropped"]["session_without_owner"] == 2
    assert report["messages_in"] == report["messages_out"] + 2


def test_consecutive_messages_of_one_sender_merge():
    msgs = messages([(1, 0, False, "hi"), (1, 1, False, "you there?"), (1, 2, True, "yes"), (1, 3, True, "what"),
                     (1, 4, True, "?"), (1, 5, False, "ok")])
    turns, _ = segment.run(cfg("segment"), msgs)
    assert turns.select("turn_index", "is_owner", "text", "n_messages").rows() == [
        (0, False, "hi\nyou there?", 2), (1, True, "yes\nwhat\n?", 3), (2, False, "ok", 1)]
    assert turns["ts_start"][1] == T0 + timedelta(minutes=2) and turns["ts_end"][1] == T0 + timedelta(minutes=4)


def test_dropped_messages_do_not_enter_turns():
    msgs = messages([(1, 0, False, "hi"), (1, 1, True, "hey")]).with_columns(
        drop_reason=pl.Series([None, "forwarded"]))
    with pytest.raises(InputError, match="no turns at all: no session holding an owner's message was kept"):
        # the only owner message was dropped, and with it the session of the other side's
        build.run(cfg("build"), segment.run(cfg("segment"), msgs)[0])


def test_context_trimmed_from_the_oldest_side_and_reply_kept():
    lines = [(1, i, i % 2 == 1, f"message number {i} " + "x" * 20) for i in range(20)]
    turns, _ = segment.run(cfg("segment"), messages(lines))
    rows, dropped = instruction_rows(turns, cfg("build", context_tokens=40, system_prompt="SYS"))
    assert dropped["no_context"] == 0
    last = rows.row(-1, named=True)
    assert last["output"] == lines[-1][3]
    assert last["instruction"].startswith("SYS\n") and last["instruction"].endswith(f"Them: {lines[-2][3]}")
    assert "message number 0 " not in last["instruction"]
    assert all(approx_tokens(r) <= 40 + 2 for r in rows["instruction"])


def test_one_huge_context_turn_keeps_its_end():
    huge = "start " + "word " * 500 + "THE END"
    turns, _ = segment.run(cfg("segment"), messages([(1, 0, False, huge), (1, 1, True, "ok")]))
    rows, _ = instruction_rows(turns, cfg("build", context_tokens=50, system_prompt=""))
    assert rows["instruction"][0].endswith("THE END") and approx_tokens(rows["instruction"][0]) <= 50
    assert rows["instruction"][0].startswith("Them: ")


def test_huge_multibyte_context_turn_fits_the_budget():
    text = "a" * 2000 + "я" * 400 + " конец"
    turns, _ = segment.run(cfg("segment"), messages([(1, 0, False, text), (1, 1, True, "ok")]))
    rows, _ = instruction_rows(turns, cfg("build", context_tokens=384, system_prompt="SYS"))
    inst = rows["instruction"][0]
    assert inst.startswith("SYS\nThem: ") and inst.endswith("я конец") and approx_tokens(inst) <= 384
    assert rows["output"][0] == "ok"


def test_long_outputs_and_duplicates_are_dropped_and_counted():
    msgs = messages([(1, 0, False, "hi"), (1, 1, True, "long " * 300), (1, 2, False, "hi"), (1, 3, True, "ok"),
                     (2, 0, False, "hi"), (2, 1, True, "ok")])
    turns, _ = segment.run(cfg("segment"), msgs)
    rows, dropped = instruction_rows(turns, cfg("build", max_output_tokens=100, context_tokens=3, system_prompt=""))
    assert dropped == {"no_context": 0, "output_too_long": 1, "duplicate": 1}
    assert rows.height == 1


def test_context_budget_must_leave_room_after_the_system_prompt():
    system = "A system prompt of some length, я"
    room = approx_tokens(system) + 1  # its line and the newline
    assert cfg("build", system_prompt=system, context_tokens=room + 1).context_tokens == room + 1
    with pytest.raises(InputError, match=r"params\.yaml: build\.context_tokens: leaves no room after the system "
                                         rf"prompt \(got {room}\)"):
        cfg("build", system_prompt=system, context_tokens=room)
    assert cfg("build", system_prompt="", context_tokens=1).context_tokens == 1


def test_split_by_time_has_no_leakage():
    rows = []
    for chat in range(3):
        for day in range(10):
            rows += [(chat, day * 2 * DAY + chat, False, f"q{chat}-{day}"), (chat, day * 2 * DAY + chat + 1, True, "a")]
    turns, _ = segment.run(cfg("segment"), messages(rows))
    built, _ = instruction_rows(turns, cfg("build", system_prompt=""))
    train, val = split_by_time(built, turns, 0.2)
    assert train.height + val.height == built.height and val.height == 6
    keys = ["chat_id", "session_id"]
    assert train.join(val, on=keys, how="semi").is_empty()
    start = turns.group_by(keys).agg(pl.col("ts_start").min())
    assert train.join(start, on=keys)["ts_start"].max() <= val.join(start, on=keys)["ts_start"].min()
    assert train["session"].max() < val["session"].min()  # sessions numbered in time order


def test_first_rows_of_the_dataset_get_their_whole_context():
    # regression: token sums were unsigned, so `cum - budget` wrapped for the first rows of a dataset
    turns, _ = segment.run(cfg("segment"), messages([(1, 0, False, "hi there"), (1, 1, True, "hello"), (1, 2, False, "how are you"),
                                 (1, 3, True, "fine")]))
    rows, _ = instruction_rows(turns, cfg("build", system_prompt="SYS"))
    assert rows["instruction"].to_list() == ["SYS\nThem: hi there", "SYS\nThem: hi there\nMe: hello\nThem: how are you"]


def two_sessions(chat_id: int = 1) -> pl.DataFrame:
    """Two sessions two days apart, ten alternating messages each (5 owner turns with context each)."""
    return messages([(chat_id, day * 2 * DAY + i, i % 2 == 1, f"text {i} on day {day}")
                     for day in range(2) for i in range(10)])


def test_build_report_and_role_swap(tmp_path):
    turns, _ = segment.run(cfg("segment"), two_sessions())
    train, val, report = build.run(cfg("build", val_share=0.5), turns)
    assert report["rows"] == {"train": 5, "val": 5} and report["owner_share"] == 0.5
    assert report["sessions"] == {"train": 1, "val": 1}
    swapped = turns.with_columns(is_owner=pl.lit(True))
    with pytest.raises(InputError, match="owner flag"):
        build.run(cfg("build"), swapped)


@pytest.mark.parametrize("bad,check", [
    ({"output": "   "}, "output_not_blank"),
    ({"output": ""}, "str_length"),
    ({"output": "call me at +7 912 345-67-89"}, "no_unredacted_pii"),
    ({"instruction": "Them: mail me at someone@example.com"}, "no_unredacted_pii"),
])
def test_instruction_schema_rejects_bad_rows(bad, check):
    row = {"instruction": "SYS\nThem: hi", "input": "", "output": "hey", **bad}
    with pytest.raises(pandera.errors.SchemaErrors) as err:
        InstructionRow.validate(pl.DataFrame([row, {"instruction": "x", "input": "", "output": "y"}]), lazy=True)
    assert any(check in str(c) for c in err.value.failure_cases["check"])


def test_instruction_schema_rejects_duplicates():
    row = {"instruction": "SYS\nThem: hi", "input": "", "output": "hey"}
    with pytest.raises(pandera.errors.SchemaErrors):
        InstructionRow.validate(pl.DataFrame([row, row]), lazy=True)


def test_turn_schema_rejects_empty_text():
    turns, _ = segment.run(cfg("segment"), messages([(1, 0, False, "hi"), (1, 1, True, "hey")]))
    with pytest.raises(pandera.errors.SchemaError):
        Turn.validate(turns.with_columns(text=pl.lit("")))


def test_written_rows_carry_no_contact_ids_or_times(tmp_path, monkeypatch):
    segment.run(cfg("segment"), two_sessions(987654321))[0].write_parquet(tmp_path / "turns.parquet")
    monkeypatch.chdir(ROOT)  # the build stage script, as dvc runs it
    assert cli.main(["build", "--input", str(tmp_path / "turns.parquet"), "--output", str(tmp_path / "processed"),
                     "--report", str(tmp_path / "dataset.json")]) == 0
    for split in ("train", "val"):
        path = tmp_path / "processed" / f"{split}.json"
        written = json.loads(path.read_text())
        assert written and {tuple(r) for r in written} == {("instruction", "input", "output", "session", "memory")}
        assert "987654321" not in path.read_text() and "2026" not in path.read_text()


def run_build(tmp_path, turns: pl.DataFrame, monkeypatch, *extra: str) -> tuple[int, list[str]]:
    import io
    from contextlib import redirect_stderr

    turns.write_parquet(tmp_path / "turns.parquet")
    monkeypatch.chdir(ROOT)
    err = io.StringIO()
    with redirect_stderr(err):
        code = cli.main(["build", "--input", str(tmp_path / "turns.parquet"), "--output", str(tmp_path / "processed"),
                         "--report", str(tmp_path / "dataset.json"), *extra])
    return code, err.getvalue().strip().splitlines()


def test_a_small_dataset_is_built_with_a_warning(tmp_path, monkeypatch):
    """Below build.min_train_rows_warning train rows: built, but stderr says the twin will memorise it."""
    from doppel.build import warnings

    turns, _ = segment.run(cfg("segment"), two_sessions())
    _, _, report = build.run(cfg("build", val_share=0.5), turns)
    assert warnings(report, cfg("build", min_train_rows_warning=5)) == []
    [warning] = warnings(report, cfg("build", min_train_rows_warning=6))
    assert warning.startswith("only 5 train rows (fewer than build.min_train_rows_warning: 6)")
    code, lines = run_build(tmp_path, turns, monkeypatch)
    assert code == 0
    assert any(line.startswith("  warning: only 5 train rows") for line in lines), lines
    assert (tmp_path / "processed" / "train.json").exists()


def test_an_empty_val_split_is_refused_before_training(tmp_path, monkeypatch):
    """One session of rows leaves val empty (it takes whole sessions): one line, exit 2, nothing written."""
    one = messages([(1, i, i % 2 == 1, f"text {i}") for i in range(4)])
    turns, _ = segment.run(cfg("segment"), one)
    with pytest.raises(InputError, match="the val split is empty: 2 training row"):
        build.run(cfg("build"), turns)
    code, lines = run_build(tmp_path, turns, monkeypatch)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"doppel build: error: {tmp_path / 'turns.parquet'}: the val split is empty"), lines
    assert "segment.session_gap_hours" in lines[0]
    assert not (tmp_path / "processed" / "train.json").exists()


def test_no_training_rows_points_at_ingest_chat_types():
    turns, _ = segment.run(cfg("segment"), messages([(1, 0, True, "hi"), (1, 1, False, "hey")]))
    with pytest.raises(InputError, match="no training rows") as err:
        build.run(cfg("build"), turns)
    assert "ingest.chat_types" in str(err.value) and "private_group" in str(err.value)


@pytest.mark.parametrize("value,needle", [
    (-1, "build.min_train_rows_warning: input should be greater than or equal to 0"),
    ("many", "build.min_train_rows_warning: input should be a valid integer"),
])
def test_min_train_rows_warning_is_checked(value, needle):
    with pytest.raises(InputError, match=needle):
        cfg("build", min_train_rows_warning=value)


def test_a_tiny_exports_hints_lead_to_the_real_cause_and_then_to_a_dataset():
    """A tiny export (one chat, two conversations 6 h apart, replies 10 min after each message). Follow each hint:
    build's empty val split says lower segment.session_gap_hours; lowered below the reply wait, segment names
    that cause (not the look of a swapped owner flag) and says raise it; between the two, build succeeds."""
    rows = [(1, start + 10 * i, i % 2 == 1, f"{'me' if i % 2 else 'them'} {start} {i}")
            for start in (0, 6 * 60) for i in range(6)]
    msgs = messages(rows)
    turns, _ = segment.run(cfg("segment", session_gap_hours=24), msgs)
    with pytest.raises(InputError, match=r"the val split is empty.*lower segment.session_gap_hours"):
        build.run(cfg("build"), turns)
    with pytest.raises(InputError) as err:                  # lowered too far: 6 min < the 10 min reply wait
        segment.run(cfg("segment", session_gap_hours=0.1), msgs)
    assert str(err.value) == (
        "messages: every kept session holds only the owner's messages: 6 session(s) of only the other side were "
        "dropped, so the replies are cut off from what they answer; segment.session_gap_hours (0.1) is shorter "
        "than the wait for a reply: raise it")
    with pytest.raises(InputError) as near:                 # exactly at the wait: still cut (a longer silence
        segment.run(cfg("segment", session_gap_hours=10 / 60 - 1e-9), msgs)  # than the gap starts a session)
    assert "raise it" in str(near.value)
    turns, report = segment.run(cfg("segment", session_gap_hours=10 / 60), msgs)   # the wait itself: kept
    assert report["sessions"] == 2
    turns, report = segment.run(cfg("segment", session_gap_hours=1), msgs)         # between the two hints
    train, val, built = build.run(cfg("build"), turns)
    assert (train.height, val.height) == (3, 3) and built["sessions"] == {"train": 1, "val": 1}
    with pytest.raises(InputError, match="owner flag is wrong"):   # a real swap is still named
        build.run(cfg("build"), turns.with_columns(is_owner=pl.lit(True)))
