"""evaluate's metrics on inputs small enough to compute by hand: style features, profiles, spreads and the
distance; catchphrases; the authorship classifier's weights and shares; and how `style_gap_closed` and
`authorship_ratio` are made from them (the twin's replies, not the base's)."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from doppel.evaluation.authorship import Authorship
from doppel.evaluation.report import assemble
from doppel.evaluation.style import FEATURES, catchphrases, features, ngrams, profile, spreads, style_distance


def test_features_of_one_reply():
    assert features("Привет!! \U0001F600 ok...", []) == {
        "chars": 16.0, "words": 3.0, "emoji": 1.0, "lower_start": 0.0, "exclaim": 1.0, "question": 0.0,
        "ellipsis": 1.0, "cyrillic": 0.75, "catchphrase": 0.0}
    assert features("ну такое, да?\u2026", ["ну такое"]) == {
        "chars": 14.0, "words": 3.0, "emoji": 0.0, "lower_start": 1.0, "exclaim": 0.0, "question": 1.0,
        "ellipsis": 1.0, "cyrillic": 1.0, "catchphrase": 1.0}
    no_letters = features("123 \u2764", ["x"])
    assert no_letters["lower_start"] is None and no_letters["cyrillic"] is None
    assert no_letters["emoji"] == 1.0 and no_letters["catchphrase"] == 0.0


def test_profile_spreads_and_distance():
    texts = ["ab", "abcd!", "123"]
    prof = profile(texts, [])
    assert prof["chars"] == pytest.approx(10 / 3) and prof["exclaim"] == pytest.approx(1 / 3)
    assert prof["lower_start"] == 1.0            # "123" has no letter: it does not count
    assert prof["cyrillic"] == 0.0 and prof["catchphrase"] == 0.0
    assert profile([], []) == dict.fromkeys(FEATURES, 0.0)
    sd = spreads(texts, [])
    assert sd["chars"] == pytest.approx(math.sqrt(((2 - 10 / 3) ** 2 + (5 - 10 / 3) ** 2 + (3 - 10 / 3) ** 2) / 2))
    assert sd["lower_start"] == 0.0 and sd["exclaim"] == pytest.approx(math.sqrt(1 / 3))
    assert spreads(["one"], []) == dict.fromkeys(FEATURES, 0.0)
    a, b = dict.fromkeys(FEATURES, 0.0), dict.fromkeys(FEATURES, 0.0)
    a.update(chars=10.0, emoji=1.0, words=7.0)
    b.update(chars=4.0, emoji=3.0, words=1.0)
    scale = {"chars": 2.0, "emoji": 4.0, "words": 1e-12}
    assert style_distance(a, b, scale) == pytest.approx((6 / 2 + 2 / 4) / 2)  # words: no spread, not counted
    assert style_distance(a, b, {}) == 0.0


def test_catchphrases_are_the_owners_most_over_represented_ngrams():
    owner = ["ну такое"] * 3 + ["ок"]
    others = ["привет", "ок"] * 2
    assert catchphrases(owner, others, k=2, min_share=0.5) == ["ну такое"]  # "ну", "такое" are inside it
    assert catchphrases(["lol"] * 3 + ["хм"] * 3, ["ok"] * 3, k=2, min_share=0.5) == ["lol", "хм"]
    assert catchphrases(["lol"] * 3 + ["хм"] * 4, ["ok"] * 3, k=1, min_share=0.1) == ["хм"]
    # by score, not by count: "хм" (log 32/9 = 1.27) before "lol" (log 20/9 = 0.80), though "lol" is more frequent
    assert catchphrases(["lol"] * 4 + ["хм"] * 3, ["lol"] + ["ok"] * 5, k=2, min_share=0.1) == ["хм", "lol"]
    assert catchphrases(["lol"] * 3 + ["хм"] * 3, ["ok"] * 3, k=2, min_share=0.9) == []  # needs 6 lines
    assert catchphrases(["lol"] * 3, ["lol"] * 3, k=2, min_share=0.1) == []               # not over-represented
    assert catchphrases(owner, [], k=2, min_share=0.5) == catchphrases(owner, others, 0, 0.5) == []
    assert ngrams("Ну, такое") == {"ну", ",", "такое", "ну ,", ", такое", "ну , такое"}


def test_authorship_weights_and_shares():
    clf = Authorship(["a"], ["b"])
    assert Authorship.grams("a") == [" ", "a", " ", " a", "a ", " a "]
    assert clf.weights[" "] == 0.0
    assert clf.weights["a"] == pytest.approx(math.log(2)) and clf.weights["b"] == pytest.approx(-math.log(2))
    assert clf.score("a") == pytest.approx(4 * math.log(2)) and clf.score(" b ") == pytest.approx(-4 * math.log(2))
    assert clf.score("c") == 0.0 and not clf.is_owner("c") and not clf.is_owner("  ")
    assert clf.owner_share(["a", "b", "c", "a"]) == 0.5 and clf.owner_share([]) == 0.0
    smoothed = Authorship(["a"], ["b"], alpha=2.0)
    assert smoothed.weights["a"] == pytest.approx(math.log(3 / 2))
    assert Authorship([], []).weights == {} and Authorship([], []).score("x") == 0.0
    # unequal totals (9 owner grams, 6 others, 12 in the vocabulary): the smoothing's vocabulary size counts
    assert Authorship(["ab"], ["c"]).weights["a"] == pytest.approx(math.log((2 / 21) / (1 / 18)))
    weak = Authorship(["a"], ["b"], alpha=10.0)  # each owner gram weighs log(1.1): a score of 0.38 still counts
    assert weak.score("a") == pytest.approx(4 * math.log(1.1)) and weak.is_owner("a")


class ByMarker:
    """An authorship stand-in: a line is the owner's when it contains "me"."""

    def owner_share(self, texts):
        return sum("me" in t for t in texts) / len(texts) if texts else 0.0


