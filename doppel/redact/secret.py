"""Pass A of redaction: "<keyword> [up to 3 words] <separator> <value>" ("password: ...", "пароль от почты -
...", "pin 1234") -> the value becomes <SECRET>, or <SEED_PHRASE> for a run of BIP39 words."""
from __future__ import annotations

import re
from functools import lru_cache

from doppel.redact.candidate import redact_seed
from doppel.redact.patterns import B, PH, SECRET_KW

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
SEED_KW = ("seed", "mnemonic", "recovery", "secret phrase", "secret recovery", "backup", "сид", "мнемоник", "фраз", "слова сида")
VALUE_TRAIL = ".,;)\"'»"
KW_LEAD = " \t,.;:!?(«\"'-"  # what may stand before a keyword in a candidate


LINK_START = ("http", "www.", "//")  # a link ("https://..." also after the ':' of "https"), never a secret
TOKEN_INNER = frozenset("._-/+=:~")  # inside a token ("eyJhbGciOi...X.Y", "abc.def.ghi"), not at its ends
TOKEN_MIN = 8        # a token-shaped value (no digit, no symbol) counts from this length
FAR_TOKEN_MIN = 12   # ... and after words between it and the keyword ("токен бота eyJhbGciOi.X.Y")
FAR_WORDS = 2        # plain words that may stand between a keyword and such a value


def token_shaped(value: str, min_len: int = TOKEN_MIN) -> bool:
    """A value shaped like a key or token whatever its characters: long enough, with a digit, a symbol, inner
    punctuation or a case change inside ("eyJhbGciOi...X.Y"), not a link."""
    if len(value) < min_len or value.lower().startswith(LINK_START) or any(c in CODE_CHARS for c in value):
        return False
    inner = value[1:-1]
    return any(c.isdigit() or c in SYMBOLS or c in TOKEN_INNER for c in inner) \
        or any(a.islower() and b.isupper() for a, b in zip(value, value[1:]))


def looks_like_secret(value: str, explicit: bool) -> bool:
    """After ':' any word of 4+ characters but the common ones; otherwise it must have a digit or a symbol
    (3 digits pass too: a CVV), or be token-shaped. Nothing that looks like code."""
    if len(value) == 3 and value.isdigit():
        return True
    if len(value) < 4 or value.lower() in SECRET_STOP or value.lower().startswith(LINK_START):
        return False
    if any(c in CODE_CHARS for c in value):  # token: typing.Union[bytes, ...]  /  password.encode("latin1")
        return False
    return explicit or any(c.isdigit() or c in SYMBOLS for c in value) or token_shaped(value)


def _redact_secret(m: str) -> str:
    """Pass A: "<keyword> [up to 3 words] <separator> <value>" -> the value becomes <SECRET> (or a seed phrase)."""
    km = SECRET_PY.match(m)
    if not km:
        return m
    keyword = km.group(0).lower().lstrip(KW_LEAD)
    if keyword.startswith(SEED_KW):  # a seed keyword: 6+ BIP39 words
        return m[:km.end()] + redact_seed(m[km.end():], 6)
    sm = SECRET_SEP_PY.search(m, km.end())
    if sm and len(m[km.end():sm.start()].split()) <= 3:
        tail = m[sm.end():]
        seeded = redact_seed(tail)
        if seeded.startswith(PH["SEED_PHRASE"]):
            return m[:sm.end()] + seeded
        tm = TOKEN_PY.match(tail)
        if tm:
            v = tm.group(0).rstrip(VALUE_TRAIL)
            if looks_like_secret(v, keyword.startswith(STRONG_KW) and sm.group(0).strip()[:1] == ":"):
                return m[:sm.end()] + PH["SECRET"] + tail[len(v):]
        if sm.start() == km.end():  # "password=None": the separator right after the keyword, a poor value
            return m
    # No (usable) separator: the token right after the keyword ("pin 1234"), or after a short "of what"
    # ("пароль от почты abc123", "password for wifi Xy7#kq!2"), if it has a digit or a symbol.
    tokens = list(TOKEN_PY.finditer(m, km.end()))[:4]
    candidates = tokens[1:] if tokens and tokens[0].group(0).lower() in SECRET_OF else tokens[:1]
    for tok in candidates:
        v = tok.group(0).rstrip(VALUE_TRAIL)
        if looks_like_secret(v, False):
            return m[:tok.start()] + PH["SECRET"] + m[tok.start() + len(v):]
        if v != tok.group(0):  # punctuation ends the phrase
            return m
    return _far_token(m, tokens)


def _far_token(m: str, tokens: list) -> str:
    """A long token-shaped value after up to FAR_WORDS plain words: "токен бота eyJhbGciOi...X.Y"."""
    for k, tok in enumerate(tokens[:FAR_WORDS + 1]):
        v = tok.group(0).rstrip(VALUE_TRAIL)
        if k and token_shaped(v, FAR_TOKEN_MIN) and v.lower() not in SECRET_STOP:
            return m[:tok.start()] + PH["SECRET"] + m[tok.start() + len(v):]
        if not v.isalpha() or v != tok.group(0):  # only plain words stand between
            return m
    return m


# cached apart from its definition: a decorated function is not mutated by `make mutate`
redact_secret = lru_cache(maxsize=1 << 16)(_redact_secret)
