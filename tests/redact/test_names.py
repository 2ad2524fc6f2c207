"""redact/names.py's tokenizer: where a sentence starts (a capitalised word there is weaker evidence of a name).
The start is read by scanning back over the spaces, quotes and brackets before a word (once a slice of the whole
prefix per word: quadratic on a long message); these pin it to the rule as written."""
from __future__ import annotations

import pytest

from doppel.redact import names


def starts_by_definition(text: str) -> list[bool]:
    """The rule, read literally: what stands before the word, right-stripped of spaces, quotes and brackets,
    is empty or ends a sentence, and the previous word is no initial or title right before it."""
    out, toks = [], names._tokens(text)
    for i, t in enumerate(toks):
        before = text[:t.start].rstrip(" \t\"'«(")
        prev = toks[i - 1] if i else None
        after_title = prev is not None and (prev.init or prev.lower in names.TITLES) and prev.end >= len(before) - 1
        out.append((not before or before[-1] in names.SENTENCE_END) and not after_title)
    return out


@pytest.mark.parametrize("text, starts", [
    ("Anna came. Boris left", [True, False, True, False]),
    ("Anna came. «Boris» left", [True, False, True, False]),
    ('ok. \t"(Boris left', [True, True, False]),
    ("Dr. Watson came", [True, False, False]),
    ("А. П. Чехов писал", [True, False, False, False]),
    ("   Anna", [True]),
    ("why? Anna! Boris… Vera\nGleb", [True, True, True, True, True]),
])
def test_sentence_starts(text, starts):
    assert [t.first_of_sentence for t in names._tokens(text)] == starts == starts_by_definition(text)


def test_a_long_message_reads_like_its_parts():
    text = " ".join(["Anna said «hi». Dr. Boris (Vera) left!"] * 400)
    toks = names._tokens(text)
    assert len(toks) == 400 * 7 and [t.first_of_sentence for t in toks] == starts_by_definition(text)