def run(replies, bpb=1.2, bpb_other=1.5, judged=None):
    return SimpleNamespace(replies=replies, loss=2.0, ppl=math.exp(2.0), tokens=10, bpb=bpb, bpb_other=bpb_other,
                           judged=judged or {})


def test_style_gap_closed_and_authorship_ratio_from_hand_computed_replies():
    gen_rows = [{"instruction": "Them: hi", "output": o} for o in ("me", "me", "xx", "yy")]  # 2 chars each
    base = run(["aaaaaaaa", "bbbbbbbb", "cccccccc", "me cccc"])          # 8, 8, 8, 7 chars; 1 of 4 "owner"
    base.judged = {"twin": 2.6, "owner": 1.3}                          # the base judges the twin's replies
    tuned = run(["me a", "me b", "me c", "dddd"], bpb=1.0, bpb_other=1.25)  # 3 of 4
    scale = {"chars": 1.0}
    metrics, prof = assemble(base, tuned, 4, gen_rows, gen_rows, [], ByMarker(), scale)
    assert (metrics["bpb_base"], metrics["bpb_tuned"], metrics["bpb_tuned_other_context"]) == (1.2, 1.0, 1.25)
    assert (metrics["lift_base"], metrics["lift_tuned"], metrics["fluency"]) == (0.3, 0.25, 2.0)
    assert metrics["style_distance_base"] == 5.75 and metrics["style_distance_tuned"] == 2.0
    assert metrics["style_gap_closed"] == round(1 - 2.0 / 5.75, 4) == 0.6522
    assert metrics["authorship_owner_share_real"] == 0.5
    assert metrics["authorship_owner_share_base"] == 0.25 and metrics["authorship_owner_share_tuned"] == 0.75
    assert metrics["authorship_ratio"] == 1.5 and metrics["authorship_ratio_base"] == 0.5
    assert prof["owner"]["chars"] == 2.0 and prof["tuned"]["chars"] == 4.0
    assert prof["base"]["chars"] == 7.75
    # a twin further from the owner than the base: the gap "closed" is negative
    worse, _ = assemble(tuned, base, 4, gen_rows, gen_rows, [], ByMarker(), scale)
    assert worse["style_gap_closed"] == round(1 - 5.75 / 2.0, 4)
    assert worse["fluency"] is None   # no judged replies: nan, written as null
    own = [{"instruction": "", "output": r} for r in base.replies]
    same, _ = assemble(base, base, 4, own, gen_rows, [], ByMarker(), scale)
    assert same["style_gap_closed"] == 0.0 and same["authorship_ratio"] == 1.0  # d_base 0: nothing to close
    nobody = [{"instruction": "", "output": "xx"}] * 4
    assert assemble(base, tuned, 4, nobody, gen_rows, [], ByMarker(), scale)[0]["authorship_ratio"] == 0.0


def test_catchphrase_ranking_edges():
    assert ngrams("a b c d") == {"a", "b", "c", "d", "a b", "b c", "c d", "a b c", "b c d"}  # up to 3 words
    # a rare n-gram seen first does not end the search
    assert catchphrases(["x"] + ["lol"] * 3, ["ok"] * 3, k=1, min_share=0.1) == ["lol"]
    # over-represented by a little: 4/5 of the owner's lines (smoothed) vs 11/15 of the others'
    assert catchphrases(["lol"] * 3, ["lol"] * 10 + ["ok"] * 3, k=1, min_share=0.1) == ["lol"]
    # the higher score first, whatever the counts; on a tie of scores, the more frequent first
    assert catchphrases(["aa"] * 3 + ["bb"] * 4, ["bb"] * 3 + ["cc"] * 7, k=2, min_share=0.1) == ["aa", "bb"]
    assert catchphrases(["aa"] * 3 + ["bb"] * 7, ["bb"] + ["cc"] * 5, k=1, min_share=0.1) == ["bb"]
    # n-grams inside a picked phrase are skipped, and the search goes on past them
    assert catchphrases(["ну такое"] * 4 + ["лол"] * 3, ["привет"] * 3, k=2, min_share=0.1) == ["ну такое", "лол"]


def test_spread_of_two_lines():
    assert spreads(["ab", "abcd"], [])["chars"] == pytest.approx(math.sqrt(2))
