"""The placeholder guard (doppel.model.constraints) and the placeholder share in reports/evaluation.json."""
from __future__ import annotations

import torch

from doppel.evaluation.placeholders import share, shares
from doppel.model.constraints import PlaceholderGuard
from doppel.model.sampling import sample_next

VOCAB = ["a", " b", "<", "<PH", "ONE>", "PHONE>", "<3", " <EMAIL>", "Hi", "x<", "<p", "ok<N",
         "NAME", "хNAME", " INN", "NAMES", "Name", "INNER", "CARD.", "SEED_PHRASE", "NAM", None, "name", "<EMAIL>"]


class FakeTokenizer:
    def decode(self, ids: torch.Tensor) -> str:
        return "".join(VOCAB[int(i)] for i in ids)  # None: an id the tokenizer cannot decode (TypeError)


def guard() -> PlaceholderGuard:
    return PlaceholderGuard(FakeTokenizer(), len(VOCAB) + 2)  # a padded table: ids past the vocabulary


def banned(logits: torch.Tensor) -> set[int]:
    return {i for i, v in enumerate(logits.tolist()) if v == float("-inf")}


def test_banned_tokens():
    out = guard().apply(torch.zeros(1, len(VOCAB) + 2))
    assert banned(out[0]) == {VOCAB.index(t) for t in ("<", "<PH", " <EMAIL>", "x<", "ok<N", "PHONE>", "NAME",
                                                        "хNAME", " INN", "CARD.", "SEED_PHRASE", "<EMAIL>")}
    # "<3", "<p", a type's name inside a longer Latin word or not in capitals, and a piece of a name, stay; an
    # id that cannot be decoded (in the middle, or past the vocabulary) is skipped, the ones after it still checked


def test_nothing_to_ban_leaves_the_logits_as_they_are():
    class Plain:
        def decode(self, ids):
            return "abc"[int(ids[0])]
    g = PlaceholderGuard(Plain(), 3)
    logits = torch.randn(2, 3)
    assert g.banned == [] and g.apply(logits) is logits


def test_input_untouched_and_sampling_never_picks_banned():
    g = guard()
    logits = torch.zeros(4, len(VOCAB) + 2)
    logits[:, VOCAB.index("<PH")] = 50.0  # the model wants a placeholder
    before = logits.clone()
    out = g.apply(logits)
    assert torch.equal(logits, before)
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        assert VOCAB.index("<PH") not in sample_next(out, 1.0, None, 1.0, gen).tolist()
    assert sample_next(out, 0.0, None, 1.0, None).tolist()[0] != VOCAB.index("<PH")


def test_share():
    assert share([]) == 0.0
    assert share(["<PHONE> обновился до)))", "ok", "base: <PHONE: нормально?", "<3 <p> <b>"]) == 0.5
    assert shares(["<NAME>"], ["hi"]) == {"placeholder_share_base": 1.0, "placeholder_share_tuned": 0.0}
    # the bare name counts too (both forms); a longer Latin word or another case does not
    assert share(["давай the до трёхNAME прошли"]) == 1.0 and share(["PHONE> ок"]) == 1.0
    for text in ["NAMES", "Name", "name", "INNER", "CARDs", "xNAME"]:
        assert share([text]) == 0.0, text
