"""`doppel scrub`: replace private data in message texts with typed placeholders (Russian and English).

Placeholders: <PHONE> <EMAIL> <CARD> <IBAN> <PASSPORT> <INN> <SNILS> <SECRET> <SEED_PHRASE> <CRYPTO_ADDRESS>.

How it stays fast (1M generated messages in ~0.7 s on one core): everything that touches every row is a
Polars (Rust regex) expression over the whole column; Python only sees the few unique candidate substrings.

1. `TRIGGERS` (two regex scans) pick the rows that may hold anything (~3%); all later work runs on those only.
2. Shapes that need no validation are replaced with `str.replace_all`: e-mails, API keys and tokens (sk-,
   ghp_, AKIA.., JWT, bot tokens, ...), ETH / bech32 / TON addresses.
3. Validated passes: a regex extracts candidates (`str.extract_all`), the unique candidates go through Python
   validators (phonenumbers, Luhn, IBAN mod-97, INN / SNILS checksums, base58check, the BIP39 wordlist), and
   each validated candidate gets its replacement string. The same regex then wraps every candidate in marker
   characters (`str.replace_all`), `str.replace_many` swaps exactly the wrapped validated ones (a wrapped key
   can never match inside a longer number), and the markers go.
   Pass A: "password: ...", "пароль от почты - ...", "pin 1234", ... (keyword + value).
   Pass B: numbers (phones, cards, INN, SNILS, passports with a keyword nearby), IBANs, base58 addresses,
   runs of 12+ lowercase words (seed phrases).
4. Safety net: whatever still matches `PII_PATTERN` is replaced unconditionally, so the dataset check built on
   `PII_PATTERN` can never fail on scrubbed text. `PII_PATTERN` has no anchors or word boundaries and no
   class that takes a newline, so no piece of a scrubbed text, and no texts joined by newlines, match either.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from functools import lru_cache
from pathlib import Path

import phonenumbers
import polars as pl

from doppel.bip39 import WORDS as BIP39_WORDS
from doppel.errors import InputError

TYPES = (
    "PHONE", "EMAIL", "CARD", "IBAN", "PASSPORT", "INN", "SNILS", "SECRET", "SEED_PHRASE", "CRYPTO_ADDRESS",
)
PH = {t: f"<{t}>" for t in TYPES}
# The export's own entity types (ingest passes them as PHONE/EMAIL/CARD; the raw names are accepted too).
HINT_TYPES = {"phone": "PHONE", "email": "EMAIL", "bank_card": "CARD", **{t: t for t in TYPES}}

B = r"(?-u:\b)"  # ASCII word boundary: the lazy DFA handles it on Cyrillic text (a Unicode \b would not)
CYR = "а-яёА-ЯЁ"
SEP = r"[ \t\u00a0()\-\u2010-\u2015]"  # what may stand between the digits of one number

# --------------------------------------------------------------------------- always-redacted shapes

EMAIL_RE = (
    rf"[A-Za-z0-9{CYR}._%+\-]+@[A-Za-z0-9{CYR}](?:[A-Za-z0-9{CYR}\-]*[A-Za-z0-9{CYR}])?"
    rf"(?:\.[A-Za-z0-9{CYR}](?:[A-Za-z0-9{CYR}\-]*[A-Za-z0-9{CYR}])?)*\.[A-Za-z{CYR}]{{2,24}}"
)
# The shapes below are redacted whatever the validators say. None has a word boundary, so no longer number
# around one, and no text cut later in the middle of a number, can leave a matching shape behind.
# +7 / +1 and 10 more digits, +44 and 9-10:
PII_PHONE_RE = r"\+[ \t]?(?:7|1)(?:[ \t\u00a0().\-]{0,2}[0-9]){10}|\+[ \t]?44(?:[ \t\u00a0().\-]{0,2}[0-9]){9,10}"
# 4 groups of 4 digits that start like a card (Visa 4, MC 5 / 22-27, Mir 220x, Amex/JCB 3, Maestro 6), Luhn
# or not ("2020 2021 2022 2023", a list of years, starts with 20: not a card):
PII_CARD_RE = r"(?:[3-6][0-9]{3}|2[2-7][0-9]{2})[ \-][0-9]{4}[ \-][0-9]{4}[ \-][0-9]{4}"
PII_PARTS = {"EMAIL": EMAIL_RE, "PHONE": PII_PHONE_RE, "CARD": PII_CARD_RE}
PII_PATTERN = "|".join(f"(?:{p})" for p in PII_PARTS.values())

SECRET_TOKEN_RE = "|".join([
    rf"{B}sk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_\-]{{20,}}",          # OpenAI / Anthropic style
    rf"{B}(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{{16,}}",                  # Stripe
    rf"{B}gh[pousr]_[A-Za-z0-9]{{30,}}",                                   # GitHub
    rf"{B}github_pat_[A-Za-z0-9_]{{30,}}",
    rf"{B}glpat-[A-Za-z0-9_\-]{{20,}}",                                    # GitLab
    rf"{B}(?:hf|npm)_[A-Za-z0-9]{{30,}}",                                  # Hugging Face, npm
    rf"{B}xox[abposr]-[A-Za-z0-9\-]{{10,}}",                               # Slack
    rf"{B}AIza[0-9A-Za-z_\-]{{35}}",                                       # Google API key
    rf"{B}(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{{16}}{B}",  # AWS key id
    rf"{B}[0-9]{{6,12}}:[A-Za-z0-9_\-]{{30,}}",                            # Telegram bot token
    rf"{B}eyJ[A-Za-z0-9_\-]{{5,}}\.eyJ[A-Za-z0-9_\-]{{5,}}\.[A-Za-z0-9_\-]*",  # JWT
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.)*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
])
CRYPTO_RE = "|".join([
    rf"{B}0x[0-9a-fA-F]{{40}}{B}",                                          # ETH / EVM
    rf"{B}(?:bc1|tb1|ltc1)[02-9ac-hj-np-z]{{25,87}}{B}",                     # bech32 (BTC, LTC)
    rf"{B}(?:BC1|TB1)[02-9AC-HJ-NP-Z]{{25,87}}{B}",
    rf"{B}[EUk0]Q[A-Za-z0-9_\-]{{46}}",                                     # TON user-friendly
    rf"(?:{B}|-)[01]:[0-9a-fA-F]{{64}}{B}",                                 # TON raw
])
SIMPLE_PASSES = (("EMAIL", EMAIL_RE), ("SECRET", SECRET_TOKEN_RE), ("CRYPTO_ADDRESS", CRYPTO_RE))

# --------------------------------------------------------------------------- validated candidates

# Pass A: a secret keyword, up to 3 words, a separator, a value (or a seed phrase after the keyword).
SECRET_KW = (
    r"(?:"
    rf"{B}(?i:passwords?|passwd|passcode|passphrase|pass|pwd|pin(?:[ \-]?code)?|cvv2?|cvc2?|secret(?:[ _\-]?key)?"
    r"|client[ _\-]?secret|api[ _\-]?key|apikey|access[ _\-]?key|(?:access|auth|api|bearer|refresh)[ _\-]?token"
    r"|token|private[ _\-]?key|aws_secret_access_key|otp|2fa|(?:verification|sms|login|security)[ _\-]?code)"
    rf"|(?:^|[^A-Za-z{CYR}])"
    r"(?i:парол[а-яё]*|пасс|пин(?:[ \-]?код[а-яё]*)?|код[а-яё]* (?:доступа|из смс|из sms|подтверждения)"
    r"|секретн[а-яё]* (?:ключ|слово|код|фраз[а-яё]*)|токен[а-яё]*|(?:api|апи)[ \-]?ключ[а-яё]*"
    r"|ключ[а-яё]* (?:api|апи|доступа)|приватн[а-яё]* ключ[а-яё]*)"
    r")"
)
SEED_RUN = r"[A-Za-z][a-z]{2,7}(?:[ \t\r\n,.;]+(?:[0-9]{1,2}[.)][ \t]*)?[a-z]{3,8}){11,}"
SECRET_RE = (
    rf"{SECRET_KW}(?:[ \t]+[^\s:=<]{{1,24}}){{0,3}}"
    r"(?:[ \t]*[:=][ \t]*|[ \t]+(?i:is|was|это|будет)[ \t]+|[ \t]*[\-\u2013\u2014][ \t]*|[ \t]+)"
    rf"(?:{SEED_RUN}{B}|[^\s<]{{3,}})"
)
# Pass B: numbers (with an optional keyword in front), IBANs, base58 addresses, seed phrases.
NUM_KW = (
    r"(?:"
    rf"(?:(?:^|[^A-Za-z{CYR}])(?i:инн|снилс|паспорт[а-яё]*|серия|серии|карт(?:а|у|ы|е|ой|очка|очку|очки)"
    r"|тел(?:ефон)?[а-яё]*\.?|моб(?:ильный|\.)?|ватсап|вотсап|вайбер)"
    rf"|{B}(?i:inn|snils|passport|card|phone|tel|mobile|whatsapp|viber))"
    rf"(?:[^0-9\n<A-Za-z{CYR}][^0-9\n<]{{0,24}})?"  # the keyword ends where a letter would go on
    # ... or an id-like label right before the number: not a phone / INN ("заказ №3012345678", "order #...")
    rf"|(?:(?:^|[^A-Za-z{CYR}])(?i:заказ[а-яё]*|трек[а-яё\-]*|артикул[а-яё]*|накладн[а-яё]*)"
    rf"|{B}(?i:order|tracking|track|sku|id))[ \t]*(?:№|#|(?i:no?\.?)|номер)?[ \t]*"
    r"|№[ \t]*|#"
    r")"
)
NUMBER = rf"(?:\+[ \t]?\(?|\(|{B})[0-9](?:{SEP}{{0,3}}[0-9]){{8,47}}{B}"  # 48 digits at most per candidate
NUMBER_AFTER_KW = rf"(?:\+[ \t]?\(?|\()?[0-9](?:{SEP}{{0,3}}[0-9]){{5,47}}{B}"
PASSPORT_RU = (  # "серия 45 10 номер 123456": a word between the series and the number
    rf"(?:(?:^|[^A-Za-z{CYR}])(?i:паспорт[а-яё]*|серия|серии)|{B}(?i:passport))[^0-9\n<]{{0,25}}"
    rf"[0-9]{{2}} ?[0-9]{{2}}[ \t]*(?i:№|n|no\.?|номер|#)[ \t]*[0-9]{{6}}{B}"
)
IBAN_RE = rf"{B}[A-Z]{{2}}[0-9]{{2}}(?: ?[A-Z0-9]{{4}}){{2,7}}(?: ?[A-Z0-9]{{1,3}})?{B}"
BASE58_RE = rf"{B}[13LMDT][1-9A-HJ-NP-Za-km-z]{{25,34}}{B}"
CANDIDATE_RE = "|".join(
    [PASSPORT_RU, f"{NUM_KW}{NUMBER_AFTER_KW}", IBAN_RE, BASE58_RE, f"{B}{SEED_RUN}{B}", NUMBER]
)

# Rows that may need any work: a superset of what every pass above can change, as two regexes (one union of
# everything overflows the lazy DFA's cache and runs ~5x slower than these two scans together).
TRIGGERS = (
    "|".join([EMAIL_RE, CRYPTO_RE, BASE58_RE, IBAN_RE, SECRET_TOKEN_RE, NUMBER, PII_PATTERN, f"{B}{SEED_RUN}{B}"]),
    "|".join([
        SECRET_KW,
        rf"(?:(?:^|[^A-Za-z{CYR}])(?i:инн|снилс|паспорт|серия|серии|карт|тел|моб|ватсап|вотсап|вайбер)"
        rf"|{B}(?i:inn|snils|passport|card|phone|tel|mobile|whatsapp|viber))[^0-9\n]{{0,27}}[0-9]",
    ]),
)

MARK_OPEN, MARK_CLOSE = "\ufdd0", "\ufdd1"  # Unicode noncharacters: internal use only
MARKS_RE = "[\ufdd0\ufdd1]"


# --------------------------------------------------------------------------- validators


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def inn_ok(digits: str) -> bool:
    """Russian taxpayer number: 10 digits (organisations) or 12 (people), with check digits."""
    d = [ord(c) - 48 for c in digits]

    def check(weights):
        return sum(w * x for w, x in zip(weights, d)) % 11 % 10

    if len(d) == 10:
        return check((2, 4, 10, 3, 5, 9, 4, 6, 8)) == d[9]
    if len(d) == 12:
        return (check((7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == d[10]
                and check((3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == d[11])
    return False


def snils_ok(digits: str) -> bool:
    """Russian insurance number: 9 digits + 2 check digits (defined for numbers above 001-001-998)."""
    if len(digits) != 11 or int(digits[:9]) <= 1001998:
        return False
    total = sum(int(c) * (9 - i) for i, c in enumerate(digits[:9]))
    check = total if total < 100 else (0 if total in (100, 101) else total % 101 % 100)
    return check == int(digits[9:])


def iban_ok(compact: str) -> bool:
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58check_ok(s: str) -> bool:
    n = 0
    for c in s:
        n = n * 58 + B58.index(c)
    raw = n.to_bytes(25, "big") if n.bit_length() <= 200 else b""
    return len(raw) == 25 and hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


def crypto_base58_ok(s: str) -> bool:
    """A base58 address: a valid base58check, or (typed by hand, checksum unknown) digits and both cases."""
    if base58check_ok(s):
        return True
    return any(c.isdigit() for c in s) and any(c.isupper() for c in s[1:]) and any(c.islower() for c in s)


@lru_cache(maxsize=1 << 16)
def phone_ok(text: str, digits: str, keyword: bool = False) -> bool:
    """A phone number: +CC.. parsed as such, anything else read as Russian (8 912 ..., 9123456789)."""
    n = len(digits)
    if text.startswith("+7") and n == 11 and digits[1] == "9":
        return True  # +7 9xx: a Russian mobile
    if not text.startswith("+"):
        # Fast path for the common Russian mobiles: 8/7 + 9xx + 7 digits, or 9xx + 7 digits.
        if (n == 11 and digits[0] in "78" and digits[1] == "9") or (n == 10 and digits[0] == "9"):
            return True
        if n < 10 or n > 11:
            return False
    elif not 8 <= n <= 15:
        return False
    try:
        num = phonenumbers.parse(text if text.startswith("+") else digits, "RU")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(num) or (keyword and phonenumbers.is_possible_number(num))


def thousands_grouped(groups: list[str]) -> bool:
    """1 234 567 890: how amounts are written, not phones."""
    return len(groups) > 1 and 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


PII_PHONE_PY = re.compile(PII_PHONE_RE)
CARD_GROUPINGS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 4, 4, 4, 2), (4, 6, 5), (4, 6, 4), (6, 13)}


def classify_number(text: str, groups: list[str], seps: list[str], kw: str | None) -> str | None:
    """The type of one digit span (`groups` its digit groups, `seps` what stands between them), or None."""
    digits = "".join(groups)
    n = len(digits)
    shape = tuple(len(g) for g in groups)
    contiguous = len(groups) == 1
    plus = text.startswith("+")
    if kw == "PASSPORT" and not plus and 6 <= n <= 10:
        return "PASSPORT"
    if kw == "INN" and n in (10, 12):
        return "INN"
    if kw == "SNILS" and n == 11:
        return "SNILS"
    card_prefix = digits[0] in "3456" or "22" <= digits[:2] <= "27"
    if not plus and 13 <= n <= 19 and luhn_ok(digits):
        if kw == "CARD" or (card_prefix and (contiguous or shape in CARD_GROUPINGS)):
            return "CARD"
    if shape == (4, 4, 4, 4) and card_prefix and all(s in (" ", "-") for s in seps):
        return "CARD"  # the PII_PATTERN shape: always a card
    if shape == (3, 3, 3, 2) and snils_ok(digits):
        return "SNILS"
    if plus and PII_PHONE_PY.fullmatch(text):
        return "PHONE"  # +7 / +1 / +44 and 10 more digits: the PII_PATTERN shape, no need to ask phonenumbers
    if plus or kw == "PHONE" or n >= 10:
        if (plus or not thousands_grouped(groups)) and phone_ok(text, digits, kw == "PHONE"):
            return "PHONE"
    if contiguous and not plus:
        if n == 12 and inn_ok(digits):
            return "INN"
        if n == 10 and inn_ok(digits):
            return "INN"
        if n == 11 and snils_ok(digits):
            return "SNILS"
    return None


KW_PY = re.compile(
    r"(?:^|[^A-Za-zа-яёА-ЯЁ])(?P<kw>инн|снилс|паспорт[а-яё]*|серия|серии|карт[а-яё]*|тел[а-яё]*\.?|моб[а-яё.]*"
    r"|ватсап|вотсап|вайбер|inn|snils|passport|card|phone|tel|mobile|whatsapp|viber"
    r"|заказ[а-яё]*|трек[а-яё\-]*|артикул[а-яё]*|накладн[а-яё]*|order|tracking|track|sku|id)"
    r"|(?P<sign>[№#])[ \t]*",
    re.IGNORECASE,
)
KW_TYPE = (  # keyword prefix -> what a number after it is (ID: a label, leave the number; else PHONE)
    ("заказ", "ID"), ("трек", "ID"), ("артикул", "ID"), ("накладн", "ID"), ("order", "ID"), ("track", "ID"),
    ("sku", "ID"), ("id", "ID"), ("инн", "INN"), ("inn", "INN"), ("снилс", "SNILS"), ("snils", "SNILS"),
    ("паспорт", "PASSPORT"), ("passport", "PASSPORT"), ("сери", "PASSPORT"), ("карт", "CARD"), ("card", "CARD"),
)
GROUP_PY = re.compile(r"[0-9]+")


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
            while lo > start and (m[lo - 1] in "+(" or (m[lo - 1] in " \t" and lo - 1 > start and m[lo - 2] == "+")):
                lo -= 1
            if kw is None and m[lo] != "+" and (  # cheap rejections before building the span
                nd < 10 or (nd == 12 and ng > 1) or (nd > 12 and (m[groups[i][0]] not in "23456" or ng > 5))
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


def redact_seed(m: str) -> str:
    """Runs of 12+ consecutive BIP39 words become <SEED_PHRASE>."""
    words = list(WORD_PY.finditer(m))
    out, pos, i = [], 0, 0
    while i < len(words):
        j = i
        while j < len(words) and words[j].group(0).lower() in BIP39_WORDS and (
            j == i or words[j].group(0).islower()
        ):
            j += 1
        if j - i >= 12:
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


@lru_cache(maxsize=1 << 17)
def redact_candidate(m: str) -> str:
    """Pass B: the replacement for one candidate (itself when nothing in it validates)."""
    if IBAN_PY.fullmatch(m):
        parts = m.split(" ")
        for k in range(len(parts), 0, -1):  # "DE89 3704 0044 0532 0130 00 EUR": trim trailing groups
            compact = "".join(parts[:k])
            if iban_ok(compact):
                return PH["IBAN"] + (" " + " ".join(parts[k:]) if k < len(parts) else "")
        if not any(c.isdigit() for c in m[4:]):
            return m
    if BASE58_PY.fullmatch(m):
        return PH["CRYPTO_ADDRESS"] if crypto_base58_ok(m) else m
    if SEED_PY.fullmatch(m):
        return redact_seed(m)
    km = KW_PY.match(m)
    if km:
        if (pm := PASSPORT_RU_PY.search(m, km.end())) and _keyword_type(km.group("kw")) == "PASSPORT":
            return m[:pm.start()] + PH["PASSPORT"] + m[pm.end():]
        kw = _keyword_type(km.group("kw"))
        return m if kw == "ID" else redact_numbers(m, km.end(), kw)
    return redact_numbers(m, 0, None)


SECRET_PY = re.compile(SECRET_KW.replace(B, r"\b"))
SECRET_STOP = frozenset("""
is was the a an not incorrect wrong correct changed reset same expired required empty invalid weak strong new old
please here there from for with and this that your my our his her their again only still also just been being
forgot lost never always very too same protected manager managers field fields reset length policy
password passwords пароль пароля none null true false optional
такой такая такое тот же не неверный неправильный правильный забыл забыла поменял поменяла сменил сменила от для
и или это мой моя твой твоя ваш наш его её их новый старый простой сложный нужен нужно надо есть был была
прислал прислала скинул скинула скину пришлю напиши напишу отправил отправила верный сброшен сбросил
""".split())
SYMBOLS = set("!@#$%^&*+=?~|")
CODE_CHARS = frozenset("()[]{}\"'`")
SECRET_OF = frozenset("от для к на из of for to from on".split())


SECRET_SEP_PY = re.compile(  # a hyphen counts only next to a space ("gdebi-test8" is one word)
    r"(?:[ \t]*[:=\u2013\u2014][ \t]*|[ \t]+-[ \t]*|-[ \t]+|[ \t]+(?:is|was|будет)[ \t]+)(?:это[ \t]+)?"
    r"|[ \t]+это[ \t]+",
    re.IGNORECASE,
)
# After these keywords and ':' any uncommon word is the secret ("Password: correcthorse"); after the others
# ("token", "pass", "secret", ...) and after other separators it needs a digit or a symbol.
STRONG_KW = ("парол", "пин", "pin", "password", "passwd", "passcode", "passphrase", "pwd", "cvv", "cvc")
TOKEN_PY = re.compile(r"[^\s<]+")
VALUE_TRAIL = ".,;)\"'»"


def looks_like_secret(value: str, explicit: bool) -> bool:
    """After ':' any word of 4+ characters but the common ones; otherwise it must have a digit or a symbol
    (3 digits pass too: a CVV). Nothing that looks like code."""
    if len(value) == 3 and value.isdigit():
        return True
    if len(value) < 4 or value.lower() in SECRET_STOP or value.lower().startswith(("http", "www.")):
        return False
    if any(c in CODE_CHARS for c in value):  # token: typing.Union[bytes, ...]  /  password.encode("latin1")
        return False
    return explicit or any(c.isdigit() or c in SYMBOLS for c in value)


@lru_cache(maxsize=1 << 16)
def redact_secret(m: str) -> str:
    """Pass A: "<keyword> [up to 3 words] <separator> <value>" -> the value becomes <SECRET> (or a seed phrase)."""
    km = SECRET_PY.match(m)
    if not km:
        return m
    sm = SECRET_SEP_PY.search(m, km.end())
    if sm and len(m[km.end():sm.start()].split()) <= 3:
        tail = m[sm.end():]
        seeded = redact_seed(tail)
        if seeded.startswith(PH["SEED_PHRASE"]):
            return m[:sm.end()] + seeded
        tm = TOKEN_PY.match(tail)
        if tm:
            v = tm.group(0).rstrip(VALUE_TRAIL)
            strong = km.group(0).lower().lstrip(" \t,.;:!?(«\"'-").startswith(STRONG_KW)
            if looks_like_secret(v, strong and sm.group(0).strip()[:1] == ":"):
                return m[:sm.end()] + PH["SECRET"] + tail[len(v):]
        if sm.start() == km.end():  # "password=None": the separator right after the keyword, a poor value
            return m
    # No (usable) separator: the token right after the keyword ("pin 1234"), or after a short "of what"
    # ("пароль от почты abc123", "password for wifi Xy7#kq!2"), if it has a digit or a symbol.
    tokens = TOKEN_PY.findall(m, km.end())[:4]
    if tokens and tokens[0].lower() in SECRET_OF:
        tokens = tokens[1:]
        candidates = tokens[:3]
    else:
        candidates = tokens[:1]
    for tok in candidates:
        v = tok.rstrip(VALUE_TRAIL)
        if looks_like_secret(v, False):
            start = m.index(tok, km.end())
            return m[:start] + PH["SECRET"] + m[start + len(v):]
        if v != tok:  # punctuation ends the phrase
            break
    return m


# --------------------------------------------------------------------------- column passes


def _validated_pass(s: pl.Series, pattern: str, fn) -> pl.Series:
    """Replace the candidates of `pattern` for which `fn(candidate) != candidate`, exactly where they stand."""
    hit = s.str.contains(pattern).fill_null(False)
    if not hit.any():
        return s
    idx = hit.arg_true()
    part = s.gather(idx)
    cands = part.str.extract_all(pattern).explode().drop_nulls().unique()
    mapping = {}
    for c in cands.to_list():
        r = fn(c)
        if r != c:
            mapping[MARK_OPEN + c + MARK_CLOSE] = r
    if not mapping:
        return s
    new = (
        part.str.replace_all(pattern, MARK_OPEN + "${0}" + MARK_CLOSE)
        .str.replace_many(list(mapping), list(mapping.values()))
        .str.replace_all(MARKS_RE, "")
    )
    return s.scatter(idx, new)


def _apply_hints(s: pl.Series, hints: pl.Series) -> pl.Series:
    """Replace the literal spans the export marked as phone / email / bank card."""
    flat = (
        pl.DataFrame({"h": hints})
        .explode("h")
        .drop_nulls()
        .unnest("h")
        .with_columns(pl.col("type").replace_strict(HINT_TYPES, default=None), pl.col("text").str.strip_chars())
        .drop_nulls()
        .filter(pl.col("text").str.len_chars() >= 5)
        .unique("text")
        .sort(pl.col("text").str.len_chars(), "text", descending=[True, False])
    )
    if flat.height == 0:
        return s
    return s.str.replace_many(
        flat["text"].to_list(), [PH[t] for t in flat["type"].to_list()], leftmost=True
    )


def _scrub_subset(s: pl.Series, hints: pl.Series | None) -> pl.Series:
    if hints is not None:
        s = _apply_hints(s, hints)
    if s.str.contains(MARKS_RE).any():
        s = s.str.replace_all(MARKS_RE, "")
    for kind, pattern in SIMPLE_PASSES:
        s = s.str.replace_all(pattern, PH[kind])
    s = _validated_pass(s, SECRET_RE, redact_secret)
    s = _validated_pass(s, CANDIDATE_RE, redact_candidate)
    if s.str.contains(PII_PATTERN).any():  # the safety net (normally nothing is left)
        for kind, pattern in PII_PARTS.items():
            s = s.str.replace_all(pattern, PH[kind])
    return s


COUNT_RE = "<(" + "|".join(TYPES) + ")>"


def _count(s: pl.Series) -> dict[str, int]:
    vc = s.str.extract_all(COUNT_RE).explode().drop_nulls().value_counts()
    got = dict(zip(vc[vc.columns[0]].to_list(), vc["count"].to_list()))
    return {t: got.get(PH[t], 0) for t in TYPES}


def scrub_texts(texts: pl.Series, hints: pl.Series | None = None) -> tuple[pl.Series, dict[str, int]]:
    """Redacted texts (same length, order and name) and how many placeholders of each type were added."""
    s = texts.cast(pl.String)
    need = (s.str.contains(TRIGGERS[0]) | s.str.contains(TRIGGERS[1])).fill_null(False)
    if hints is not None:
        need = need | (hints.list.len().fill_null(0) > 0)
    idx = need.arg_true()
    counts = dict.fromkeys(TYPES, 0)
    if len(idx) == 0:
        return s, counts
    before = s.gather(idx)
    after = _scrub_subset(before, hints.gather(idx) if hints is not None else None)
    changed = (after != before).fill_null(False)
    if not changed.any():
        return s, counts
    old, new = _count(before.filter(changed)), _count(after.filter(changed))
    counts = {t: max(new[t] - old[t], 0) for t in TYPES}
    out = s.clone().scatter(idx.filter(changed), after.filter(changed))
    return out, counts


# --------------------------------------------------------------------------- the stage

REQUIRED = ("chat_id", "message_id", "text", "drop_reason")


def scrub_frame(messages: pl.DataFrame, params: dict) -> tuple[pl.DataFrame, dict]:
    """Kept messages (drop_reason null) with `text` redacted, without `pii_hints`; and the report."""
    missing = [c for c in REQUIRED if c not in messages.columns]
    if missing:
        raise ValueError(f"missing columns: {', '.join(missing)}")
    kept = messages.filter(pl.col("drop_reason").is_null())
    use_hints = params.get("use_export_entities", True) and "pii_hints" in kept.columns
    text, counts = scrub_texts(kept["text"], kept["pii_hints"] if use_hints else None)
    changed = int((text != kept["text"]).fill_null(False).sum())
    out = kept.with_columns(text.alias("text")).drop("pii_hints", strict=False)
    report = {
        "rows_in": messages.height,
        "rows_dropped_upstream": messages.height - kept.height,
        "rows_out": out.height,
        "messages_changed": changed,
        "replaced": counts,
    }
    return out, report


def run_stage(input_path: Path, output_path: Path, report_path: Path, params: dict) -> dict:
    if not input_path.exists():
        raise InputError(input_path, "no such file")
    try:
        messages = pl.read_parquet(input_path)
    except Exception as err:  # polars raises several kinds for a file that is not parquet
        raise InputError(input_path, f"not a readable parquet file ({type(err).__name__})") from None
    missing = [c for c in REQUIRED if c not in messages.columns]
    if missing:
        raise InputError(input_path, f"missing columns: {', '.join(missing)}")
    if messages.schema["text"] != pl.String:
        raise InputError(input_path, f"column text is {messages.schema['text']}, not a string")
    clean, report = scrub_frame(messages, params)
    clean = clean.sort("chat_id", "message_id")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    clean.write_parquet(output_path, compression="zstd", statistics=True)
    report_path.write_text(json.dumps(report, sort_keys=True, indent=2) + "\n")
    return report


# --------------------------------------------------------------------------- stdin -> stdout


def filter_stream(inp, out, chunk_size: int = 1 << 20) -> int:
    """Binary streams in and out: one redacted line out per line in (a final line without '\\n' stays so).

    Reads whatever is available (up to chunk_size bytes) and scrubs its complete lines as one batch, so a pipe
    is processed in large batches while an interactive line is answered at once.
    """
    read = getattr(inp, "read1", inp.read)
    pending: list[bytes] = []  # the start of a line whose end has not come yet
    lines = 0
    while chunk := read(chunk_size):
        cut = chunk.rfind(b"\n")
        if cut < 0:
            pending.append(chunk)
            continue
        batch = b"".join([*pending, chunk[:cut]])
        pending = [chunk[cut + 1:]]
        lines += _write_lines(batch, out, final_newline=True)
    if rest := b"".join(pending):
        lines += _write_lines(rest, out, final_newline=False)
    return lines


def _write_lines(batch: bytes, out, final_newline: bool) -> int:
    lines = batch.decode("utf-8", errors="replace").split("\n")
    redacted, _ = scrub_texts(pl.Series("text", lines, dtype=pl.String))
    text = "\n".join(redacted.to_list())
    out.write(text.encode("utf-8") + (b"\n" if final_newline else b""))
    out.flush()
    return len(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="doppel scrub",
        description="Redact private data. No arguments: stdin -> stdout, one redacted line per line. "
        "With --input/--output/--report: the pipeline stage (params from params.yaml, section scrub).",
    )
    ap.add_argument("--input", type=Path, help="message table (parquet) from ingest")
    ap.add_argument("--output", type=Path, help="redacted message table (parquet)")
    ap.add_argument("--report", type=Path, help="counts per type (JSON)")
    args = ap.parse_args(argv)
    stage_args = (args.input, args.output, args.report)
    if not any(stage_args):
        try:
            filter_stream(sys.stdin.buffer, sys.stdout.buffer)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    if not all(stage_args):
        ap.error("the stage needs all of --input, --output and --report")
    from doppel import params as params_mod

    start = time.perf_counter()
    report = run_stage(args.input, args.output, args.report, params_mod.load("scrub"))
    counts = ", ".join(f"{t} {n:,}" for t, n in report["replaced"].items() if n) or "nothing"
    print(
        f"scrub: {report['rows_in']:,} rows in, {report['rows_dropped_upstream']:,} dropped upstream, "
        f"{report['rows_out']:,} out, {report['messages_changed']:,} changed ({counts}) "
        f"in {time.perf_counter() - start:.2f}s -> {args.output}"
    )
    return 0


if __name__ == "__main__":
    from doppel.cli import module_main

    module_main("scrub")
