"""The automatic player: evaluate's authorship classifier picks the reply that sounds more like the owner."""
from __future__ import annotations

import pytest

from doppel.evaluation.authorship import Authorship
from doppel.quiz.auto import pick, play
from doppel.quiz.rounds import Round

CLF = Authorship(["ну такое лол", "ахах да норм", "кстати го завтра"], ["Hello, what are you doing?", "Sure, great!"])


def rnd(real_text: str, twin_text: str, real: int) -> Round:
    replies = (real_text, twin_text) if real == 1 else (twin_text, real_text)
    return Round("0123456789ab", (("Them", "hi"),), replies, real)


@pytest.mark.parametrize("real", [1, 2])
def test_the_classifier_picks_the_reply_that_sounds_like_the_owner(real):
    owner_like, other_like = "ахах ну такое", "What are you doing?"
    assert pick(CLF, rnd(owner_like, other_like, real)) == real          # the twin sounds unlike the owner: right
    assert pick(CLF, rnd(other_like, owner_like, real)) == 3 - real      # the twin sounds more like them: fooled
    assert pick(CLF, rnd("да", "да", real)) == 0                          # a tie: can't tell


def test_fooled_rate_counts_twin_picks_and_half_a_tie():
    rounds = [rnd("ахах ну такое", "What are you doing?", 1), rnd("What are you doing?", "ахах ну такое", 2),
              rnd("Sure!", "кстати лол", 1), rnd("да", "да", 2)]
    assert play(CLF, rounds) == {"quiz_rounds": 4, "quiz_fooled": (0 + 1 + 1 + 0.5) / 4}
    assert play(CLF, []) == {"quiz_rounds": 0, "quiz_fooled": None}
    right = rnd("ахах ну такое", "What are you doing?", 2)
    assert play(CLF, [right, right]) == {"quiz_rounds": 2, "quiz_fooled": 0.0}
