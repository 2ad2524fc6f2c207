"""What a single word can be, for person-name detection (doppel.redact.names); every answer cached per word form.

- Russian (Cyrillic): pymorphy3 with its Russian dictionary (pymorphy3-dicts-ru) parses every case form and
  tags first names, surnames and patronymics (grammemes Name, Surn, Patr); a word's name share is the summed
  score of those parses ("Игнату" 1.0, "Соколов" 0.67, "Вера" 0.30, "мир" 0).
- English (Latin): first names from the US census lists in the `names` package and, for other countries
  (Russian names in Latin letters included), from gender-guesser; surnames from the census list; common
  English words (lower-case entries of Webster's 2nd in `english-words`) tell "Grace period" from "Grace Hopper".
"""
from __future__ import annotations

import pickle
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple

from doppel.errors import InputError

NAME_TAGS = frozenset({"Name", "Surn", "Patr"})
# a parse from the dictionary, not a guess by suffix for an unknown word
DICTIONARY_METHOD = "DictionaryAnalyzer"
# gender-guesser's countries whose common first names count (frequency 3+ of its 1-13 scale there)
COUNTRIES = ("Great Britain", "U.S.A.", "Russia", "Ukraine", "Belarus", "Ireland", "Germany", "France",
             "Italy", "Spain", "Poland", "Sweden", "Norway", "Netherlands", "Israel", "Turkey", "India/Sri Lanka",
             "China", "Japan", "Korea", "Vietnam", "Arabia/Persia", "Kazakhstan/Uzbekistan,etc.")
FREQUENT = set("3456789ABCD")
# surname endings, Russian and other (in Latin and Cyrillic): an unknown capitalised word with one is a surname
SURNAME_END_RU = ("ов", "ев", "ёв", "ин", "ова", "ева", "ёва", "ина", "ский", "ская", "цкий", "цкая", "енко",
                  "ук", "юк", "ич", "ян", "швили", "дзе", "ову", "еву", "ину", "овой", "евой", "иной", "ского",
                  "ской", "цкого", "цкой", "ым", "ыми", "ых", "уллин", "уллина", "иев", "иева")
SURNAME_END_EN = ("ov", "ev", "ova", "eva", "in", "ina", "sky", "skiy", "skaya", "enko", "uk", "ich", "yan",
                  "son", "sen", "stein", "berg", "shvili", "dze", "wicz", "czyk", "ski", "ska")
DIMINUTIVE_SHARE = 0.75  # the full form a pet form comes from must be this surely a name
MIN_FIRST_EN = 3
LOWER_SHARE = 0.5  # a lower-case Russian word below this name share is a name only next to another part  # shorter census entries ("Al", "Jo") are mostly other words


class RuWord(NamedTuple):
    share: float       # summed score of the Name/Surn/Patr parses
    geo: float         # summed score of place-name parses (Geox)
    known: bool        # in the dictionary (not a guess by suffix)
    surname_shaped: bool
    ambiguous: bool    # a name parse whose lemma is mostly a common word (Вера, Лев, Роман: words.AMBIGUOUS_RU)
    thing: bool        # a name parse whose lemma, capitalised, is mostly a thing (Венера, Спартак: words.THINGS_RU)


