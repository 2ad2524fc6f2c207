"""Next-token sampling draw for draw: temperature, top-k and top-p filter exactly as promised (checked against
a hand-written reference with the same seeded generator), greedy at temperature 0, and TextCut's stop hold."""
from __future__ import annotations

import math

import pytest
import torch

from doppel.model.sampling import TextCut, sample_next
from doppel.prompt import stop_hold as _stop_hold

PROBS = [0.5, 0.3, 0.15, 0.05]
LOGITS = torch.log(torch.tensor([PROBS] * 4000))


def draws(logits, temperature=1.0, top_k=None, top_p=1.0, seed=0) -> list[int]:
    return sample_next(logits, temperature, top_k, top_p, torch.Generator().manual_seed(seed)).tolist()


def reference(logits, keep: list[int], temperature: float, seed: int = 0) -> list[int]:
    """softmax(logits / T) over the `keep` tokens only, drawn with the same generator."""
    scaled = logits.float() / temperature
    mask = torch.full_like(scaled, float("-inf"))
    mask[:, keep] = 0
    probs = (scaled + mask).softmax(-1)
    return torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(seed)).squeeze(-1).tolist()


def test_top_k_keeps_the_k_likeliest_tokens():
    got = draws(LOGITS, top_k=2)
    assert set(got) == {0, 1}
    assert got == reference(LOGITS, [0, 1], 1.0)
    assert set(draws(LOGITS, top_k=3)) == {0, 1, 2}
    assert set(draws(LOGITS, top_k=None)) == set(draws(LOGITS, top_k=0)) == set(draws(LOGITS, top_k=4)) == {0, 1, 2, 3}
    assert draws(LOGITS, top_k=None) == reference(LOGITS, [0, 1, 2, 3], 1.0)


def test_top_p_keeps_the_smallest_set_reaching_p():
    assert draws(LOGITS, top_p=0.7) == reference(LOGITS, [0, 1], 1.0)        # 0.5 < 0.7 <= 0.8
    assert draws(LOGITS, top_p=0.85) == reference(LOGITS, [0, 1, 2], 1.0)    # 0.8 < 0.85 <= 0.95
    assert draws(LOGITS, top_p=0.4) == reference(LOGITS, [0], 1.0)          # the top token always stays
    assert draws(LOGITS, top_p=0.999) == reference(LOGITS, [0, 1, 2, 3], 1.0)
    # the filter is applied in the original token order, whatever order the logits come in
    shuffled = LOGITS[:, [2, 0, 3, 1]]
    assert draws(shuffled, top_p=0.7) == reference(shuffled, [1, 3], 1.0)


def test_top_k_and_top_p_together_and_temperature():
    assert draws(LOGITS, top_k=3, top_p=0.7) == reference(LOGITS, [0, 1], 1.0)
    # top-p after top-k: renormalised over 3 tokens, 0.5 / 0.95 = 0.526 < 0.55 keeps two
    assert draws(LOGITS, top_k=3, top_p=0.55) == reference(LOGITS, [0, 1], 1.0)
    assert draws(LOGITS, temperature=2.0) == reference(LOGITS, [0, 1, 2, 3], 2.0)
    assert draws(LOGITS, temperature=0.5, top_k=2) == reference(LOGITS, [0, 1], 0.5)
    flat = draws(LOGITS, temperature=100.0)
    assert 800 < sum(t == 3 for t in flat) < 1200  # near uniform: ~1000 of 4000


def test_temperature_zero_is_greedy_and_seeds_repeat():
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 2.9, 0.0]])
    assert draws(logits, temperature=0.0) == [1, 0]
    assert draws(logits, temperature=0.0, top_p=0.0) == [1, 0]
    assert sample_next(logits, 1.0, None, 0.0, None).tolist() == [1, 0]
    assert draws(LOGITS, seed=5) == draws(LOGITS, seed=5) != draws(LOGITS, seed=6)
    half = sample_next(LOGITS.half(), 1.0, 2, 1.0, torch.Generator().manual_seed(0))
    assert set(half.tolist()) == {0, 1}
    assert math.isclose(sum(t == 0 for t in draws(LOGITS)) / 4000, 0.5, abs_tol=0.03)


