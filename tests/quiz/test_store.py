"""The quiz's results file: append-only JSON lines, no text of a round, damaged lines named."""
from __future__ import annotations

import json
import threading

import pytest

from doppel.errors import InputError
from doppel.quiz.store import Pick, Store, player_problem, read

RID = "0123456789ab"


def clock():
    return "2026-12-06T01:00:00+00:00"


def test_a_line_is_sorted_compact_json_in_utf8(tmp_path):
    path = tmp_path / "a" / "b" / "results.jsonl"      # folders made as needed
    Store(path, clock).add(RID, 2, 1, "Анна")
    assert path.read_bytes().decode("utf-8") == ('{"pick": 1, "player": "Анна", "real": 2, "round": "0123456789ab", '
                                                 '"time": "2026-12-06T01:00:00+00:00"}\n')


def test_picks_are_appended_as_json_lines_with_exactly_the_five_fields(tmp_path):
    path = tmp_path / "quiz" / "results.jsonl"
    store = Store(path, clock)
    a = store.add(RID, 1, 2, "ann")
    store.add("ba9876543210", 2, 0, "Bob K.")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"round": RID, "real": 1, "pick": 2, "player": "ann", "time": clock()}
    assert len(lines) == 2 and a == store.read()[0] and store.read() == read(path)
    Store(path, clock).add(RID, 2, 2, "cy")       # a second store (a restart) appends, never rewrites
    assert path.read_text(encoding="utf-8").splitlines()[:2] == lines


@pytest.mark.parametrize("real, pick, verdict", [(1, 1, "right"), (2, 2, "right"), (1, 2, "fooled"),
                                                 (2, 1, "fooled"), (1, 0, "unsure"), (2, 0, "unsure")])
def test_verdict(real, pick, verdict):
    assert Pick(RID, real, pick, "ann", clock()).verdict == verdict


@pytest.mark.parametrize("args", [("0123456789a", 1, 1, "ann"), ("0123456789abc", 1, 1, "ann"),
                                  ("0123456789aB", 1, 1, "ann"), (RID, 0, 1, "ann"), (RID, 3, 1, "ann"),
                                  (RID, 1, 3, "ann"), (RID, 1, -1, "ann"), (RID, 1, 1, ""), (RID, 1, 1, " ann"),
                                  (RID, 1, 1, "a" * 33), (RID, 1, 1, "ann\nbob"), (RID, 1, 1, "<b>ann</b>")])
def test_a_bad_pick_is_refused_and_nothing_is_written(tmp_path, args):
    path = tmp_path / "r.jsonl"
    with pytest.raises(ValueError, match="^not a pick: "):
        Store(path, clock).add(*args)
    assert not path.exists()


def test_the_problem_with_a_label_is_said():
    assert player_problem("") == ("a player's name is 1-32 letters, digits, spaces, . ' - or _, starting with a "
                                  "letter or digit")


@pytest.mark.parametrize("label, ok", [("a", True), ("a" * 32, True), ("a" * 33, False), ("Анна", True),
                                       ("ann-2 o'neil", True), ("-ann", False), ("ann ", False), ("", False),
                                       ("ann\t", False), (None, False), (7, False)])
def test_player_labels(label, ok):
    assert (player_problem(label) is None) is ok


def test_concurrent_players_never_interleave_a_line(tmp_path):
    store = Store(tmp_path / "r.jsonl", clock)
    go = threading.Event()

    def play(name):
        go.wait()
        for _ in range(50):
            store.add(RID, 1, 1, name)

    threads = [threading.Thread(target=play, args=(f"p{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    picks = store.read()
    assert len(picks) == 200 and {p.player for p in picks} == {"p0", "p1", "p2", "p3"}


def test_no_file_is_no_picks_and_a_damaged_line_is_named(tmp_path):
    path = tmp_path / "r.jsonl"
    assert read(path) == []
    Store(path, clock).add(RID, 1, 1, "ann")
    with path.open("a") as f:
        f.write("\n{not json\n")
    with pytest.raises(InputError, match=r"r.jsonl: line 3: not a quiz result"):
        read(path)
    good = {"round": RID, "real": 1, "pick": 1, "player": "ann", "time": "t"}
    for bad in ({"pick": 5}, {"real": 0}, {"round": "0123456789aB"}, {"player": "<b>"}):
        path.write_text(json.dumps(good) + "\n" + json.dumps({**good, **bad}) + "\n")
        with pytest.raises(InputError) as err:
            read(path)
        assert str(err.value) == f"{path}: line 2: a value out of range (round id, real 1/2, pick 0/1/2, player)"
