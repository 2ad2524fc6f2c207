"""Person names -> <NAME> (scrub.names), Russian and English: first names, surnames, patronymics, initials.

What a word can be comes from doppel.redact.lexicon (pymorphy3 for Russian in every case form; census name
lists and a common-word list for English). Whether it is a name *here* is decided by case, position and
neighbours:

- a word that is almost only a name (pymorphy share >= STRONG_SHARE: "Игнату", "ксенией", "Павловны", "саша")
  is one in any case and position; a capitalised known English first name too ("James", "Hannah");
- a word that is a name or a common word ("Вера", "Соколов", "Will", "Grace") is one when capitalised
  mid-sentence (not after a determiner or, for Russian places, a place preposition), or next to a name part
  that is ("Вера Павловна", "Will Carter");
- after a title (Mr, Mrs, Dr, Prof, господин ...) a capitalised word is a surname; after a first name a
  capitalised surname-like word; initials ("А.П.") next to a surname; a lower-case English first name only
  with a lower-case surname after it ("hannah prescott");
- never: @handles, #tags, parts of links, placeholders, words in all capitals, words after "улица", "метро"...

Contiguous name parts become one <NAME>; a title stays ("Mrs. <NAME>").

How it stays fast: the unique words of the column are looked up once (Polars explode + a cached Python test);
only rows with a word that may be a name part go through Python.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from doppel.redact import lexicon as lx
from doppel.redact.words import (
    ADDRESS_BEFORE_EN, COMMON_FIRST_EN, CUES_RU, DETERMINERS_EN, MONTHS_DAYS_EN, MOTION_EN, PERSON_PREP_RU,
    PLACE_PREP_EN,
    PLACE_PREP_RU,
    STOP_EN, STOP_RU, STREET_RU, TITLES,
)

WORD_RE = r"[A-Za-zА-Яа-яЁё]{2,}"  # the row filter's words (Polars regex), as written (case decides)
INITIALS_RE = r"(?:^|[^A-Za-zА-Яа-яЁё])[A-ZА-ЯЁ]\.(?: ?[A-ZА-ЯЁ]\.)?(?: [А-ЯЁA-Z]|$|[ ,;])"
TOKEN_PY = re.compile(r"(?P<init>(?<![A-Za-zА-Яа-яЁё])[A-ZА-ЯЁ]\.)"
                      r"|(?P<word>[A-Za-zА-Яа-яЁё]+(?:['’][A-Za-z]{2,}|-[A-Za-zА-Яа-яЁё]+)*)")
STRONG_SHARE = 0.75     # pymorphy name share at which a word is a name wherever it stands
START_SHARE = 0.5       # ... capitalised at a sentence start (not an ambiguous one: "Вера в себя")
CAP_SHARE = 0.05        # ... capitalised mid-sentence
SENTENCE_END = ".!?…\n"
OPENERS = " \t\"'«("             # what may stand between a sentence's end and its first word
NOT_A_WORD_BEFORE = "@#/<_\\"   # @handle, #tag, a link's path, a placeholder, a login's tail
JOIN_GAPS = (" ", "")            # what may stand between two parts of one name
LOGIN_GAPS = (".", "_")          # ... in a login made of a name ("artem.sokolov")
ACCEPT, CHAIN, NONE = 2, 1, 0   # a name part here / only next to one / not a name part


@dataclass
class Tok:
    start: int
    end: int
    text: str
    lower: str
    init: bool
    cap: bool
    latin: bool
    first_of_sentence: bool
    role: int = NONE


def _tokens(text: str) -> list[Tok]:
    toks: list[Tok] = []
    for m in TOKEN_PY.finditer(text):
        word = m.group(0)
        if m.group("init") is None and (m.start() and text[m.start() - 1] in NOT_A_WORD_BEFORE
                                         or text[m.end():m.end() + 1].isdigit() or m.start() and text[m.start() - 1].isdigit()):
            continue
        before = _end_before(text, m.start())
        prev_init_or_title = toks and (toks[-1].init or toks[-1].lower in TITLES) and toks[-1].end >= before - 1
        start = (not before or text[before - 1] in SENTENCE_END) and not prev_init_or_title
        lower = word.lower().removesuffix("'s").removesuffix("’s")
        toks.append(Tok(m.start(), m.end(), word, lower, m.group("init") is not None,
                        word[0].isupper() and not (len(word) > 1 and word.isupper()), word.isascii(), start))
    return toks


def _end_before(text: str, start: int) -> int:
    """Where the text before `start` ends once the spaces, quotes and brackets right before it are skipped
    (0: nothing before). Scans back only over those: a slice of the whole prefix per token was quadratic."""
    i = start
    while i and text[i - 1] in OPENERS:
        i -= 1
    return i


def _ru_role(t: Tok, prev: Tok | None) -> int:
    if t.lower in STOP_RU or not t.cap and t.text != t.lower:
        return NONE
    before = prev.lower if prev is not None and prev.end >= t.start - 2 else ""
    if before in STREET_RU:
        return NONE
    w = lx.ru_word(t.lower)
    if before in PLACE_PREP_RU and w.geo > 0:
        return NONE
    if w.thing:
        return CHAIN
    if before in CUES_RU and (w.share >= CAP_SHARE or w.surname_shaped):
        return ACCEPT
    sure = not w.ambiguous and (w.share >= STRONG_SHARE or t.cap and lx.diminutive_of(t.lower))
    if sure or not t.cap and not w.ambiguous and w.share >= START_SHARE and (
            w.share + w.geo >= STRONG_SHARE or before in PERSON_PREP_RU):
        return ACCEPT
    if t.cap and t.first_of_sentence and not w.ambiguous and w.share >= START_SHARE:
        return ACCEPT
    if t.cap and not t.first_of_sentence and (w.share >= CAP_SHARE or w.surname_shaped):
        return ACCEPT  # mid-sentence a Russian common noun is lower-case: "звонил Орехов", "у Лапина"
    if w.share >= CAP_SHARE or t.cap and not w.known:
        return CHAIN
    return NONE


def _en_role(t: Tok, prev: Tok | None, nxt_char: str, before2: str) -> int:
    low = t.lower
    if low in STOP_EN or low in TITLES or low in MONTHS_DAYS_EN:
        return NONE
    first = low in lx.first_en()
    if not t.cap:  # "tell ivan", "hannah prescott", "maria ivanova"; never "will" alone
        if not first or low in COMMON_FIRST_EN:
            return NONE
        return ACCEPT if prev is not None and prev.lower in ADDRESS_BEFORE_EN and low not in lx.common_en() \
            else CHAIN
    after_det = prev is not None and (prev.lower in DETERMINERS_EN or prev.lower in PLACE_PREP_EN
                                      or prev.lower == "to" and before2 in MOTION_EN)
    if first and low not in COMMON_FIRST_EN and not after_det:
        return CHAIN if t.first_of_sentence and low in lx.common_en() and nxt_char != "," else ACCEPT
    if first and not after_det and (not t.first_of_sentence or nxt_char == ","):  # "ask Mark", "Bill, can you"
        return ACCEPT
    surname = low in lx.last_en() or lx.surname_shaped_en(low)
    if not t.first_of_sentence and not after_det and lx.surname_shaped_en(low) and low not in lx.common_en():
        return ACCEPT
    return CHAIN if first or surname or low not in lx.common_en() else NONE


def _adjacent(text: str, a: Tok, b: Tok) -> bool:
    gap = text[a.end:b.start]
    return gap in JOIN_GAPS or a.latin and b.latin and gap in LOGIN_GAPS and a.cap == b.cap


def _surname_after(t: Tok, nxt: Tok) -> bool:
    """`nxt` is a surname after the first name `t` (English): capitalised like it, not a common word unless a
    census surname ("Will Carter", "hannah prescott", "Grace Hopper")."""
    low = nxt.lower
    if not nxt.latin or low in STOP_EN or low in MONTHS_DAYS_EN or nxt.init:
        return False
    if nxt.cap:
        if t.first_of_sentence and t.lower in lx.common_en() and t.lower not in COMMON_FIRST_EN \
                and low in lx.common_en():
            return False  # "Long Beach": a word that is a first name elsewhere, then a common word
        return t.cap and (low in lx.last_en() or lx.surname_shaped_en(low) or low not in lx.common_en())
    return not t.cap and (low in lx.last_en() or lx.surname_shaped_en(low)) and low not in lx.common_en()


def _surname_like(t: Tok) -> bool:
    if t.latin:
        return t.lower in lx.last_en() or lx.surname_shaped_en(t.lower) or t.lower not in lx.common_en()
    w = lx.ru_word(t.lower)
    return w.share > 0 or w.surname_shaped or not w.known


def _roles(text: str, toks: list[Tok]) -> None:
    for i, t in enumerate(toks):
        prev = toks[i - 1] if i else None
        if t.init:
            t.role = CHAIN
        elif prev is not None and prev.lower in TITLES and t.cap and text[prev.end:t.start].strip(" .") == "":
            t.role = ACCEPT
        else:
            before2 = toks[i - 2].lower if i >= 2 else ""
            t.role = _en_role(t, prev, text[t.end:t.end + 1], before2) if t.latin else _ru_role(t, prev)
    for a, b in zip(toks, toks[1:]):  # English first name + surname, both ways of writing
        if a.latin and a.lower in lx.first_en() and (a.role >= CHAIN or a.lower in MONTHS_DAYS_EN) \
                and _adjacent(text, a, b) and _surname_after(a, b):
            a.role = b.role = ACCEPT
        elif a.latin and b.latin and a.cap and b.cap and a.role == b.role == CHAIN and _adjacent(text, a, b) \
                and (a.lower not in lx.common_en() or b.lower not in lx.common_en()) \
                and (b.lower in lx.last_en() or lx.surname_shaped_en(b.lower)):
            a.role = b.role = ACCEPT  # a full name whose first name no list has ("Bartholomew Finch", "Peregrine
            # Ashdown"); not two common words ("Long Beach")
    for a, b in zip(toks, toks[1:]):  # a capitalised word next to initials ("Лыкова О.Н.", "A. Smith")
        word = b if a.init else a if b.init else None
        if word is not None and not word.init and word.cap and word.role < ACCEPT and _adjacent(text, a, b) \
                and word.lower not in STOP_RU and word.lower not in STOP_EN and _surname_like(word):
            word.role = ACCEPT
    changed = True
    while changed:  # a CHAIN part next to an accepted one is accepted (initials, "Вера Павловна")
        changed = False
        for a, b in zip(toks, toks[1:]):
            if _adjacent(text, a, b) and {a.role, b.role} == {ACCEPT, CHAIN} and _joins(a) and _joins(b):
                a.role = b.role = ACCEPT
                changed = True


def _joins(t: Tok) -> bool:
    """A lower-case Latin word joins a name only as the surname after a first name ("hannah prescott"), never
    by the chain ("see Golden Gate")."""
    return t.role == ACCEPT or t.cap or not t.latin


@lru_cache(maxsize=1 << 16)
def redact_row(text: str) -> str:
    """The text with each person name (title kept) replaced by <NAME>."""
    toks = _tokens(text)
    if not toks:
        return text
    _roles(text, toks)
    out, pos, i = [], 0, 0
    while i < len(toks):
        if toks[i].role != ACCEPT or toks[i].init and not _chain_has_word(text, toks, i):
            i += 1
            continue
        j = i
        while j + 1 < len(toks) and toks[j + 1].role == ACCEPT and _adjacent(text, toks[j], toks[j + 1]):
            j += 1
        out += [text[pos:toks[i].start], "<NAME>"]
        pos = toks[j].end
        i = j + 1
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _chain_has_word(text: str, toks: list[Tok], i: int) -> bool:
    """Initials alone ("А.П.") are no name: the chain from toks[i] must hold a word."""
    j = i
    while j < len(toks) and toks[j].role == ACCEPT and (j == i or _adjacent(text, toks[j - 1], toks[j])):
        if not toks[j].init:
            return True
        j += 1
    return False


def name_rows(s: pl.Series) -> pl.Series:
    """Rows with a word that may start a name, or with initials (the only rows `redact_names` can change).
    Chats repeat themselves: the words of each distinct text are looked at once."""
    texts = s.drop_nulls().unique()
    words = texts.str.extract_all(WORD_RE)
    vocab = words.explode().drop_nulls().unique()
    names = pl.Series([w for w in vocab.to_list() if lx.maybe_name(w)], dtype=pl.String)
    hit = words.list.eval(pl.element().is_in(names.implode())).list.any() if len(names) else \
        pl.Series([False] * len(texts), dtype=pl.Boolean)
    hit = hit | texts.str.contains(INITIALS_RE)
    return s.is_in(texts.filter(hit.fill_null(False)).implode()).fill_null(False).alias("need")


def redact_names(s: pl.Series) -> pl.Series:
    """Names -> <NAME> in every row (call it on the rows `name_rows` picked)."""
    return s.map_elements(redact_row, return_dtype=pl.String, skip_nulls=True)
