"""Authorship: a char n-gram naive Bayes trained on the train split (the owner's replies vs the other people's
lines); a reply it attributes to the owner sounds like the owner."""
from __future__ import annotations

import math
from collections import Counter


class Authorship:
    """Multinomial naive Bayes on char 1-3-grams (case kept), owner vs others, equal priors."""

    N = (1, 2, 3)

    def __init__(self, owner: list[str], others: list[str], alpha: float = 1.0):
        c_o, c_t = Counter(), Counter()
        for line in owner:
            c_o.update(self.grams(line))
        for line in others:
            c_t.update(self.grams(line))
        vocab = set(c_o) | set(c_t)
        v = len(vocab) or 1
        tot_o, tot_t = sum(c_o.values()), sum(c_t.values())
        self.weights = {
            g: math.log((c_o[g] + alpha) / (tot_o + alpha * v)) - math.log((c_t[g] + alpha) / (tot_t + alpha * v))
            for g in vocab
        }

    @classmethod
    def grams(cls, text: str) -> list[str]:
        padded = f" {text.strip()} "
        return [padded[i:i + n] for n in cls.N for i in range(len(padded) - n + 1)]

    def score(self, text: str) -> float:
        w = self.weights
        return sum(w.get(g, 0.0) for g in self.grams(text))

    def is_owner(self, text: str) -> bool:
        return bool(text.strip()) and self.score(text) > 0

    def owner_share(self, texts: list[str]) -> float:
        return sum(self.is_owner(t) for t in texts) / len(texts) if texts else 0.0
