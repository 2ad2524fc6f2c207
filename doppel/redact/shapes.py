"""Checks for the shapes added by the red-team set (issue 12): bank account numbers (Russian 20-digit ones
and other countries' after a keyword), passports with no keyword, Solana / XRP addresses, passwords with no
keyword, local 7-digit phones. Each takes a candidate the regexes of `patterns` picked and says what it is."""
from __future__ import annotations

import re

from doppel.redact.validators import b58decode, checksum_ok

# Russian account: 5 digits of the balance account, 3 of the currency (ОКВ), 1 check digit, 11 more.
CURRENCIES = frozenset("810 643 840 978 156 826 756 398 933 980 392 949".split())
ACCOUNT_PY = re.compile(r"(?<![0-9])[0-9]{5}[ .\-]?[0-9]{3}[ .\-]?[0-9][ .\-]?[0-9]{4}[ .\-]?[0-9]{7}(?![0-9])")


def ru_account_ok(digits: str) -> bool:
    """20 digits shaped like a Russian bank account: a known currency code in digits 6-8, a balance account
    of the first order (1xx-9xx, 30x-47x for clients' accounts)."""
    return len(digits) == 20 and digits[5:8] in CURRENCIES and "301" <= digits[:3] <= "479"


def redact_ru_account(m: str, keyword: bool) -> str | None:
    """`m` with its Russian account number replaced, or None (after a keyword any 20 digits count)."""
    am = ACCOUNT_PY.search(m)
    if not am:
        return None
    digits = re.sub(r"[^0-9]", "", am.group(0))
    if keyword or ru_account_ok(digits):
        return m[:am.start()] + "<ACCOUNT>" + m[am.end():]
    return None


RIPPLE = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"


def xrp_ok(s: str) -> bool:
    if not (s.startswith("r") and 25 <= len(s) <= 35):
        return False
    return checksum_ok(b58decode(s, RIPPLE))


def solana_ok(s: str) -> bool:
    """A Solana address: base58 of exactly 32 bytes, with digits and both cases (a word or a hex hash is not)."""
    if not 32 <= len(s) <= 44 or not (any(c.isdigit() for c in s) and any(c.isupper() for c in s)
                                      and any(c.islower() for c in s)):
        return False
    raw = b58decode(s)
    return raw is not None and len(raw) == 32


SYMBOLS = frozenset("!#$%^&*?~@")


def bare_password(token: str) -> bool:
    """A password typed with no keyword: 8-40 characters with a lower and an upper letter, a digit and a symbol;
    not a mention, hashtag or link."""
    if not 8 <= len(token) <= 40 or token[0] in "@#" or "://" in token:
        return False
    return (any(c.islower() for c in token) and any(c.isupper() for c in token) and any(c.isdigit() for c in token)
            and any(c in SYMBOLS for c in token))


def redact_bare_password(m: str) -> str:
    """The candidate (one token with its leading delimiter) with the token replaced when it is a password."""
    lead = m[0] if m and (m[0].isspace() or m[0] in "\"'«(:") else ""
    token = m[len(lead):]
    core = token.rstrip(".,;:)\"'»-")
    if bare_password(core) or bare_password(token):
        keep = core if bare_password(core) else token
        return lead + "<SECRET>" + token[len(keep):]
    return m
