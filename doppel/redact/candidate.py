"""Pass B of redaction: one candidate (a number with an optional keyword in front, an IBAN, a base58 address,
a run of lowercase words) -> its replacement, or itself when nothing in it validates."""
from __future__ import annotations

import re
from functools import lru_cache

from doppel.redact.bip39 import WORDS as BIP39_WORDS
from doppel.redact.patterns import (
    LOCAL7, PASSPORT_AFTER, PASSPORT_ALNUM, PASSPORT_NO, PASSWORD_BARE, PH, SEED_RUN, SOLANA_RE,
)
from doppel.redact.shapes import redact_bare_password, redact_ru_account, solana_ok, xrp_ok
from doppel.redact.validators import classify_number, crypto_base58_ok, iban_ok

KW_PY = re.compile(
    r"(?:^|[^A-Za-zа-яёА-ЯЁ])(?P<kw>инн|снилс|паспорт[а-яё]*|пасп\.|серия|серии|карт[а-яё]*|тел[а-яё]*\.?|моб[а-яё.]*"
    r"|ватсап|вотсап|вайбер|р/сч?|р\\с|к/с|сч[её]т[а-яё]*|inn|snils|passport|card|phone|tel|mobile|whatsapp|viber"
    r"|account|acct|acc"
    r"|заказ[а-яё]*|трек[а-яё\-]*|артикул[а-яё]*|накладн[а-яё]*|order|tracking|track|sku|id)"
    r"|(?P<sign>[№#])[ \t]*",
    re.IGNORECASE,
)
KW_TYPE = (  # keyword prefix -> what a number after it is (ID: a label, leave the number; else PHONE)
    ("заказ", "ID"), ("трек", "ID"), ("артикул", "ID"), ("накладн", "ID"), ("order", "ID"), ("track", "ID"),
    ("sku", "ID"), ("id", "ID"), ("инн", "INN"), ("inn", "INN"), ("снилс", "SNILS"), ("snils", "SNILS"),
    ("паспорт", "PASSPORT"), ("passport", "PASSPORT"), ("пасп", "PASSPORT"), ("сери", "PASSPORT"), ("карт", "CARD"),
    ("card", "CARD"), ("р/с", "ACCOUNT"), ("р\\с", "ACCOUNT"), ("к/с", "ACCOUNT"), ("сч", "ACCOUNT"), ("acc", "ACCOUNT"),
)
GROUP_PY = re.compile(r"[0-9]+")
LEADS, BLANKS = "+(", " \t"  # what goes with a number in front of it: "+7 ...", "(495) ...", "+ 7 ..."


def _keyword_type(word: str | None) -> str:
    if not word:
        return "ID"  # № or #
    w = word.lower()
    for prefix, t in KW_TYPE:
        if w.startswith(prefix):
            return t
    return "PHONE"


def redact_numbers(m: str, start: int, kw: str | None) -> str:
    """Replace the validated digit spans in m[start:]: greedy, the longest span of digit groups first.

    A span is a run of digit groups; after its first two groups every group has 2+ digits ("8 912 345 67 89",
    "+33 6 12 34 56 78", "4111 1111 ..."), which also keeps long lists of single digits cheap.
    """
    groups = [(g.start(), g.end()) for g in GROUP_PY.finditer(m, start)]
    n = len(groups)
    cum = [0]
    for s, e in groups:
        cum.append(cum[-1] + e - s)
    out, pos, i = [], 0, 0
    while i < n:
        found = None
        last = i
        while last + 1 < n and last - i < 11 and (last == i or groups[last + 1][1] - groups[last + 1][0] >= 2):
            last += 1
        for j in range(last, i - 1, -1):
            nd, ng = cum[j + 1] - cum[i], j - i + 1
            if not 6 <= nd <= 19:
                continue
            lo = groups[i][0]
            while lo > start and (m[lo - 1] in LEADS or (m[lo - 1] in BLANKS and lo - 1 > start and m[lo - 2] == "+")):
                lo -= 1
            # Spans classify_number would refuse anyway, skipped for speed (so `make mutate` leaves these lines
            # alone): no keyword and no +, and under 10 digits (but 123-45-67), 12 in groups, or 13+ in more than
            # 5 groups or not starting like a card.
            if kw is None and m[lo] != "+" and (  # pragma: no mutate
                (nd < 10 and (nd, ng) != (7, 3)) or (nd == 12 and ng > 1)  # pragma: no mutate
                or (nd > 12 and (m[groups[i][0]] not in "23456" or ng > 5))  # pragma: no mutate
            ):
                continue
            kind = classify_number(
                m[lo:groups[j][1]].lstrip("("), [m[s:e] for s, e in groups[i:j + 1]],
                [m[groups[k][1]:groups[k + 1][0]] for k in range(i, j)], kw,
            )
            if kind:
                found = (lo, groups[j][1], kind, j)
                break
        if found:
            lo, hi, kind, j = found
            if kind == "PASSPORT":  # a letter series in front: "passport AB 1234567"
                pre = re.search(r"[A-ZА-Я]{1,2} ?$", m[start:lo])
                lo = lo - len(pre.group(0)) if pre else lo
            out += [m[pos:lo], PH[kind]]
            pos, i = hi, j + 1
        else:
            i += 1
    if not out:
        return m
    out.append(m[pos:])
    return "".join(out)


