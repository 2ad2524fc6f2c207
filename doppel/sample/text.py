"""Text parts -> the export's `text` and `text_entities`; entities a plain message may be decorated with."""
from __future__ import annotations

import random

from doppel.sample.people import Chat, Person
from doppel.sample.private import ALNUM
from doppel.sample.style import A, N, S
from doppel.sample.templates import LINKS


def text_fields(parts: list[tuple[str, str, str | None]]) -> tuple[object, list[dict]]:
    if not parts:
        return "", []
    if len(parts) > 1:  # the exporter never writes two plain parts in a row
        merged = [parts[0]]
        for p in parts[1:]:
            if p[0] == "plain" and merged[-1][0] == "plain":
                merged[-1] = ("plain", merged[-1][1] + p[1], None)
            else:
                merged.append(p)
        parts = merged
    if len(parts) == 1 and parts[0][0] == "plain":
        s = parts[0][1]
        return s, [{"type": "plain", "text": s}]
    text: list[object] = []
    ents: list[dict] = []
    for typ, s, href in parts:
        if typ == "plain":
            text.append(s)
            ents.append({"type": "plain", "text": s})
        elif href is None:
            text.append({"type": typ, "text": s})
            ents.append({"type": typ, "text": s})
        else:
            text.append({"type": typ, "text": s, "href": href})
            ents.append({"type": typ, "text": s, "href": href})
    return text, ents


def decorate(rng: random.Random, chat: Chat, person: Person, text: str,
             kind: str) -> list[tuple[str, str, str | None]]:
    """A styled text as parts: rarely with a link, a mention, a bold word or a document link."""
    parts: list[tuple[str, str, str | None]] = [("plain", text, None)]
    x = rng.random() if kind in (S, A, N) else 1.0
    if x < 0.012:
        parts = [("plain", text + " ", None), ("link", LINKS[rng.randrange(len(LINKS))](rng), None)]
    elif x < 0.018 and chat.kind == "group":
        other = rng.choice([m for m in chat.members if m.name and m is not person])
        handle = "@" + other.key + rng.choice(("_k", "99", "_msk", ""))
        parts.insert(0, ("mention", handle, None))
        parts.insert(1, ("plain", ", ", None))
    elif x < 0.024 and person.style in ("masha", "oleg", "sofia"):
        words = text.split(" ")
        if len(words) > 2:
            k = rng.randrange(len(words))
            before, word, after = " ".join(words[:k]), words[k], " ".join(words[k + 1:])
            parts = [("plain", before + " ", None)] if before else []
            parts.append(("bold", word, None))
            if after:
                parts.append(("plain", " " + after, None))
    elif x < 0.03 and person.style == "sofia":
        parts = [("plain", text + " ", None),
                 ("text_link", "doc", "https://docs.google.com/document/d/"
                  + "".join(rng.choice(ALNUM) for _ in range(25)) + "/edit")]
    return [p for p in parts if p[1]] or [("plain", text, None)]
