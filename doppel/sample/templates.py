"""Template filling: {slot} values, gender agreement, the "\\0" value mark; links a message may carry."""
from __future__ import annotations

import random

from doppel.sample.private import ALNUM
from doppel.sample.words import SLOTS


class _Slots(dict):
    """format_map source: each {slot} draws a random value; {v} marks the planted/decoy value;
    {m/f} agrees with the speaker's grammatical gender, {m|f} with the addressee's. With a `memo` (the
    conversation's slot values so far), a slot already drawn keeps its value: a question about a film gets an
    answer about the same film."""

    def __init__(self, rng: random.Random, lang: str, fem: bool = False, addr_fem: bool = False,
                 memo: dict[str, str] | None = None):
        super().__init__()
        self.rng = rng
        self.table = SLOTS[lang]
        self.fem = fem
        self.addr_fem = addr_fem
        self.memo = memo

    def __missing__(self, key: str) -> str:
        if key == "v":
            return "\0"
        if "/" in key:
            m, f = key.split("/")
            return f if self.fem else m
        if "|" in key:
            m, f = key.split("|")
            return f if self.addr_fem else m
        if self.memo is None:
            return self.rng.choice(self.table[key])
        if key not in self.memo:
            self.memo[key] = self.rng.choice(self.table[key])
        return self.memo[key]


def fill(template: str, rng: random.Random, lang: str, fem: bool = False, addr_fem: bool = False,
         memo: dict[str, str] | None = None) -> str:
    if "{" not in template:
        return template
    slots = _Slots(rng, lang, fem, addr_fem, memo)
    text = template.format_map(slots)
    return text.format_map(slots) if "{" in text else text  # slot values may agree in gender too


LINKS = (
    lambda r: "https://www.youtube.com/watch?v=" + "".join(r.choice(ALNUM + "_-") for _ in range(11)),
    lambda r: f"https://habr.com/ru/articles/{r.randrange(700000, 870000)}/",
    lambda r: f"https://www.kinopoisk.ru/film/{r.randrange(300, 5000000)}/",
    lambda r: "https://maps.app.goo.gl/" + "".join(r.choice(ALNUM) for _ in range(17)),
    lambda r: "https://github.com/" + r.choice(("Lightning-AI/litgpt", "pola-rs/polars", "iterative/dvc")),
    lambda r: "https://t.me/" + r.choice(("durov", "habr_com", "meduzalive", "climbing_msk")),
)
