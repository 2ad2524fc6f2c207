"""Style: per-reply features (length, emoji, case, punctuation, script, catchphrases), their means over a set of
replies (a profile), and the distance between profiles in units of each feature's spread in the training lines.
"""
from __future__ import annotations

import math
import re
from collections import Counter

EMOJI_RE = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U0001F1E6-\U0001F1FF\U00002B00-\U00002BFF\U00003030\U0000303D]")
CYRILLIC_RE = re.compile("[\u0400-\u04FF]")
TOKEN_RE = re.compile(r"\w+|[^\w\s]+")


def ngrams(text: str, max_n: int = 3) -> set[str]:
    toks = TOKEN_RE.findall(text.lower())
    return {" ".join(toks[i:i + n]) for n in range(1, max_n + 1) for i in range(len(toks) - n + 1)}


def catchphrases(owner: list[str], others: list[str], k: int, min_share: float) -> list[str]:
    """The owner's most over-represented word/punctuation n-grams (1-3) vs the other people, by smoothed
    log ratio of the share of lines containing them; nested n-grams of one already picked are skipped."""
    if not owner or not others or k <= 0:
        return []
    df_o, df_t = Counter(), Counter()
    for line in owner:
        df_o.update(ngrams(line))
    for line in others:
        df_t.update(ngrams(line))
    n_o, n_t = len(owner), len(others)
    floor = max(3, math.ceil(min_share * n_o))
    scored = []
    for g, c in df_o.items():
        if c < floor:
            continue
        score = math.log((c + 1) / (n_o + 2)) - math.log((df_t[g] + 1) / (n_t + 2))
        if score > 0:
            scored.append((-round(score, 9), -c, -g.count(" "), g))  # ties: the longer phrase first
    picked: list[str] = []
    for *_, g in sorted(scored):
        padded = f" {g} "
        if any(f" {p} " in padded or padded in f" {p} " for p in picked):
            continue
        picked.append(g)
        if len(picked) == k:
            break
    return picked


FEATURES = ("chars", "words", "emoji", "lower_start", "exclaim", "question", "ellipsis", "cyrillic", "catchphrase")


def features(text: str, phrases: list[str]) -> dict[str, float | None]:
    letters = [c for c in text if c.isalpha()]
    first = letters[0] if letters else ""
    phrase_set = set(phrases)
    return {
        "chars": float(len(text)),
        "words": float(len(text.split())),
        "emoji": float(len(EMOJI_RE.findall(text))),
        "lower_start": float(first.islower()) if first else None,
        "exclaim": float("!" in text),
        "question": float("?" in text),
        "ellipsis": float("..." in text or "\u2026" in text),
        "cyrillic": (sum(1 for c in letters if CYRILLIC_RE.match(c)) / len(letters)) if letters else None,
        "catchphrase": float(bool(phrase_set & ngrams(text))) if phrase_set else 0.0,
    }


def profile(texts: list[str], phrases: list[str]) -> dict[str, float]:
    """Mean of each feature over the texts (a feature with no value in any text -> 0)."""
    rows = [features(t, phrases) for t in texts]
    out = {}
    for f in FEATURES:
        vals = [r[f] for r in rows if r[f] is not None]
        out[f] = sum(vals) / len(vals) if vals else 0.0
    return out


def spreads(texts: list[str], phrases: list[str]) -> dict[str, float]:
    """Each feature's standard deviation over the training lines (both speakers): the distance's units."""
    rows = [features(t, phrases) for t in texts]
    out = {}
    for f in FEATURES:
        vals = [r[f] for r in rows if r[f] is not None]
        if len(vals) < 2:
            out[f] = 0.0
            continue
        mean = sum(vals) / len(vals)
        out[f] = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
    return out


def style_distance(a: dict[str, float], b: dict[str, float], scale: dict[str, float]) -> float:
    used = [f for f in FEATURES if scale.get(f, 0.0) > 1e-9]
    if not used:
        return 0.0
    return sum(abs(a[f] - b[f]) / scale[f] for f in used) / len(used)
