"""Validators of candidate values: checksums (Luhn, INN, SNILS, IBAN mod-97, base58check), phone numbers
(phonenumbers), and `classify_number`, which says what a run of digit groups is."""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import phonenumbers

from doppel.redact.patterns import PII_PHONE_RE


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
    return total % 101 % 100 == int(digits[9:])  # the sum below 100; 100 and 101 -> 00; above: mod 101


def iban_ok(compact: str) -> bool:
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(s: str, alphabet: str = B58) -> bytes | None:
    """The bytes of a base58 string (each leading zero digit is a zero byte), or None for a foreign character."""
    n = 0
    for c in s:
        i = alphabet.find(c)
        if i < 0:
            return None
        n = n * 58 + i
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(s) - len(s.lstrip(alphabet[0]))) + raw


def checksum_ok(raw: bytes | None, size: int = 25) -> bool:
    """`size` bytes whose last 4 are the start of the double SHA-256 of the rest (base58check)."""
    return raw is not None and len(raw) == size and \
        hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


def base58check_ok(s: str) -> bool:
    return checksum_ok(b58decode(s))


def crypto_base58_ok(s: str) -> bool:
    """A base58 address: a valid base58check, or (typed by hand, checksum unknown) digits and both cases."""
    if base58check_ok(s):
        return True
    return any(c.isdigit() for c in s) and any(c.isupper() for c in s[1:]) and any(c.islower() for c in s)


def _phone_ok(text: str, digits: str, keyword: bool = False) -> bool:
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


# cached apart from its definition: a decorated function is not mutated by `make mutate`
phone_ok = lru_cache(maxsize=1 << 16)(_phone_ok)


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
    dotted = any("." in s for s in seps)
    if dotted and not plus and not (13 <= n <= 20):  # 912.345.67.89: a phone only when it is a mobile; no dates
        return "PHONE" if n in (10, 11) and digits[-10] == "9" and phone_ok(text, digits) else None
    if kw == "PASSPORT" and not plus and 6 <= n <= 10:
        return "PASSPORT"
    if kw == "ACCOUNT" and not plus and 6 <= n <= 20 and (n == 20 or not thousands_grouped(groups)):
        return "ACCOUNT"
    if shape == (3, 2, 2) and all(s == "-" for s in seps):
        return "PHONE"  # 123-45-67: a local number
    if shape == (3, 3, 4) and seps[0].startswith(")") and digits[0] in "23456789":
        return "PHONE"  # (212) 555-0142: a North American number
    if kw is None and not plus and shape in ((4, 6), (2, 2, 6)) and all(s == " " for s in seps) \
            and passport_series_ok(digits):
        return "PASSPORT"  # 4510 123456 / 45 10 123456: how a Russian passport is written
    if kw == "INN" and n in (10, 12):
        return "INN"
    if kw == "SNILS" and n == 11:
        return "SNILS"
    card_prefix = digits[0] in "3456" or "22" <= digits[:2] <= "27"
    if not plus and 13 <= n <= 19 and luhn_ok(digits):
        if kw == "CARD" or (card_prefix and (contiguous or shape in CARD_GROUPINGS)):
            return "CARD"
    if shape == (4, 4, 4, 4) and card_prefix and all(s in (" ", "-", ".", "\u00a0") for s in seps):
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


def passport_series_ok(digits: str) -> bool:
    """A Russian passport: region 01-99, the year of the blank (97-99 or 00-30), a 6-digit number."""
    return len(digits) == 10 and digits[:2] != "00" and not 30 < int(digits[2:4]) < 97
