"""Property-based tests of the Polars stages: whatever the messages, segment and build keep their promises."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import cfg
from doppel.build import instruction_rows, split_by_time
from doppel.errors import InputError
from doppel.prompt import OWNER_LABEL
from doppel.schemas import Message
from doppel import segment

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

message = st.tuples(
    st.integers(1, 3),                      # chat
    st.integers(0, 5 * 24 * 3600),          # seconds after T0
    st.booleans(),                          # is_owner
    st.sampled_from([None, None, None, "forwarded"]),
    st.text(alphabet="abc xyz\n", min_size=1, max_size=12).filter(lambda t: t.strip()),
)


def frame(rows) -> pl.DataFrame:
    return Message.validate(pl.DataFrame([
        {"chat_id": c, "chat_type": "personal_chat", "message_id": i, "ts": T0 + timedelta(seconds=s),
         "sender_id": "user1" if o else f"user{10 + c}", "is_owner": o, "text": t, "kind": "text", "reply_to": None,
         "forwarded": d is not None, "drop_reason": d, "pii_hints": []}
        for i, (c, s, o, d, t) in enumerate(rows, 1)
    ], schema_overrides={"drop_reason": pl.String, "reply_to": pl.Int64}))


# Derandomized: every run draws the same examples, so a bug is found on every run or on none. A run of one
# sender merged across a session boundary (the known segment bug, planted in a copy) fails from the ~25th
# example on; 150 leave a wide margin.
DERANDOMIZED = settings(derandomize=True, max_examples=100, deadline=None, database=None,
                        suppress_health_check=[HealthCheck.too_slow])


@settings(DERANDOMIZED, max_examples=150)
@given(st.lists(message, min_size=1, max_size=60), st.sampled_from([0.5, 6, 24]))
def test_segment_invariants(rows, gap_hours):
    msgs = frame(rows)
    kept = msgs.filter(pl.col("drop_reason").is_null())
    try:
        turns, report = segment.run(cfg("segment", session_gap_hours=gap_hours, drop_sessions_without_owner=False),
                                    msgs)
    except InputError as err:   # the owner's messages alone: nothing to learn from (segment.check_gap), only then
        assert kept.height and kept["is_owner"].all() and "too little history" in str(err)
        return
    # counts reconcile: every kept message is in exactly one turn
    assert report["messages_in"] == kept.height == int(turns["n_messages"].sum() or 0)
    # order kept: within a chat, turns are in time order and each session's messages read in order
    for (chat,), group in turns.group_by(["chat_id"]):
        starts = group.sort("session_id", "turn_index")["ts_start"].to_list()
        assert starts == sorted(starts)
        ordered = kept.filter(pl.col("chat_id") == chat).sort("ts", "message_id")
        assert "\n".join(group.sort("session_id", "turn_index")["text"]) == "\n".join(ordered["text"])
    # owner flags kept: owner turns hold exactly the owner's messages
    assert int(turns.filter("is_owner")["n_messages"].sum() or 0) == int(kept["is_owner"].sum())
    # sessions: consecutive turns of a session are never separated by more than the gap
    gap = timedelta(hours=gap_hours)
    t = turns.sort("chat_id", "session_id", "turn_index")
    for a, b in zip(t.iter_rows(named=True), t[1:].iter_rows(named=True)):
        if (a["chat_id"], a["session_id"]) == (b["chat_id"], b["session_id"]):
            assert b["ts_start"] - a["ts_end"] <= gap
            assert a["is_owner"] != b["is_owner"]  # runs of one sender are merged
        elif a["chat_id"] == b["chat_id"]:
            assert b["ts_start"] - a["ts_end"] > gap


@DERANDOMIZED
@given(st.lists(message, min_size=2, max_size=60), st.floats(0.0, 0.5))
def test_build_invariants(rows, val_share):
    try:
        turns, _ = segment.run(cfg("segment"), frame(rows))
    except InputError as err:   # nothing to learn from: the owner's sessions alone (segment.check_gap's refusal)
        assert str(err).endswith("is shorter than the wait for a reply: raise it") or \
            "too little history" in str(err)   # or no one but the owner wrote at all
        assume(False)
    built, dropped = instruction_rows(turns, cfg("build", context_tokens=30, system_prompt=""))
    owner_turns = int(turns["is_owner"].sum())
    assert built.height + sum(dropped.values()) == owner_turns
    train, val = split_by_time(built, turns, val_share)
    assert train.height + val.height == built.height
    keys = ["chat_id", "session_id"]
    assert train.join(val, on=keys, how="semi").is_empty()  # no session in both
    for row in built.iter_rows(named=True):
        assert row["output"].strip()
        assert not row["instruction"].endswith(f"{OWNER_LABEL}:")
