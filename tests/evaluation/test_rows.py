"""doppel.evaluation.rows: seeded samples of rows and lines (0: all, at or past the size: all, in order)."""
from __future__ import annotations

from doppel.evaluation.rows import capped, context_turns, other_lines, pick_rows


def test_capped_lines():
    lines = list("abcdefgh")
    assert capped(lines, 3, 7) == ["b", "d", "f"] == capped(lines, 3, 7)  # the seed's choice, in order
    assert capped(lines, 3, 8) != capped(lines, 3, 7)
    assert capped(lines, 0, 7) == lines and capped(lines, 8, 7) == lines and capped(lines, 9, 7) == lines
    assert capped(lines, 7, 7) != lines and len(capped(lines, 7, 7)) == 7


def test_pick_rows():
    rows = list(range(10))
    assert pick_rows(rows, 4, 3) == [2, 3, 7, 8] and pick_rows(rows, 4, 4) != [2, 3, 7, 8]
    for n in (0, -1, 10, 11):
        assert pick_rows(rows, n, 3) == rows
    assert pick_rows(rows, 9, 3) != rows and len(pick_rows(rows, 9, 3)) == 9
    assert len(pick_rows(rows, 1, 3)) == 1 and pick_rows([], 3, 3) == []


def test_context_turns():
    inst = "system line\nThem: Hi!\nMe: привет\nкак ты\nеще\nThem: Fine?\nMe:x"
    assert context_turns(inst) == [("Them", "Hi!"), ("Me", "привет\nкак ты\nеще"), ("Them", "Fine?\nMe:x")]
    assert context_turns("only a system line\nand more") == []


def test_other_lines_once_per_session():
    a = "s\nThem: Hi!\nMe: yo\nThem: Fine?"
    rows = [{"instruction": a, "session": 3}, {"instruction": a + "\nMe: x\nThem: Bye\nThem:  ", "session": 3},
            {"instruction": a, "session": 4}]
    assert other_lines(rows) == ["Hi!", "Fine?", "Bye", "Hi!", "Fine?"]  # session 4 has its own "Hi!"
    # rows without a session: a line counts once per context
    bare = [{"instruction": a}, {"instruction": a}, {"instruction": a + "\nThem: Hi!"}]
    assert other_lines(bare) == ["Hi!", "Fine?", "Hi!", "Fine?"]
    assert other_lines([{"instruction": "s\nMe: mine\nThem: \nThem: yours", "session": None}]) == ["yours"]
