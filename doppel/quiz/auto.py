"""The automatic player: evaluate's authorship classifier (char n-gram naive Bayes, trained on the train split)
plays the quiz's rounds, picking the reply that scores more like the owner. Its fooled rate is
`quiz_fooled` in metrics/eval.json: a blind-test figure for every run before any human plays."""
from __future__ import annotations

from doppel.evaluation.authorship import Authorship
from doppel.quiz.rounds import Round

CANT_TELL = 0  # doppel.quiz.store.CANT_TELL (not imported: the evaluate stage needs no more of the quiz)


def pick(clf: Authorship, r: Round) -> int:
    """1 or 2, the reply the classifier attributes to the owner more strongly; 0 for a tie."""
    a, b = (clf.score(t) for t in r.replies)
    return 1 if a > b else 2 if b > a else CANT_TELL


def play(clf: Authorship, rounds: list[Round]) -> dict:
    """`quiz_rounds` and `quiz_fooled`: the share of rounds where the twin's reply was picked as real (a tie
    counts half, as in the human report); None when no round could be played."""
    picks = [pick(clf, r) for r in rounds]
    score = sum(1.0 if p == r.twin else 0.5 if p == CANT_TELL else 0.0 for p, r in zip(picks, rounds))
    return {"quiz_rounds": len(rounds), "quiz_fooled": score / len(rounds) if rounds else None}