def _data(package: str, *path: str) -> Path:
    """A data file of an installed package, found without importing it."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(package, "not installed: scrub.names needs it (pip install -c requirements.lock -e .)")
    return Path(list(spec.submodule_search_locations)[0]).joinpath(*path)


@lru_cache(maxsize=1)
def morph():
    import pymorphy3
    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=1 << 18)
def ru_word(lower: str) -> RuWord:
    """What pymorphy3 says of a lower-case Cyrillic word."""
    from doppel.redact.words import AMBIGUOUS_RU, THINGS_RU

    share = geo = 0.0
    known = ambiguous = thing = False
    for p in morph().parse(lower):
        dictionary = p.methods_stack[0][0].__class__.__name__ == DICTIONARY_METHOD
        known = known or dictionary
        if not dictionary:
            continue
        if NAME_TAGS & p.tag.grammemes:
            share += p.score
            ambiguous = ambiguous or p.normal_form in AMBIGUOUS_RU
            thing = thing or p.normal_form in THINGS_RU
        elif "Geox" in p.tag.grammemes:
            geo += p.score
    return RuWord(round(share, 3), round(geo, 3), known, lower.endswith(SURNAME_END_RU), ambiguous,
                  thing)


def _census(name: str) -> list[str]:
    return [line.split()[0].lower() for line in _data("names", name).read_text().splitlines() if line.strip()]


def _gender_guesser_first() -> set[str]:
    lines = _data("gender_guesser", "data", "nam_dict.txt").read_text(encoding="utf-8", errors="replace").splitlines()
    cols = [line.index(c) for line in lines if line.startswith("#") and line.endswith("$")
            for c in COUNTRIES if line[1:].strip().rstrip("$").strip() == c]
    out = set()
    for line in lines:
        if line[:1] in "MF?1" and not line.startswith("#"):
            name = line[3:29].strip()
            if name.isalpha() and name.isascii() and any(line[c:c + 1] in FREQUENT for c in cols):
                out.add(name.lower())
    return out


@lru_cache(maxsize=1)
def first_en() -> frozenset[str]:
    """First names in Latin letters, lower-case."""
    # other countries' names that are English words ("Long", "Van", "Man") are not taken from gender-guesser
    names = set(_census("dist.male.first")) | set(_census("dist.female.first")) | (_gender_guesser_first() - common_en())
    return frozenset(n for n in names if len(n) >= MIN_FIRST_EN)


@lru_cache(maxsize=1)
def last_en() -> frozenset[str]:
    """Surnames in Latin letters (US census), lower-case."""
    return frozenset(n for n in _census("dist.all.last") if len(n) >= MIN_FIRST_EN)


@lru_cache(maxsize=1)
def common_en() -> frozenset[str]:
    """Common English words: the lower-case entries of Webster's 2nd (english-words' web2 list)."""
    words = pickle.loads(_data("english_words", "data", "web2.pickle").read_bytes())
    return frozenset(w for w in words if w.islower())


def surname_shaped_en(lower: str) -> bool:
    return len(lower) >= 5 and lower.endswith(SURNAME_END_EN)


@lru_cache(maxsize=1 << 18)
def diminutive_of(lower: str) -> bool:
    """A pet form of a first name ("алиночка" -> "алина", "колян" -> "коля")."""
    from doppel.redact.words import DIMINUTIVE_BASES_RU, DIMINUTIVE_ENDS_RU

    for end in DIMINUTIVE_ENDS_RU:
        stem = lower[:-len(end)]
        if lower.endswith(end) and len(stem) >= 2:
            for base in DIMINUTIVE_BASES_RU:
                w = ru_word(stem + base)
                if w.share >= DIMINUTIVE_SHARE and not w.ambiguous and not w.thing:
                    return True
    return False


@lru_cache(maxsize=1 << 18)
def maybe_name(word: str) -> bool:
    """Could this word, as written, start a name anywhere? (picks the rows that need a closer look; a word that
    is a name part only next to another one needs no row of its own)"""
    from doppel.redact.words import COMMON_FIRST_EN, CUES_RU, TITLES

    lower = word.lower()
    if lower in TITLES or lower in CUES_RU:
        return True
    cap = word[:1].isupper()
    if lower.isascii():
        if lower in first_en():
            return cap or lower not in COMMON_FIRST_EN and lower not in common_en()
        return (cap and lower in last_en() or surname_shaped_en(lower)) and (cap or lower not in common_en())
    w = ru_word(lower)
    if cap:
        return w.share > 0 or not w.known or w.surname_shaped or diminutive_of(lower)
    return w.share >= LOWER_SHARE