class Chars:
    """A tokenizer whose ids are characters."""

    def decode(self, ids):
        return "".join(chr(i) for i in ids.tolist())


def feed(text: str) -> tuple[list[str], str, bool]:
    cut = TextCut(Chars())
    pieces = [cut.push(ord(c)) for c in text]
    pieces.append(cut.finish())
    return pieces, "".join(pieces), cut.stopped


def test_text_cut_holds_what_may_be_a_stop_string_and_cuts_at_it():
    assert _stop_hold("ok\nTh") == 3 and _stop_hold("ok\n") == 1 and _stop_hold("ok") == 0
    assert _stop_hold("ok\nMe") == 3 and _stop_hold("\nThem") == 5 and _stop_hold("") == 0
    pieces, text, stopped = feed("  hi there\nThem: more")
    assert text == "hi there" and stopped
    assert pieces[:3] == ["", "", "h"]                  # leading spaces dropped
    assert pieces[10] == ""                             # "\n" held: it may start "\nThem:"
    pieces, text, stopped = feed("a\nTheory is")
    assert text == "a\nTheory is" and not stopped
    assert pieces[1:9] == [""] * 7 + ["\nTheory"]       # released when "\nTheory" cannot be a "Label:" line
    assert _stop_hold("ok\nThey") == 5 and _stop_hold("ok\nthey") == 0 and _stop_hold("ok\nA1") == 0


@pytest.mark.parametrize("text,reply", [
    ("ok\nThey: hi", "ok"), ("ok\nВася: привет", "ok"), ("ok\nFriend:", "ok"), ("ok\nX: y", "ok"),
    ("ok\n" + "A" * 20 + ": y", "ok"),                  # a label of exactly LABEL_MAX_LETTERS letters
    ("ok\n" + "A" * 21 + ": y", "ok\n" + "A" * 21 + ": y"),   # one past it: text
    ("ok\nthey: hi", "ok\nthey: hi"),                  # lower case: text
    ("ok They: hi", "ok They: hi"),                      # not at a line start
    ("ok\nThey : hi", "ok\nThey : hi"),                # space before the colon
    ("ok\nA1: hi", "ok\nA1: hi"),                      # not a word of letters
    ("ok\nNew York: hi", "ok\nNew York: hi"),          # two words
])
def test_an_invented_speaker_label_ends_the_reply(text, reply):
    from doppel.prompt import cut_at_stop

    assert feed(text)[1] == reply == cut_at_stop(text)
    assert feed(text)[2] == (reply != text)
    assert feed("yes\nMe: again")[1] == "yes"
    assert feed("end  ")[1] == "end"


def test_text_cut_edges():
    assert feed("a\nTheory")[2] is False
    assert feed("\nThem: hi") == ([""] * 10, "", True)               # a stop string at the very start
    assert feed("a\nThem: b\nThem: c")[1] == "a"                     # the first stop string counts
    assert feed("ok\ufffd")[1] == "ok" and feed("\ufffdok")[1] == "\ufffdok"  # only a trailing half character
    assert feed("taX")[1] == "taX"
    cut = TextCut(Chars())
    assert (cut.finish(), cut.text(), cut.stopped) == ("", "", False)
    for c in "hi \nMe":
        cut.push(ord(c))
    assert cut.text() == "hi \nMe" and cut.finish() == " \nMe"  # "hi" came out already


def test_top_k_of_one_is_greedy_and_a_k_over_the_vocabulary_is_no_filter():
    assert set(draws(LOGITS, top_k=1)) == {0}
    assert draws(LOGITS, top_k=10) == reference(LOGITS, [0, 1, 2, 3], 1.0)


def test_top_p_reached_exactly_keeps_no_further_token():
    """As litgpt's own sampler: a set whose share equals top_p is enough."""
    exact = torch.log(torch.tensor([[0.5, 0.25, 0.125, 0.125]] * 4000))
    assert draws(exact, top_p=0.5) == reference(exact, [0], 1.0)
    assert draws(exact, top_p=0.75) == reference(exact, [0, 1], 1.0)


@pytest.mark.parametrize("text", ["x\n", "x\nT", "x\nThem"])
def test_a_held_tail_comes_out_when_the_reply_ends(text):
    assert feed(text)[1] == text.strip()
