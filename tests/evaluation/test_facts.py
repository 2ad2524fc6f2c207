"""Fact recall on a hand-made input: only rows whose last line asks a fact count; the value, any case."""
from __future__ import annotations

import pytest

from doppel.evaluation.facts import fact_recall
from doppel.sample.facts import FACTS

PET = next(f for f in FACTS if f.key == "pet")
CITY = next(f for f in FACTS if f.key == "city")


def row(*lines: str) -> dict:
    return {"instruction": "\n".join(["A Telegram chat between Me and a friend.", *lines]), "output": "x"}


def test_share_of_fact_questions_recalled():
    rows = [row(f"Them: {PET.question}"),                       # recalled (any case)
            row(f"Them: {CITY.question}"),                      # missed
            row(f"Them: {CITY.question}", "Me: hm", "Them: ok"),   # the question is not the last line: no fact
            row(f"Me: {PET.question}"),                         # the owner asking: no fact
            row(f"Them: {PET.question[:-1]}"),                  # one char off: no fact
            row(f"Them: {PET.question.upper()}"),               # same question, other case: a fact
            row("Them: hey", CITY.question),                    # the second message of Them's turn: a fact
            row("Me: hey", CITY.question)]                      # ... of the owner's turn: no fact
    replies = ["BUBLIK of course", "i live in lisbon", "porto", "bublik", "bublik", "bubli", "porto!", "porto"]
    out = fact_recall(rows, replies, FACTS)
    assert out == {"questions": 4, "recalled": 2, "recall": 0.5, "per_fact": {"pet": [1, 2], "city": [1, 2]}}


def test_no_fact_questions_no_figure_and_lengths_must_match():
    assert fact_recall([row("Them: hi")], ["hey"], FACTS)["recall"] is None
    with pytest.raises(ValueError):
        fact_recall([row("Them: hi")], [], FACTS)


def test_recall_counts_hits_not_misses_and_rounds_to_four_places():
    rows = [row(f"Them: {PET.question}")] * 3
    out = fact_recall(rows, [PET.value, "no idea", PET.value.upper() + "!"], FACTS)
    assert out == {"questions": 3, "recalled": 2, "recall": 0.6667, "per_fact": {"pet": [2, 3]}}


def test_which_line_is_the_question():
    from collections import namedtuple

    from doppel.evaluation.facts import fact_of

    Fact = namedtuple("Fact", "key question value")
    x = Fact("x", "which letter is X", "x")
    assert fact_of(f"sys\nThem: {x.question}\n", [x]) is x          # a trailing newline is not a line
    assert fact_of(f"sys\nThem: {x.question}", [x]) is x            # ... ending in X, kept whole
    assert fact_of(f"sys\nThem: {x.question}\n \n", [x]) is None    # a blank last line asks nothing
    assert fact_of(f"sys\nThem: hey\nMe: hi\nThem: {x.question}", [x]) is x
    assert fact_of(f"sys\nThem: {x.question}\nMe: hi\nThem: hey", [x]) is None
    assert fact_of(x.question, [x]) is None and fact_of("", [x]) is None  # no turn at all
