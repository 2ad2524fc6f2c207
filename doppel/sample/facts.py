"""Planted facts (`sample.facts: true`, off by default): what the owner knows, for the memory's fact recall.

In every personal chat the owner states facts about themself (city, job, pet's name, sport, car, favourite food,
what their sister does) now and then in the chat's earlier part; in its latest part (where build's val split
lies: the latest sessions) the friend asks about them and the owner's next message answers with the fact. The
rewrite is of plain text messages only, a friend's message directly followed by the owner's, seeded, streamed
(a one-message lookahead). Off, the export is byte for byte what it was without this module. The facts are
English sentences: in the English sample (`sample.language: en`) they read like the rest of the chat; in the
Russian one, like the owner's code-switching.

Values are lowercase common words, not names: scrub.names would redact a sister's or a pet's human name to <NAME>
and no reply could recall it (so the sibling fact is what the sister does).
"""
from __future__ import annotations

import random
from typing import Iterable, Iterator, NamedTuple

from doppel.sample.people import OWNER


class Fact(NamedTuple):
    key: str
    value: str            # what a reply must contain (case-insensitive) to recall the fact
    question: str         # the friend's question (late part of the chat)
    statements: tuple[str, ...]   # how the owner says it unasked (early part) and answers the question


FACTS = (
    Fact("city", "porto", "where do you live now?", ("i live in porto now", "porto is so sunny today",
                                                    "still getting used to porto")),
    Fact("job", "geologist", "what do you do for work these days?", ("i work as a geologist",
                                                                     "long day, geologist life")),
    Fact("pet", "bublik", "what's your cat called again?", ("my cat bublik ate my sock", "bublik is my cat")),
    Fact("sport", "bouldering", "what sport are you into?", ("bouldering tonight", "i do bouldering every week")),
    Fact("car", "skoda", "what car do you drive?", ("my skoda broke down again", "i drive an old skoda")),
    Fact("food", "khachapuri", "what's your favourite food?", ("khachapuri is my favourite food",
                                                              "made khachapuri again")),
    Fact("sibling", "pianist", "what does your sister do?", ("my sister is a pianist",
                                                             "went to my sister's concert, she is a pianist")),
)
STATE_P = 0.02        # an owner reply in the early part becomes a fact statement with this chance
ASK_P = 0.25          # a friend -> owner exchange in the late part becomes a fact question and its answer
LATE_SHARE = 0.15     # the chat's latest share of messages (by time) where friends ask


def _plain(m: dict) -> bool:
    return m.get("type") == "message" and isinstance(m.get("text"), str) and bool(m["text"]) and \
        "forwarded_from" not in m and "media_type" not in m and "photo" not in m and "file" not in m


def _set(m: dict, text: str) -> None:
    m["text"] = text
    m["text_entities"] = [{"type": "plain", "text": text}]


def plant(messages: Iterable[dict], chat_ts: list[int], seed: int, chat_key: str) -> Iterator[dict]:
    """A dialog's messages with facts planted (see the module doc); `chat_ts` the chat's message times."""
    rng = random.Random(f"doppel-sample:{seed}:{chat_key}:facts")
    ordered = sorted(chat_ts)
    late_from = ordered[int(len(ordered) * (1 - LATE_SHARE))] if ordered else 0
    owner = f"user{OWNER.uid}"
    asked = stated = 0
    prev: dict | None = None
    for m in messages:
        if prev is not None:
            late = int(prev["date_unixtime"]) >= late_from
            pair = _plain(prev) and _plain(m) and prev.get("from_id") != owner and m.get("from_id") == owner
            if late and pair and rng.random() < ASK_P:
                fact = FACTS[asked % len(FACTS)]
                asked += 1
                _set(prev, fact.question)
                _set(m, rng.choice(fact.statements))
            elif not late and _plain(m) and m.get("from_id") == owner and rng.random() < STATE_P:
                fact = FACTS[stated % len(FACTS)]
                stated += 1
                _set(m, rng.choice(fact.statements))
            yield prev
        prev = m
    if prev is not None:
        yield prev
