"""The quiz report: the fooled rate overall and per player, with its 95% Wilson interval."""
from __future__ import annotations

import pytest

from doppel.quiz.report import summarise, text, wilson
from doppel.quiz.store import Pick


@pytest.mark.parametrize("k, n, low, high", [(5, 10, 0.2366, 0.7634), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0),
                                             (32, 56, 0.4414, 0.6923), (1, 1, 0.2065, 1.0)])
def test_wilson_interval_matches_published_values(k, n, low, high):
    lo, hi = wilson(k, n)
    assert lo == pytest.approx(low, abs=1e-4) and hi == pytest.approx(high, abs=1e-4)


def test_wilson_with_no_rounds_is_the_whole_range():
    assert wilson(0, 0) == (0.0, 1.0)


def pick(player, real, chosen, rid="0123456789ab"):
    return Pick(rid, real, chosen, player, "2026-12-06T01:00:00+00:00")


def test_fooled_rate_counts_twin_picks_and_half_of_cant_tell_per_player():
    picks = [pick("ann", 1, 1), pick("ann", 2, 1), pick("ann", 1, 0), pick("ann", 2, 1),
             pick("bob", 1, 1), pick("bob", 2, 2)]
    s = summarise(picks)
    assert (s["rounds"], s["right"], s["fooled"], s["unsure"]) == (6, 3, 2, 1)
    assert s["fooled_rate"] == round(2.5 / 6, 4)
    assert (s["low"], s["high"]) == tuple(round(v, 4) for v in wilson(2.5, 6))
    assert list(s["players"]) == ["ann", "bob"]
    assert s["players"]["ann"]["fooled_rate"] == 0.625 and s["players"]["ann"]["rounds"] == 4
    assert s["players"]["bob"] == {"rounds": 2, "right": 2, "fooled": 0, "unsure": 0, "fooled_rate": 0.0,
                                   "low": 0.0, "high": round(wilson(0, 2)[1], 4)}


def test_the_printed_report_has_a_line_per_player_and_the_total():
    out = text(summarise([pick("ann", 1, 2), pick("ann", 1, 1), pick("bob", 2, 0)]))
    assert "3 rounds; the twin fooled the players 50% of the time" in out
    lines = out.splitlines()
    assert lines[-3].split()[:5] == ["ann", "2", "1", "1", "0"] and lines[-3].split()[5] == "50%"
    assert lines[-2].split()[:5] == ["bob", "1", "0", "0", "1"]
    assert lines[-1].split()[:5] == ["all", "3", "1", "1", "1"]


def test_the_printed_report_in_full():
    picks = [pick("ann", 1, 2), pick("ann", 1, 1), pick("ann", 2, 1), pick("ann", 2, 0), pick("bob", 2, 0),
             pick("Анна", 1, 1)]
    assert text(summarise(picks)) == """\
quiz: 6 rounds; the twin fooled the players 50% of the time (95% interval 19%-81%; 50% = they cannot tell; \
can't tell counts half)

  player           rounds  right  fooled  unsure   fooled  95% interval
  ann                   4      1       2       1      62%  [22%, 91%]
  bob                   1      0       0       1      50%  [5%, 95%]
  Анна                  1      1       0       0       0%  [0%, 79%]
  all                   6      2       2       2      50%  [19%, 81%]"""


def test_no_rounds_yet():
    s = summarise([])
    assert s["rounds"] == 0 and s["fooled_rate"] is None and s["players"] == {}
    assert s["low"] is None and s["high"] is None
    assert text(s) == "quiz: no rounds played yet (doppel quiz serves the game)"
