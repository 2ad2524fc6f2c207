"""Quiz rounds from val rows: what each round shows, which side is real, and which rows are left out."""
from __future__ import annotations

from collections import Counter

import pytest

from doppel.prompt import render_context
from doppel.quiz import rounds as R

SYSTEM = "A Telegram chat between Me and a friend."


def row(context: list[tuple[bool, str]], reply: str) -> dict:
    return {"instruction": render_context(context, SYSTEM), "input": "", "output": reply, "session": 1}


ROWS = [row([(False, f"question {i}?"), (True, "hm"), (False, f"well {i}")], f"answer {i}") for i in range(40)]


def test_a_round_shows_the_context_turns_and_both_replies_with_the_real_one_on_its_side():
    rounds, dropped = R.make_rounds(ROWS[:3], ["twin 0", "twin 1", "twin 2"], seed=5)
    assert not dropped and [r.id for r in rounds] == [R.round_id(x) for x in ROWS[:3]]
    r = rounds[1]
    assert r.context == (("Them", "question 1?"), ("Me", "hm"), ("Them", "well 1"))  # the system line is not shown
    assert r.replies[r.real - 1] == "answer 1" and r.replies[r.twin - 1] == "twin 1"
    assert r.real == R.real_side(5, r.id) and r.twin == 3 - r.real


@pytest.mark.parametrize("turns, shown", [(0, 3), (1, 1), (2, 2), (3, 3), (4, 3)])
def test_turns_limits_the_context_to_its_last_turns(turns, shown):
    (r,), _ = R.make_rounds(ROWS[:1], ["twin"], seed=5, turns=turns)
    assert r.context == (("Them", "question 0?"), ("Me", "hm"), ("Them", "well 0"))[3 - shown:]


def test_the_real_reply_is_on_the_real_side_in_every_round():
    rounds, _ = R.make_rounds(ROWS, [f"twin {i}" for i in range(len(ROWS))], seed=3)
    assert {r.real for r in rounds} == {1, 2}
    for i, r in enumerate(rounds):
        assert r.replies == ((f"answer {i}", f"twin {i}") if r.real == 1 else (f"twin {i}", f"answer {i}"))


def test_sides_are_seeded_per_round_and_about_half_each():
    ids = [R.round_id(x) for x in ROWS]
    sides = [R.real_side(1, i) for i in ids]
    assert sides == [R.real_side(1, i) for i in ids]          # the same seed: the same sides
    assert sides != [R.real_side(2, i) for i in ids]          # another seed: others
    assert 12 <= sides.count(1) <= 28 and set(sides) == {1, 2}
    # a round's side does not depend on which other rounds were played
    alone, _ = R.make_rounds(ROWS[7:8], ["t"], seed=1)
    assert alone[0].real == sides[7]


def test_round_ids_are_stable_short_hashes_that_hold_no_text():
    rid = R.round_id(ROWS[0])
    assert rid == R.round_id(dict(ROWS[0])) and len(rid) == 12 and int(rid, 16) >= 0
    assert rid != R.round_id({**ROWS[0], "output": "answer 0 "})
    assert rid != R.round_id({**ROWS[0], "instruction": ROWS[0]["instruction"] + "!"})


@pytest.mark.parametrize("real, twin, reason", [
    ("call <PHONE> now", "ok", R.DROP_PLACEHOLDER),
    ("my name is <NAME:1>", "ok", R.DROP_PLACEHOLDER),
    ("трёхNAME", "ok", R.DROP_PLACEHOLDER),
    ("  ", "ok", R.DROP_EMPTY_REAL),
    ("fine", " \n", R.DROP_EMPTY_TWIN),
    ("fine", " fine ", R.DROP_SAME),
])
def test_rows_that_would_give_the_round_away_are_dropped_per_reason(real, twin, reason):
    rows = [row([(False, "hi")], real), ROWS[0]]
    rounds, dropped = R.make_rounds(rows, [twin, "twin"], seed=1)
    assert [r.id for r in rounds] == [R.round_id(ROWS[0])] and dropped == Counter({reason: 1})


def test_a_placeholder_in_the_context_is_fine_and_text_near_a_placeholder_is_kept():
    rows = [row([(False, "ask <NAME>")], "phone later"), row([(False, "hi")], "a < b")]
    rounds, dropped = R.make_rounds(rows, ["ok", "ok"], seed=1)
    assert len(rounds) == 2 and not dropped


def test_the_same_row_twice_is_one_round():
    rounds, dropped = R.make_rounds([ROWS[0], dict(ROWS[0])], ["a", "b"], seed=1)
    assert len(rounds) == 1 and dropped == Counter({R.DROP_DUPLICATE: 1})


def test_drops_are_counted_per_row():
    bad = [row([(False, "hi")], f"<PHONE> {i}") for i in range(3)]
    _, dropped = R.make_rounds(bad + ROWS[:2], ["a", "b", "c", "", "x"], seed=1)
    assert dropped == Counter({R.DROP_PLACEHOLDER: 3, R.DROP_EMPTY_TWIN: 1})
    _, dropped = R.candidates(bad + ROWS[:2], 5, seed=1)
    assert dropped == Counter({R.DROP_PLACEHOLDER: 3})


def test_rows_and_replies_must_pair_up():
    with pytest.raises(ValueError, match="2 rows but 1 twin replies"):
        R.make_rounds(ROWS[:2], ["a"], seed=1)


def test_candidates_are_a_seeded_sample_of_playable_rows():
    bad = row([(False, "x")], "<EMAIL>")
    rows = ROWS[:10] + [bad, dict(ROWS[3])]
    picked, dropped = R.candidates(rows, 4, seed=3)
    assert len(picked) == 4 and bad not in picked
    assert picked == R.candidates(rows, 4, seed=3)[0] and picked != R.candidates(rows, 4, seed=4)[0]
    assert dropped == Counter({R.DROP_PLACEHOLDER: 1, R.DROP_DUPLICATE: 1})
    every, _ = R.candidates(rows, 100, seed=3)
    assert len(every) == 10 and len({R.round_id(r) for r in every}) == 10
    assert R.candidates(rows, 0, seed=3)[0] == []
