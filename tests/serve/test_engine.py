"""doppel.serve.engine.StopCut: a request's stop sequences on the reply text, cut across pieces; text is held only
while it may still be the start of a stop sequence (the engine with the twin: tests/serve/test_app.py)."""
from __future__ import annotations

from doppel.serve.engine import StopCut


def test_text_is_held_while_it_may_start_a_stop_sequence():
    cut = StopCut(["END", "xyz"])
    assert [cut.push(p) for p in ["hello E", "N", "D and more"]] == ["hello ", "", ""]
    assert cut.stopped and cut.finish() == "" and cut.push("later") == ""
    cut = StopCut(["END"])
    assert [cut.push("a E"), cut.push("Nd")] == ["a ", "ENd"] and cut.finish() == "" and not cut.stopped
    cut = StopCut(["END"])
    assert cut.push("tail EN") == "tail " and cut.pending == "EN" and cut.finish() == "EN" and cut.pending == ""
    cut = StopCut(["ABCDEF"])
    assert cut.push("AB") == "" and cut.push("C") == "" and cut.push("x") == "ABCx"  # longer than the text so far
    assert StopCut([]).push("as is") == "as is" and StopCut(["q"]).push("no stop") == "no stop"


def test_the_earliest_stop_wins_and_is_not_returned():
    cut = StopCut(["xyz", "b"])
    assert cut.push("a b c xyz") == "a " and cut.stopped
    cut = StopCut(["END"])
    assert cut.push("ENDING") == "" and cut.stopped and cut.finish() == ""