WORD_PY = re.compile(r"[A-Za-z]+")


def redact_seed(m: str, min_words: int = 12) -> str:
    """Runs of `min_words`+ consecutive BIP39 words become <SEED_PHRASE> (12: a seed phrase with no keyword)."""
    words = list(WORD_PY.finditer(m))
    out, pos, i = [], 0, 0
    while i < len(words):
        j = i
        while j < len(words) and words[j].group(0).lower() in BIP39_WORDS and (
            j == i or words[j].group(0).islower()
        ):
            j += 1
        if j - i >= min_words:
            out += [m[pos:words[i].start()], PH["SEED_PHRASE"]]
            pos, i = words[j - 1].end(), j
        else:
            i = max(j, i + 1)
    if not out:
        return m
    out.append(m[pos:])
    return "".join(out)


PASSPORT_RU_PY = re.compile(r"[0-9]{2} ?[0-9]{2}[ \t]*(?:№|n|no\.?|номер|#)[ \t]*[0-9]{6}\b", re.IGNORECASE)
IBAN_PY = re.compile(r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?")
SEED_PY = re.compile(SEED_RUN)
BASE58_PY = re.compile(r"[13LMDT][1-9A-HJ-NP-Za-km-z]{25,34}")


# the same regexes for Python's re: its ASCII \b for the Rust syntax (?-u:\b)
SOLANA_PY, LOCAL7_PY, PASSPORT_AFTER_PY, PASSPORT_ALNUM_PY, PASSPORT_NO_PY, PASSWORD_BARE_PY = (
    re.compile(p.replace("(?-u:\\b)", r"\b"), re.ASCII)
    for p in (SOLANA_RE, LOCAL7, PASSPORT_AFTER, PASSPORT_ALNUM, PASSPORT_NO, PASSWORD_BARE)
)
NUM_PY = re.compile(r"[0-9]{2} ?[0-9]{2} ?(?:№ ?)?[0-9]{6}")
ALNUM_TAIL_PY = re.compile(r"[A-Z0-9]{6,12}$")


def _shapes(m: str) -> str | None:
    """The shapes of issue 12 that a whole candidate can be: its replacement, m itself (seen, not private),
    or None (not one of these shapes)."""
    if PASSPORT_AFTER_PY.fullmatch(m):
        num = NUM_PY.match(m)
        return PH["PASSPORT"] + m[num.end():]
    if PASSPORT_ALNUM_PY.fullmatch(m):
        tail = ALNUM_TAIL_PY.search(m)
        return m[:tail.start()] + PH["PASSPORT"] if any(c.isdigit() for c in tail.group(0)) else m
    if SOLANA_PY.fullmatch(m):
        return PH["CRYPTO_ADDRESS"] if xrp_ok(m) or solana_ok(m) else m
    if LOCAL7_PY.fullmatch(m):
        return PH["PHONE"]
    if PASSPORT_NO_PY.fullmatch(m):
        return PH["PASSPORT"]
    if PASSWORD_BARE_PY.fullmatch(m):
        return redact_bare_password(m)
    return None


def _redact_candidate(m: str) -> str:
    """Pass B: the replacement for one candidate (itself when nothing in it validates)."""
    if IBAN_PY.fullmatch(m):
        parts = m.split()
        for k in range(len(parts), 0, -1):  # "DE89 3704 0044 0532 0130 00 EUR": trim trailing groups
            compact = "".join(parts[:k])
            if iban_ok(compact):
                return PH["IBAN"] + (" " + " ".join(parts[k:]) if k < len(parts) else "")
    if BASE58_PY.fullmatch(m):
        return PH["CRYPTO_ADDRESS"] if crypto_base58_ok(m) else m
    if SEED_PY.fullmatch(m):
        return redact_seed(m)
    if (shaped := _shapes(m)) is not None:
        return shaped
    km = KW_PY.match(m)
    if km and (im := IBAN_PY.search(m)) and iban_ok(im.group(0).replace(" ", "")):  # "account IBAN: .."
        return m[:im.start()] + redact_candidate(im.group(0)) + m[im.end():]
    if (acc := redact_ru_account(m, bool(km) and _keyword_type(km.group("kw")) == "ACCOUNT")) is not None:
        return acc
    if km:
        if (pm := PASSPORT_RU_PY.search(m)) and _keyword_type(km.group("kw")) == "PASSPORT":
            return m[:pm.start()] + PH["PASSPORT"] + m[pm.end():]
        kw = _keyword_type(km.group("kw"))
        return m if kw == "ID" else redact_numbers(m, km.end(), kw)
    return redact_numbers(m, 0, None)


# cached apart from its definition: a decorated function is not mutated by `make mutate`
redact_candidate = lru_cache(maxsize=1 << 17)(_redact_candidate)
