"""doppel.evaluation.rows: seeded samples of rows and lines (0: all, at or past the size: all, in order)."""
from __future__ import annotations

from doppel.evaluation.rows import capped, pick_rows


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
    assert pick_rows(rows, 1, 3) != [] and pick_rows([], 3, 3) == []
